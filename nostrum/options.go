package nostrum

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gotp/gotp/nostrum/dispatch"
	"github.com/gotp/gotp/nostrum/gateway"
)

// ErrInvalidOptions is wrapped by every Options validation error.
var ErrInvalidOptions = errors.New("nostrum: invalid options")

// Secret holds a token. It prints as "[redacted]" with fmt and slog, so an Options value
// logged by mistake does not leak it.
type Secret string

// String redacts the secret.
func (Secret) String() string { return "[redacted]" }

// GoString redacts the secret.
func (Secret) GoString() string { return "[redacted]" }

// LogValue redacts the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// ShardMode says how the shard set is chosen.
type ShardMode int

const (
	// ShardsAuto uses the count Discord recommends in /gateway/bot.
	ShardsAuto ShardMode = iota
	// ShardsCount runs shards 0..Count-1 of Count.
	ShardsCount
	// ShardsRange runs shards From..To (inclusive) of Total, for splitting one bot across
	// processes.
	ShardsRange
)

// Shards chooses the shard set. The zero value is ShardsAuto.
type Shards struct {
	Mode     ShardMode
	Count    int // ShardsCount
	From, To int // ShardsRange, inclusive
	Total    int // ShardsRange
}

// Intents are gateway intent bits.
const (
	IntentGuilds         uint64 = 1 << 0
	IntentGuildMembers   uint64 = 1 << 1 // privileged
	IntentGuildPresences uint64 = 1 << 8 // privileged
	IntentGuildMessages  uint64 = 1 << 9
	IntentDirectMessages uint64 = 1 << 12
	IntentMessageContent uint64 = 1 << 15 // privileged
)

// Options configure a Bot. Zero values take the documented defaults; every rate window
// is configurable so tests can run scaled down.
type Options struct {
	Name      string        // names the bot's supervisor and its logs; default "nostrum"
	Token     Secret        // the bot token (one of Token, TokenFunc is required)
	TokenFunc func() string // reads the token when needed; wins over Token
	Intents   uint64
	Shards    Shards
	// Handler receives every event (required). Events of a shard run in order, one at
	// a time, unless Concurrency > 1.
	Handler     dispatch.Handler
	Concurrency int // handlers per shard at once; default 1 (strict order)
	QueueSize   int // events buffered per shard before the gateway reader waits; default 256

	BaseURL        string // default "https://discord.com"; REST under BaseURL + /api/v10
	GatewayURL     string // optional: skip the URL from /gateway/bot
	Compress       bool   // zlib-stream transport compression
	LargeThreshold int    // default 250
	Logger         *slog.Logger
	// OnGatewayEvent, if set, receives every shard's lifecycle events (Hello, Ready,
	// Resumed, SessionLost, Disconnected …); it must not block.
	OnGatewayEvent func(gateway.Event)

	IdentifyWindow    time.Duration // per max_concurrency bucket; default 5s
	IdentifyMargin    time.Duration // added to IdentifyWindow; default IdentifyWindow/10
	SendLimit         int           // gateway payloads per SendWindow; default 120
	SendWindow        time.Duration // default 60s
	InvalidSessionMin time.Duration // op 9 false wait, default 1s
	InvalidSessionMax time.Duration // default 5s
	BackoffMin        time.Duration // reconnect backoff, default 1s
	BackoffMax        time.Duration // default 30s
	RESTGlobalLimit   int           // default 50
	RESTGlobalWindow  time.Duration // default 1s
	RESTMaxRetries    int           // default 5
	RESTRetryDelay    time.Duration // wait before retrying a 5xx; default 1s
	DrainTimeout      time.Duration // Detach and Close wait this long for handlers; default 10s

	// Resume makes the listed shards RESUME these sessions instead of IDENTIFYing
	// (see Bot.ResumeFrom).
	Resume []ResumeInfo
}

// Validate reports the first invalid option, wrapping ErrInvalidOptions. It never
// mentions the token.
func (o Options) Validate() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, a...)...)
	}
	switch {
	case o.TokenFunc == nil && o.Token == "":
		return fail("no token (Token or TokenFunc)")
	case o.Handler == nil:
		return fail("Handler is nil")
	case o.Concurrency < 0 || o.QueueSize < 0:
		return fail("negative Concurrency or QueueSize")
	}
	switch o.Shards.Mode {
	case ShardsAuto:
	case ShardsCount:
		if o.Shards.Count < 1 {
			return fail("shard count %d", o.Shards.Count)
		}
	case ShardsRange:
		s := o.Shards
		if s.Total < 1 || s.From < 0 || s.To < s.From || s.To >= s.Total {
			return fail("shard range %d..%d of %d", s.From, s.To, s.Total)
		}
	default:
		return fail("unknown shard mode %d", o.Shards.Mode)
	}
	if o.BaseURL != "" {
		if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return fail("BaseURL %q is not an http(s) URL", o.BaseURL)
		}
	}
	return validateResume(o.Resume)
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "nostrum"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.IdentifyWindow == 0 {
		o.IdentifyWindow = 5 * time.Second
	}
	if o.IdentifyMargin == 0 {
		o.IdentifyMargin = o.IdentifyWindow / 10
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 10 * time.Second
	}
	return o
}

// tokenFunc returns the token reader, without a "Bot " prefix.
func (o Options) tokenFunc() func() string {
	read := o.TokenFunc
	if read == nil {
		tok := string(o.Token)
		read = func() string { return tok }
	}
	return func() string { return strings.TrimPrefix(read(), "Bot ") }
}
