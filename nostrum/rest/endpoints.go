package rest

import (
	"context"
	"net/url"

	"github.com/gotp/gotp/nostrum/discord"
)

// MessageCreate is the body of Create Message.
type MessageCreate struct {
	Content string `json:"content,omitempty"`
	// Nonce (≤ 25 chars) with EnforceNonce makes the call idempotent: Discord answers a
	// repeat within a few minutes with the first message instead of a new one.
	Nonce        string            `json:"nonce,omitempty"`
	EnforceNonce bool              `json:"enforce_nonce,omitempty"`
	TTS          bool              `json:"tts,omitempty"`
	Reference    *MessageReference `json:"message_reference,omitempty"`
}

// MessageReference makes a message a reply.
type MessageReference struct {
	MessageID discord.Snowflake `json:"message_id"`
	ChannelID discord.Snowflake `json:"channel_id,omitempty"`
}

// ReplyNonce returns a nonce (≤ 25 chars) derived from the triggering message id, so a
// reply sent twice for the same trigger (e.g. after a failover replays the event) is
// created once when sent with EnforceNonce.
func ReplyNonce(trigger discord.Snowflake) string { return "r" + trigger.String() }

// CreateMessage posts a message to a channel.
func (c *Client) CreateMessage(ctx context.Context, channel discord.Snowflake, m MessageCreate) (discord.Message, error) {
	var out discord.Message
	id := channel.String()
	err := c.do(ctx, request{Method: "POST", Route: "/channels/{channel.id}/messages", Major: id,
		Path: "/channels/" + url.PathEscape(id) + "/messages", Body: m}, &out)
	return out, err
}

// GatewayBot is the answer of Get Gateway Bot.
type GatewayBot struct {
	URL               string            `json:"url"`
	Shards            int               `json:"shards"`
	SessionStartLimit SessionStartLimit `json:"session_start_limit"`
}

// SessionStartLimit is the IDENTIFY budget.
type SessionStartLimit struct {
	Total          int `json:"total"`
	Remaining      int `json:"remaining"`
	ResetAfter     int `json:"reset_after"` // milliseconds
	MaxConcurrency int `json:"max_concurrency"`
}

// GetGatewayBot returns the gateway URL, the recommended shard count and the IDENTIFY budget.
func (c *Client) GetGatewayBot(ctx context.Context) (GatewayBot, error) {
	var out GatewayBot
	err := c.do(ctx, request{Method: "GET", Route: "/gateway/bot", Path: "/gateway/bot"}, &out)
	return out, err
}

// GetCurrentUser returns the bot's own user.
func (c *Client) GetCurrentUser(ctx context.Context) (discord.User, error) {
	var out discord.User
	err := c.do(ctx, request{Method: "GET", Route: "/users/@me", Path: "/users/@me"}, &out)
	return out, err
}
