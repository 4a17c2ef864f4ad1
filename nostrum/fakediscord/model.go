package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors of the Go control API.
var (
	// ErrUnknownChannel: the channel id names no guild or DM channel.
	ErrUnknownChannel = errors.New("fakediscord: unknown channel")
	// ErrNoConnection: no live connection is attached to a session of the shard.
	ErrNoConnection = errors.New("fakediscord: no live connection on shard")
	// ErrClosed: the server has been closed.
	ErrClosed = errors.New("fakediscord: server closed")
)

const discordEpochMS = 1420070400000

// snowflaker mints increasing snowflakes: ms since the Discord epoch << 22 |
// worker 1 << 17 | process 1 << 12 | increment.
type snowflaker struct {
	lastMS int64
	inc    int64
}

func (g *snowflaker) next(now time.Time) uint64 {
	ms := now.UnixMilli() - discordEpochMS
	if ms > g.lastMS {
		g.lastMS, g.inc = ms, 0
	}
	if g.inc >= 4096 {
		g.lastMS++
		g.inc = 0
	}
	id := uint64(g.lastMS)<<22 | 1<<17 | 1<<12 | uint64(g.inc)
	g.inc++
	return id
}

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }

func parseSnowflake(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("snowflake %q: %w", s, err)
	}
	return id, nil
}

// ShardOf is Discord's routing rule: (guild_id >> 22) % numShards.
func ShardOf(guildID uint64, numShards int) int {
	if numShards <= 0 {
		return 0
	}
	return int((guildID >> 22) % uint64(numShards))
}

// User is a Discord user object (the fields the fake fills).
type User struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Discriminator string  `json:"discriminator"`
	GlobalName    *string `json:"global_name"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
}

// Message is a Discord message object as the fake sends it.
type Message struct {
	ID              string            `json:"id"`
	ChannelID       string            `json:"channel_id"`
	GuildID         string            `json:"guild_id,omitempty"`
	Author          User              `json:"author"`
	Content         string            `json:"content"`
	Timestamp       string            `json:"timestamp"`
	EditedTimestamp *string           `json:"edited_timestamp"`
	TTS             bool              `json:"tts"`
	MentionEveryone bool              `json:"mention_everyone"`
	Mentions        []User            `json:"mentions"`
	MentionRoles    []string          `json:"mention_roles"`
	Attachments     []json.RawMessage `json:"attachments"`
	Embeds          []json.RawMessage `json:"embeds"`
	Pinned          bool              `json:"pinned"`
	Type            int               `json:"type"`
	Flags           int               `json:"flags"`
	Nonce           json.RawMessage   `json:"nonce,omitempty"`
}

// member is the partial guild member attached to guild MESSAGE_CREATE events.
type member struct {
	Roles    []string `json:"roles"`
	JoinedAt string   `json:"joined_at"`
	Deaf     bool     `json:"deaf"`
	Mute     bool     `json:"mute"`
	Flags    int      `json:"flags"`
}

// messageCreate is the MESSAGE_CREATE payload: a message plus member.
type messageCreate struct {
	Message
	Member *member `json:"member,omitempty"`
}

// Dispatch records one dispatch sent (or buffered) on one session.
type Dispatch struct {
	Session   string `json:"session"`    // session id
	Shard     int    `json:"shard"`      // shard id of the session
	Seq       int64  `json:"seq"`        // sequence number on that session
	Type      string `json:"type"`       // event name, e.g. "MESSAGE_CREATE"
	MessageID string `json:"message_id"` // message id for MESSAGE_CREATE, else ""
}

// SessionStats describes one session.
type SessionStats struct {
	ID        string `json:"id"`
	Shard     int    `json:"shard"`
	NumShards int    `json:"num_shards"`
	Seq       int64  `json:"seq"`       // latest sequence number
	Oldest    int64  `json:"oldest"`    // oldest sequence number still in the replay buffer (0 if empty)
	Attached  bool   `json:"attached"`  // a live connection holds the session
	Resumable bool   `json:"resumable"` // a RESUME would succeed now (given a seq in range)
}

// Stats counts what happened since Start. Maps are copies.
type Stats struct {
	Connections        int              `json:"connections"`           // gateway connections accepted
	LiveConnections    int              `json:"live_connections"`      // gateway connections open now
	Identifies         int              `json:"identifies"`            // successful IDENTIFYs (READY sent)
	IdentifyRejected   int              `json:"identify_rejected"`     // IDENTIFYs answered op 9 false for the identify bucket
	Resumes            int              `json:"resumes"`               // successful RESUMEs
	ResumesByURL       map[string]int   `json:"resumes_by_url"`        // successful RESUMEs per listener URL (GatewayURL / ResumeURL)
	ResumesFailed      int              `json:"resumes_failed"`        // RESUMEs answered with op 9 false
	Heartbeats         int              `json:"heartbeats"`            // op 1 received
	HeartbeatACKs      int              `json:"heartbeat_acks"`        // op 11 sent
	SessionStartLeft   int              `json:"session_start_left"`    // session_start_limit.remaining
	MessagesCreated    int              `json:"messages_created"`      // messages created through REST
	MessagesInjected   int              `json:"messages_injected"`     // messages made by InjectMessage / StartStream
	NonceHits          int              `json:"nonce_hits"`            // enforce_nonce duplicates answered with the existing message
	RateLimited429     int              `json:"rate_limited_429"`      // REST 429 responses (every scope)
	RateLimitedByScope map[string]int   `json:"rate_limited_by_scope"` // 429s per scope: user, global, shared
	ServerErrors       int              `json:"server_errors"`         // forced 5xx responses
	CloseCodesSent     map[int]int      `json:"close_codes_sent"`      // close frames sent by the fake, per code
	CloseCodesReceived map[int]int      `json:"close_codes_received"`  // close frames received from clients, per code
	LastSeq            map[string]int64 `json:"last_seq"`
	Sessions           []SessionStats   `json:"sessions"`
}
