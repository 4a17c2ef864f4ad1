package discord

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const sampleMessage = `{"op":0,"s":42,"t":"MESSAGE_CREATE","d":{"type":0,"tts":false,"timestamp":"2026-11-29T13:00:00.123000+00:00","pinned":false,"nonce":"r123","mentions":[],"mention_roles":[],"mention_everyone":false,"member":{"roles":[],"joined_at":"2025-01-01T00:00:00+00:00"},"id":"1311111111111111111","flags":0,"embeds":[],"edited_timestamp":null,"content":"hello \"world\" \u00e9\ud83d\ude00","components":[],"channel_id":"1300000000000000001","author":{"username":"alice","public_flags":0,"id":"1200000000000000002","global_name":null,"discriminator":"0","bot":true,"avatar":null},"attachments":[],"guild_id":"1100000000000000003"}}`

func TestDecodePayloadAndMessage(t *testing.T) {
	p, err := DecodePayload(sampleMessage)
	if err != nil {
		t.Fatal(err)
	}
	if p.Op != 0 || p.Seq != 42 || p.Type != "MESSAGE_CREATE" {
		t.Fatalf("envelope = %+v", p)
	}
	var m Message
	if err := DecodeMessage(p.D, &m); err != nil {
		t.Fatal(err)
	}
	want := Message{
		ID: 1311111111111111111, ChannelID: 1300000000000000001, GuildID: 1100000000000000003,
		Author:    User{ID: 1200000000000000002, Username: "alice", Bot: true},
		Content:   "hello \"world\" é😀",
		Timestamp: time.Date(2026, 11, 29, 13, 0, 0, 123000000, time.UTC),
		Nonce:     "r123",
	}
	if !m.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("timestamp = %v", m.Timestamp)
	}
	m.Timestamp = want.Timestamp
	if m != want {
		t.Fatalf("message =\n%+v\nwant\n%+v", m, want)
	}
}

func TestDecodePayloadNulls(t *testing.T) {
	p, err := DecodePayload(` {"t":null,"s":null,"op":11,"d":null} `)
	if err != nil {
		t.Fatal(err)
	}
	if p.Op != 11 || p.Seq != 0 || p.Type != "" || p.D != "null" {
		t.Fatalf("got %+v", p)
	}
	p, err = DecodePayload(`{"op":10,"d":{"heartbeat_interval":41250,"_trace":["x"]}}`)
	if err != nil || p.D != `{"heartbeat_interval":41250,"_trace":["x"]}` {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	bad := []string{
		``, `{`, `{"op":1`, `{"op":"x"}`, `{"d":1}`, `{"op":1}x`, `[1]`,
		`{"op":1,"d":"\x"}`, `{"op":1,"d":"abc}`, `{"op":1,"d":[1,}`, `{"op":1.5}`,
		`{"op":1,"d":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
		"{\"op\":1,\"d\":\"a\nb\"}", `{"op":1,"d":tru}`, `{"op":1,"d":-}`, `{"op":1,"d":1e}`,
	}
	for _, in := range bad {
		if _, err := DecodePayload(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("DecodePayload(%.40q) err = %v, want ErrSyntax", in, err)
		}
	}
	var m Message
	for _, in := range []string{`{"id":"x"}`, `{"timestamp":"yesterday"}`, `{"author":5}`, `{"id":"1"} {`} {
		if err := DecodeMessage(in, &m); !errors.Is(err, ErrSyntax) {
			t.Errorf("DecodeMessage(%q) err = %v, want ErrSyntax", in, err)
		}
	}
}

func TestMessageNumberNonceAndJSONRoundTrip(t *testing.T) {
	var m Message
	if err := json.Unmarshal([]byte(`{"id":5,"nonce":12345,"channel_id":"7","author":null}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != 5 || m.Nonce != "12345" || m.ChannelID != 7 {
		t.Fatalf("got %+v", m)
	}
	b, _ := json.Marshal(Snowflake(99))
	if string(b) != `"99"` {
		t.Fatalf("snowflake json = %s", b)
	}
	if got := Snowflake(uint64(1000) << 22).Time().UnixMilli(); got != DiscordEpoch+1000 {
		t.Fatalf("snowflake time = %d", got)
	}
}

// mirror is what encoding/json makes of the same message, for the differential fuzz check.
type mirror struct {
	Op int `json:"op"`
	S  *int64
	D  struct {
		ID      json.Number `json:"id"`
		Content *string     `json:"content"`
	} `json:"d"`
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(sampleMessage)
	f.Add(`{"op":10,"d":{"heartbeat_interval":41250}}`)
	f.Add(`{"op":0,"s":1,"t":"READY","d":{"session_id":"abc","resume_gateway_url":"ws://x"}}`)
	f.Add(`{"op":9,"d":false}`)
	f.Add(`{"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"id":1,"content":"\ud800","nonce":5}}`)
	f.Fuzz(func(t *testing.T, frame string) {
		p, err := DecodePayload(frame)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error does not wrap ErrSyntax: %v", err)
			}
			return
		}
		if !json.Valid([]byte(frame)) {
			t.Fatalf("accepted invalid JSON %q", frame)
		}
		var m Message
		if err := DecodeMessage(p.D, &m); err != nil {
			return
		}
		var mr mirror
		if err := json.Unmarshal([]byte(frame), &mr); err != nil {
			return // e.g. d is not an object for encoding/json's typed view
		}
		// Compare where encoding/json's looser rules (case-insensitive keys, invalid
		// UTF-8 replacement) cannot differ.
		if mr.D.Content != nil && utf8.ValidString(frame) &&
			strings.Count(strings.ToLower(frame), "content") == 1 && strings.Contains(frame, `"content"`) &&
			*mr.D.Content != m.Content {
			t.Fatalf("content mismatch: %q vs %q", m.Content, *mr.D.Content)
		}
	})
}
