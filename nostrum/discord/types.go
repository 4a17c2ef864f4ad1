// Package discord holds Discord's data types (snowflakes, users, messages, gateway payloads)
// and a fast decoder for the gateway's hot path.
//
// Decoded strings share memory with the decoded input where they contain no escapes, so a
// decoded value keeps its input alive; inputs are strings, hence immutable.
package discord

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Snowflake is a Discord id. It encodes to and decodes from a JSON string, as Discord sends it.
type Snowflake uint64

// DiscordEpoch is the first millisecond of 2015, the origin of snowflake timestamps.
const DiscordEpoch = 1420070400000

// ParseSnowflake parses the decimal text of an id.
func ParseSnowflake(s string) (Snowflake, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("discord: snowflake %q: %w", s, ErrSyntax)
	}
	return Snowflake(n), nil
}

// String returns the decimal text of the id.
func (s Snowflake) String() string { return strconv.FormatUint(uint64(s), 10) }

// Time returns the creation time embedded in the id.
func (s Snowflake) Time() time.Time {
	return time.UnixMilli(int64(s>>22) + DiscordEpoch).UTC()
}

// MarshalJSON encodes the id as a JSON string.
func (s Snowflake) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, s.String()), nil
}

// UnmarshalJSON accepts a JSON string or number; null leaves zero.
func (s *Snowflake) UnmarshalJSON(b []byte) error {
	sc := scanner{s: string(b)}
	v, err := sc.snowflake()
	if err != nil {
		return err
	}
	if err := sc.end(); err != nil {
		return err
	}
	*s = v
	return nil
}

// User is a Discord user (the fields a bot commonly needs).
type User struct {
	ID         Snowflake `json:"id" msgpack:"id"`
	Username   string    `json:"username" msgpack:"username"`
	GlobalName string    `json:"global_name,omitempty" msgpack:"global_name"`
	Bot        bool      `json:"bot,omitempty" msgpack:"bot"`
}

// Message is a Discord message, as in MESSAGE_CREATE and the Create Message response.
type Message struct {
	ID              Snowflake `json:"id"`
	ChannelID       Snowflake `json:"channel_id"`
	GuildID         Snowflake `json:"guild_id,omitempty"` // 0 for direct messages
	Author          User      `json:"author"`
	Content         string    `json:"content"`
	Timestamp       time.Time `json:"timestamp"`
	EditedTimestamp time.Time `json:"edited_timestamp"` // zero when never edited
	Nonce           string    `json:"nonce,omitempty"`  // raw text when Discord sent a number
	Type            int       `json:"type"`
	TTS             bool      `json:"tts"`
	MentionEveryone bool      `json:"mention_everyone"`
	Pinned          bool      `json:"pinned"`
}

// Gateway opcodes.
const (
	OpDispatch       = 0
	OpHeartbeat      = 1
	OpIdentify       = 2
	OpPresenceUpdate = 3
	OpResume         = 6
	OpReconnect      = 7
	OpInvalidSession = 9
	OpHello          = 10
	OpHeartbeatACK   = 11
)

// Payload is a gateway frame: {"op","d","s","t"}. D is the raw JSON text of "d".
type Payload struct {
	Op   int
	Seq  int64  // 0 when "s" is null or absent
	Type string // "" when "t" is null or absent
	D    string
}

// DecodePayload decodes a gateway frame's envelope; "d" is kept raw for a typed decoder.
func DecodePayload(frame string) (Payload, error) {
	var p Payload
	sc := scanner{s: frame}
	seenOp := false
	err := sc.object(func(key string) error {
		var err error
		switch key {
		case "op":
			var n int64
			n, err = sc.int64()
			p.Op, seenOp = int(n), true
		case "s":
			p.Seq, err = sc.int64()
		case "t":
			if !sc.null() {
				p.Type, err = sc.str()
			}
		case "d":
			p.D, err = sc.skip()
		default:
			_, err = sc.skip()
		}
		return err
	})
	if err == nil {
		err = sc.end()
	}
	if err == nil && !seenOp {
		err = fmt.Errorf("%w: payload without op", ErrSyntax)
	}
	if err != nil {
		return Payload{}, fmt.Errorf("discord: gateway payload: %w", err)
	}
	return p, nil
}

// DecodeMessage decodes a message object (MESSAGE_CREATE's "d", or a REST response).
func DecodeMessage(data string, m *Message) error {
	sc := scanner{s: data}
	if err := sc.message(m); err != nil {
		return fmt.Errorf("discord: message: %w", err)
	}
	if err := sc.end(); err != nil {
		return fmt.Errorf("discord: message: %w", err)
	}
	return nil
}

// UnmarshalJSON lets encoding/json users decode a Message with the fast decoder.
func (m *Message) UnmarshalJSON(b []byte) error { return DecodeMessage(string(b), m) }

// DecodeJSON decodes a non-hot-path "d" with encoding/json.
func DecodeJSON(data string, v any) error {
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return fmt.Errorf("discord: %T: %w", v, err)
	}
	return nil
}

func (sc *scanner) message(m *Message) error {
	return sc.object(func(key string) error {
		var err error
		switch key {
		case "id":
			m.ID, err = sc.snowflake()
		case "channel_id":
			m.ChannelID, err = sc.snowflake()
		case "guild_id":
			m.GuildID, err = sc.snowflake()
		case "author":
			if !sc.null() {
				err = sc.user(&m.Author)
			}
		case "content":
			m.Content, err = sc.optStr()
		case "timestamp":
			m.Timestamp, err = sc.timestamp()
		case "edited_timestamp":
			m.EditedTimestamp, err = sc.timestamp()
		case "nonce":
			m.Nonce, err = sc.nonce()
		case "type":
			var n int64
			n, err = sc.int64()
			m.Type = int(n)
		case "tts":
			m.TTS, err = sc.boolean()
		case "mention_everyone":
			m.MentionEveryone, err = sc.boolean()
		case "pinned":
			m.Pinned, err = sc.boolean()
		default:
			_, err = sc.skip()
		}
		return err
	})
}

func (sc *scanner) user(u *User) error {
	return sc.object(func(key string) error {
		var err error
		switch key {
		case "id":
			u.ID, err = sc.snowflake()
		case "username":
			u.Username, err = sc.optStr()
		case "global_name":
			u.GlobalName, err = sc.optStr()
		case "bot":
			u.Bot, err = sc.boolean()
		default:
			_, err = sc.skip()
		}
		return err
	})
}

// optStr reads a string or null.
func (sc *scanner) optStr() (string, error) {
	if sc.null() {
		return "", nil
	}
	return sc.str()
}

// snowflake reads an id sent as a string, a number, or null.
func (sc *scanner) snowflake() (Snowflake, error) {
	if sc.null() {
		return 0, nil
	}
	var raw string
	var err error
	if sc.peek() == '"' {
		raw, err = sc.str()
	} else {
		raw, err = sc.number()
	}
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseUint(raw, 10, 64)
	if perr != nil {
		return 0, sc.errorf("bad snowflake")
	}
	return Snowflake(n), nil
}

func (sc *scanner) nonce() (string, error) {
	switch sc.peek() {
	case '"':
		return sc.str()
	case 'n':
		if sc.null() {
			return "", nil
		}
	}
	return sc.number()
}

// timestamp reads an ISO 8601 time or null.
func (sc *scanner) timestamp() (time.Time, error) {
	if sc.null() {
		return time.Time{}, nil
	}
	raw, err := sc.str()
	if err != nil {
		return time.Time{}, err
	}
	t, perr := time.Parse(time.RFC3339Nano, raw)
	if perr != nil {
		return time.Time{}, sc.errorf("bad timestamp")
	}
	return t, nil
}
