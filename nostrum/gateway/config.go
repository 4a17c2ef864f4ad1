// Package gateway runs one Discord gateway session (one shard): dial, Hello, jittered
// heartbeats with zombie detection, IDENTIFY or RESUME, op 7 and op 9, the close-code
// policy, the send limit and the payload size limit. One goroutine owns the connection's
// reads and one writes; the session hands every dispatch, in order, to Config.Dispatch.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
	"github.com/gotp/gotp/nostrum/discord"
)

// Errors of the gateway package.
var (
	// ErrInvalidConfig is wrapped by every Config validation error.
	ErrInvalidConfig = errors.New("gateway: invalid config")
	// ErrPayloadTooLarge is returned for a payload over MaxPayload bytes (Discord closes 4002).
	ErrPayloadTooLarge = errors.New("gateway: payload over 4096 bytes")
	// ErrDetached is returned by Run after Detach: the socket was dropped, the session lives on.
	ErrDetached = errors.New("gateway: session detached")
	// ErrClosed is returned by Send once the session has stopped.
	ErrClosed = errors.New("gateway: session closed")
)

// MaxPayload is Discord's limit on one client payload, in bytes.
const MaxPayload = 4096

// Dispatch is one op 0 event of a shard. Data is the raw JSON text of "d".
type Dispatch struct {
	Shard int
	Seq   int64
	Type  string
	Data  string
}

// IdentifyGate paces IDENTIFYs across shards (max_concurrency buckets).
type IdentifyGate interface {
	// WaitIdentify returns when shard may IDENTIFY now, or with ctx's error. The session
	// calls release once, right after its IDENTIFY was written (or when it gave up), so
	// the gate can space IDENTIFYs by when they were sent.
	WaitIdentify(ctx context.Context, shard int) (release func(), err error)
}

// Properties are IDENTIFY's connection properties.
type Properties struct {
	OS      string `json:"os"`
	Browser string `json:"browser"`
	Device  string `json:"device"`
}

// Config configures a Session. Zero values take the documented defaults.
type Config struct {
	Token      func() string // required; read only when building IDENTIFY and RESUME
	Intents    uint64
	Shard      int
	ShardCount int    // default 1
	GatewayURL string // required base URL (ws:// or wss://); never replaced by the resume URL

	LargeThreshold int        // 50..250, default 250
	Properties     Properties // default {runtime OS, "gotp", "gotp"}
	Presence       any        // optional IDENTIFY presence
	Compress       bool       // zlib-stream transport compression

	SendLimit  int           // payloads per SendWindow, default 120
	SendWindow time.Duration // default 60s
	// SendReserved slots of SendLimit are kept for heartbeats, IDENTIFY and RESUME;
	// default 3, raised at Hello to cover every heartbeat of one window.
	SendReserved int
	// SendMargin widens the window to absorb network jitter; default min(window/10, 250ms).
	SendMargin time.Duration

	InvalidSessionMin time.Duration // op 9 false: wait U(min,max) before IDENTIFY; default 1s
	InvalidSessionMax time.Duration // default 5s
	BackoffMin        time.Duration // first reconnect delay after a failure; default 1s
	BackoffMax        time.Duration // default 30s
	HandshakeTimeout  time.Duration // dial + upgrade, and wait for Hello; default 5s
	ReadLimit         int64         // largest frame accepted; default 64 MiB

	Gate IdentifyGate // nil = IDENTIFY whenever needed
	// Dispatch is required; it is called in order from the reading goroutine and may block
	// (backpressure) until ctx, cancelled when the connection is torn down, is done.
	Dispatch func(ctx context.Context, d Dispatch) error
	OnEvent  func(Event)                           // optional lifecycle events; must not block
	Logger   *slog.Logger                          // default slog.Default()
	Dialer   *websocket.Dialer                     // default websocket.DefaultDialer
	Rand     func() float64                        // U[0,1) for jitter; default math/rand/v2
	Decode   func(string) (discord.Payload, error) // default discord.DecodePayload
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Token == nil:
		return fmt.Errorf("%w: Token is nil", ErrInvalidConfig)
	case c.Dispatch == nil:
		return fmt.Errorf("%w: Dispatch is nil", ErrInvalidConfig)
	case c.ShardCount < 0 || c.Shard < 0 || (c.ShardCount > 0 && c.Shard >= c.ShardCount):
		return fmt.Errorf("%w: shard %d of %d", ErrInvalidConfig, c.Shard, c.ShardCount)
	case c.LargeThreshold != 0 && (c.LargeThreshold < 50 || c.LargeThreshold > 250):
		return fmt.Errorf("%w: LargeThreshold %d not in 50..250", ErrInvalidConfig, c.LargeThreshold)
	case c.SendLimit < 0 || c.SendReserved < 0 || c.SendWindow < 0:
		return fmt.Errorf("%w: negative send limit", ErrInvalidConfig)
	case c.InvalidSessionMax < c.InvalidSessionMin:
		return fmt.Errorf("%w: InvalidSessionMax < InvalidSessionMin", ErrInvalidConfig)
	}
	u, err := url.Parse(c.GatewayURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return fmt.Errorf("%w: GatewayURL %q is not a ws:// or wss:// URL", ErrInvalidConfig, c.GatewayURL)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.ShardCount == 0 {
		c.ShardCount = 1
	}
	if c.LargeThreshold == 0 {
		c.LargeThreshold = 250
	}
	if c.Properties == (Properties{}) {
		c.Properties = Properties{OS: "linux", Browser: "gotp", Device: "gotp"}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.SendLimit == 0 {
		c.SendLimit = 120
	}
	def(&c.SendWindow, 60*time.Second)
	if c.SendReserved == 0 {
		c.SendReserved = 3
	}
	if c.SendMargin == 0 {
		c.SendMargin = min(c.SendWindow/10, 250*time.Millisecond)
	}
	if c.InvalidSessionMin == 0 && c.InvalidSessionMax == 0 {
		c.InvalidSessionMin, c.InvalidSessionMax = time.Second, 5*time.Second
	}
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.HandshakeTimeout, 5*time.Second)
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Dialer == nil {
		c.Dialer = websocket.DefaultDialer
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Decode == nil {
		c.Decode = discord.DecodePayload
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
	return c
}

// State is what a session needs to RESUME. It never holds the token.
type State struct {
	SessionID string
	ResumeURL string
	Seq       int64 // last sequence received (or, from a ResumeInfo, committed)
}
