package fakediscord

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Gateway intents the fake knows about (Discord API v10).
const (
	IntentGuilds          uint64 = 1 << 0
	IntentGuildMembers    uint64 = 1 << 1 // privileged
	IntentGuildPresences  uint64 = 1 << 8 // privileged
	IntentGuildMessages   uint64 = 1 << 9
	IntentDirectMessages  uint64 = 1 << 12
	IntentMessageContent  uint64 = 1 << 15 // privileged
	knownIntents          uint64 = (1<<17 - 1) | 1<<20 | 1<<21 | 1<<24 | 1<<25
	defaultRESTBucketName        = "f4k3c0ffee0d1sc0rdcre4temsg"
)

// Channel types used by the fake.
const (
	ChannelGuildText = 0
	ChannelDM        = 1
)

// Channel is a text channel of a guild or a DM channel.
type Channel struct {
	ID   string `json:"id"`   // snowflake; "" = minted at Start
	Name string `json:"name"` // display name
	Type int    `json:"type"` // ChannelGuildText (default) or ChannelDM
}

// Guild is a guild the bot is in. Its shard is (ID>>22) % num_shards.
type Guild struct {
	ID       string    `json:"id"`   // snowflake; "" = minted at Start
	Name     string    `json:"name"` // display name
	Channels []Channel `json:"channels"`
}

// Config configures a fake server. Zero values take the documented defaults,
// which are Discord's real values.
type Config struct {
	Addr       string // listen address of REST, control API and gateway; default "127.0.0.1:0"
	ResumeAddr string // listen address of the resume gateway listener; default "127.0.0.1:0"

	Token          string // the only valid bot token ("Bot " prefix optional); "" = any non-empty token
	AllowedIntents uint64 // intents a bot may request; 0 = every intent allowed

	Shards            int           // recommended shard count in /gateway/bot; default 1
	MaxConcurrency    int           // identify buckets; default 1
	SessionStartTotal int           // IDENTIFY budget per SessionStartReset; default 1000
	SessionStartReset time.Duration // budget period; default 24h
	MaxGuildsPerShard int           // more guilds on one shard → close 4011; default 2500

	HeartbeatInterval time.Duration // sent in Hello; default 41250ms
	// HeartbeatTimeout: no heartbeat for this long closes the connection with
	// 4000; default 1.5 × the interval sent in Hello. Tests with very short
	// intervals on a loaded machine may want more slack.
	HeartbeatTimeout time.Duration
	IdentifyWindow   time.Duration // one IDENTIFY per bucket per window; default 5s
	// InvalidSessionDelay delays the op 9 sent for an identify-bucket violation; default 0.
	InvalidSessionDelay time.Duration
	SendLimit           int           // client payloads per SendWindow per connection; default 120
	SendWindow          time.Duration // sliding window of the send limit; default 60s
	ReplayBuffer        int           // dispatches kept per session for RESUME; default 1000
	SessionTTL          time.Duration // session kept after a non-1000/1001 disconnect; default 60s
	// ReconnectGrace is how long after an op 7 the fake closes (4000) a
	// connection the client did not close itself; default 5s.
	ReconnectGrace time.Duration
	// RejectResumeWhileAttached makes a RESUME of a session another socket
	// holds get op 9 true instead of closing the old socket with 4000.
	RejectResumeWhileAttached bool

	RESTBucketLimit  int           // create-message requests per channel per window; default 5
	RESTBucketWindow time.Duration // default 5s
	GlobalLimit      int           // authenticated REST requests per second; default 50
	NonceWindow      time.Duration // enforce_nonce de-duplication window; default 5m
	// DispatchLog bounds the log Dispatched returns (the newest are kept);
	// default 1,000,000 entries.
	DispatchLog int

	Guilds      []Guild   // default: one guild with one text channel
	DMChannels  []Channel // DM channels (events go to shard 0); default none
	BotUsername string    // default "fakebot"

	Now    func() time.Time // clock for windows and TTLs; default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// ErrInvalidConfig is wrapped by every Config validation error.
var ErrInvalidConfig = errors.New("fakediscord: invalid config")

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	ints := []struct {
		name string
		v    int
	}{
		{"Shards", c.Shards}, {"MaxConcurrency", c.MaxConcurrency},
		{"SessionStartTotal", c.SessionStartTotal}, {"MaxGuildsPerShard", c.MaxGuildsPerShard},
		{"SendLimit", c.SendLimit}, {"ReplayBuffer", c.ReplayBuffer},
		{"RESTBucketLimit", c.RESTBucketLimit}, {"GlobalLimit", c.GlobalLimit},
		{"DispatchLog", c.DispatchLog},
	}
	for _, f := range ints {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, f.name, f.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{
		{"SessionStartReset", c.SessionStartReset}, {"HeartbeatInterval", c.HeartbeatInterval},
		{"HeartbeatTimeout", c.HeartbeatTimeout},
		{"IdentifyWindow", c.IdentifyWindow}, {"InvalidSessionDelay", c.InvalidSessionDelay},
		{"SendWindow", c.SendWindow}, {"SessionTTL", c.SessionTTL},
		{"ReconnectGrace", c.ReconnectGrace}, {"RESTBucketWindow", c.RESTBucketWindow},
		{"NonceWindow", c.NonceWindow},
	}
	for _, f := range durs {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative (%v)", ErrInvalidConfig, f.name, f.v)
		}
	}
	if c.AllowedIntents&^knownIntents != 0 {
		return fmt.Errorf("%w: AllowedIntents has unknown bits %#x", ErrInvalidConfig, c.AllowedIntents&^knownIntents)
	}
	seen := map[string]bool{}
	for _, g := range c.Guilds {
		if err := checkID("guild", g.ID, seen); err != nil {
			return err
		}
		for _, ch := range g.Channels {
			if err := checkID("channel", ch.ID, seen); err != nil {
				return err
			}
		}
	}
	for _, ch := range c.DMChannels {
		if err := checkID("DM channel", ch.ID, seen); err != nil {
			return err
		}
	}
	return nil
}

func checkID(kind, id string, seen map[string]bool) error {
	if id == "" {
		return nil
	}
	if _, err := parseSnowflake(id); err != nil {
		return fmt.Errorf("%w: %s id %q is not a snowflake", ErrInvalidConfig, kind, id)
	}
	if seen[id] {
		return fmt.Errorf("%w: %s id %q is used twice", ErrInvalidConfig, kind, id)
	}
	seen[id] = true
	return nil
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.ResumeAddr == "" {
		c.ResumeAddr = "127.0.0.1:0"
	}
	c.Token = strings.TrimPrefix(c.Token, "Bot ")
	def(&c.Shards, 1)
	def(&c.MaxConcurrency, 1)
	def(&c.SessionStartTotal, 1000)
	def(&c.MaxGuildsPerShard, 2500)
	def(&c.SendLimit, 120)
	def(&c.ReplayBuffer, 1000)
	def(&c.RESTBucketLimit, 5)
	def(&c.GlobalLimit, 50)
	def(&c.DispatchLog, 1_000_000)
	defD(&c.SessionStartReset, 24*time.Hour)
	defD(&c.HeartbeatInterval, 41250*time.Millisecond)
	defD(&c.IdentifyWindow, 5*time.Second)
	defD(&c.SendWindow, 60*time.Second)
	defD(&c.SessionTTL, 60*time.Second)
	defD(&c.ReconnectGrace, 5*time.Second)
	defD(&c.RESTBucketWindow, 5*time.Second)
	defD(&c.NonceWindow, 5*time.Minute)
	if len(c.Guilds) == 0 {
		c.Guilds = []Guild{{Name: "fake-guild", Channels: []Channel{{Name: "general"}}}}
	}
	if c.BotUsername == "" {
		c.BotUsername = "fakebot"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// MakeGuilds returns guilds with explicit snowflake ids such that each of the
// numShards shards owns perShard guilds, each with one text channel. Use it
// with Config.Guilds to test routing across shards.
func MakeGuilds(numShards, perShard int) []Guild {
	var gs []Guild
	var g snowflaker
	base := time.Now()
	for shard := 0; shard < numShards; shard++ {
		for i := 0; i < perShard; i++ {
			var id uint64
			for {
				id = g.next(base)
				if ShardOf(id, numShards) == shard {
					break
				}
				base = base.Add(time.Millisecond)
			}
			gs = append(gs, Guild{
				ID:       formatID(id),
				Name:     fmt.Sprintf("guild-%d-%d", shard, i),
				Channels: []Channel{{ID: formatID(g.next(base)), Name: "general"}},
			})
		}
	}
	return gs
}
