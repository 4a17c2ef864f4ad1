package nostrum

import (
	"bytes"
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gotp/gotp/nostrum/discord"
	"github.com/gotp/gotp/nostrum/dispatch"
)

// sink keeps the handler's work observable so nothing is optimised away.
var sink atomic.Int64

func loadStream(tb testing.TB) [][]byte {
	tb.Helper()
	frames, err := LoadStream(StreamFile)
	if err != nil {
		tb.Fatal(err)
	}
	return frames
}

// gotpPipeline is nostrum's path: the frame is read into a string once (as the gateway
// reader does), the envelope and the message are decoded, and the event goes through
// the shard's ordered dispatch queue to the handler goroutine.
func gotpPipeline(tb testing.TB) (push func(frame []byte), drain func()) {
	q, err := dispatch.New(dispatch.Config{Handler: func(_ context.Context, ev dispatch.Event) error {
		sink.Add(int64(len(ev.Message.Content)) + int64(ev.Message.ID&1))
		return nil
	}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	push = func(frame []byte) {
		p, err := discord.DecodePayload(string(frame))
		if err != nil || p.Type != "MESSAGE_CREATE" {
			tb.Fatal("bad frame", err)
		}
		m := new(discord.Message)
		if err := discord.DecodeMessage(p.D, m); err != nil {
			tb.Fatal(err)
		}
		if err := q.Push(ctx, dispatch.Event{Seq: p.Seq, Type: p.Type, Raw: p.D, Message: m}); err != nil {
			tb.Fatal(err)
		}
	}
	return push, func() {
		if err := q.Drain(ctx); err != nil {
			tb.Fatal(err)
		}
		q.Close()
	}
}

// discordgoPipeline is discordgo's path (Session.onEvent, wsapi.go): a json.Decoder over
// the frame into *discordgo.Event, then json.Unmarshal of RawData into a
// *discordgo.MessageCreate, then the handler — here on one goroutine fed by a channel of
// the same size as nostrum's queue (discordgo's default starts a goroutine per event).
func discordgoPipeline(tb testing.TB) (push func(frame []byte), drain func()) {
	ch := make(chan *discordgo.MessageCreate, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for mc := range ch {
			sink.Add(int64(len(mc.Content)) + int64(len(mc.ID)&1))
		}
	}()
	push = func(frame []byte) {
		var e *discordgo.Event
		if err := json.NewDecoder(bytes.NewBuffer(frame)).Decode(&e); err != nil || e.Type != "MESSAGE_CREATE" {
			tb.Fatal("bad frame", err)
		}
		mc := &discordgo.MessageCreate{}
		if err := json.Unmarshal(e.RawData, mc); err != nil {
			tb.Fatal(err)
		}
		ch <- mc
	}
	return push, func() {
		close(ch)
		<-done
	}
}

func benchPipeline(b *testing.B, build func(testing.TB) (func([]byte), func())) {
	frames := loadStream(b)
	var bytesTotal int
	for _, f := range frames {
		bytesTotal += len(f)
	}
	push, drain := build(b)
	b.SetBytes(int64(bytesTotal / len(frames)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		push(frames[i%len(frames)])
	}
	drain()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkMessageCreate decodes and dispatches MESSAGE_CREATE events from the recorded
// stream; compare the gotp and discordgo sub-benchmarks of one run.
func BenchmarkMessageCreate(b *testing.B) {
	b.Run("gotp", func(b *testing.B) { benchPipeline(b, gotpPipeline) })
	b.Run("discordgo", func(b *testing.B) { benchPipeline(b, discordgoPipeline) })
}

// TestSameFields checks that, for every recorded frame, both libraries decode the same
// values for the fields nostrum's Message has.
func TestSameFields(t *testing.T) {
	for i, frame := range loadStream(t) {
		p, err := discord.DecodePayload(string(frame))
		if err != nil {
			t.Fatal(err)
		}
		var m discord.Message
		if err := discord.DecodeMessage(p.D, &m); err != nil {
			t.Fatal(err)
		}
		var e discordgo.Event
		if err := json.Unmarshal(frame, &e); err != nil {
			t.Fatal(err)
		}
		var mc discordgo.MessageCreate
		if err := json.Unmarshal(e.RawData, &mc); err != nil {
			t.Fatal(err)
		}
		d := mc.Message
		edited := time.Time{}
		if d.EditedTimestamp != nil {
			edited = *d.EditedTimestamp
		}
		ok := p.Seq == e.Sequence && p.Type == e.Type &&
			m.ID.String() == d.ID && m.ChannelID.String() == d.ChannelID && m.GuildID.String() == d.GuildID &&
			m.Author.ID.String() == d.Author.ID && m.Author.Username == d.Author.Username &&
			m.Author.GlobalName == d.Author.GlobalName && m.Author.Bot == d.Author.Bot &&
			m.Content == d.Content && m.Timestamp.Equal(d.Timestamp) && m.EditedTimestamp.Equal(edited) &&
			m.TTS == d.TTS && m.MentionEveryone == d.MentionEveryone && m.Pinned == d.Pinned && m.Type == int(d.Type)
		if !ok {
			t.Fatalf("frame %d decodes differently:\ngotp      %+v\ndiscordgo %+v", i, m, d)
		}
	}
}

// BenchmarkDecode isolates the decoding half of BenchmarkMessageCreate (no handler
// goroutine): frame → typed message.
func BenchmarkDecode(b *testing.B) {
	frames := loadStream(b)
	b.Run("gotp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := discord.DecodePayload(string(frames[i%len(frames)]))
			if err != nil {
				b.Fatal(err)
			}
			m := new(discord.Message)
			if err := discord.DecodeMessage(p.D, m); err != nil {
				b.Fatal(err)
			}
			sink.Add(int64(len(m.Content)))
		}
	})
	b.Run("discordgo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var e *discordgo.Event
			if err := json.NewDecoder(bytes.NewBuffer(frames[i%len(frames)])).Decode(&e); err != nil {
				b.Fatal(err)
			}
			mc := &discordgo.MessageCreate{}
			if err := json.Unmarshal(e.RawData, mc); err != nil {
				b.Fatal(err)
			}
			sink.Add(int64(len(mc.Content)))
		}
	})
}
