// Package ha puts a nostrum bot under gotp's application controller, so the bot moves
// between nodes without losing a Discord event.
//
// The controller decides where the bot's application runs; this adapter maps its start
// types and stop reasons onto the bot's shards:
//
//   - Normal start: every shard IDENTIFYs.
//   - Takeover (a planned move A → B): B's start asks A for its session state
//     (app.HandoffFrom). A's Handoff detaches each shard (no 1000/1001 close), lets its
//     handler finish the queued events (bounded by nostrum's DrainTimeout and the request's
//     deadline) and returns every shard's session with its committed sequence plus a cache
//     snapshot. B restores the cache and RESUMEs on the resume URL: Discord replays exactly
//     the events after the committed sequence. If B's start then fails, A's HandoffAborted
//     resumes A's own shards and A keeps running (also, after HandoffTimeout, when B went
//     down before its start ended and could not say so).
//   - Failover (A died): while it runs, an instance replicates its sessions (shard, session
//     id, resume URL, committed sequence) through app.Checkpoint every CheckpointInterval or
//     CheckpointEvents events. B's start RESUMEs from app.LastCheckpoint. Events A handled
//     after its last checkpoint come again (reply with a nonce and EnforceNonce, see
//     rest.ReplyNonce, so Discord creates each reply once). A session that cannot be resumed
//     is replaced by a fresh IDENTIFY and a SessionLost event.
//   - Stop: Shutdown and Stopped end the sessions (close 1000; see KeepSessionOnShutdown);
//     Moved, Crashed and a kill (the context ends with no stop reason) detach them, so
//     another node can resume them.
//
// nostrum itself knows nothing of nodes; everything above lives here.
//
// Known limits: a takeover whose new start fails after the new instance already resumed
// (e.g. in a start phase) hands the old instance the sessions at its own committed sequence,
// so the events the new one handled meanwhile are handled again (none is lost). A previous
// instance that gives no handoff (its App does not delegate Handoff) leaves the new one to
// IDENTIFY while the old still runs until it is stopped. In a network partition both sides
// may run the bot (as OTP does) and take the session from each other until the partition
// heals and the controller stops one of them.
//
// Use: build one *Bot per node with New, and either load Bot.App() as the application, or
// call Bot.Start from your App's Start (it returns the bot's child spec for your
// supervisor) and delegate Handoff and HandoffAborted to the Bot. Stop reasons are read from
// the context; nothing needs to be delegated for them.
package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/cache"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// ErrInvalidConfig is wrapped by every Config validation error.
var ErrInvalidConfig = errors.New("ha: invalid config")

// ErrNotRunning is returned by Handoff when no instance runs on this node.
var ErrNotRunning = errors.New("ha: no bot instance runs here")

// Config configures a Bot.
type Config struct {
	// Bot configures the nostrum bot of every instance. Handler is required; Resume must be
	// empty (the adapter sets it per start).
	Bot nostrum.Options
	// CheckpointInterval is the longest time between two checkpoints while events are
	// handled; default 250ms.
	CheckpointInterval time.Duration
	// CheckpointEvents checkpoints after this many handled events, sooner than the
	// interval; default 100.
	CheckpointEvents int
	// KeepSessionOnShutdown detaches the sessions on a node Shutdown instead of ending them,
	// so that the node that fails over when this one leaves the mesh resumes them from the
	// last checkpoint (OTP's default shutdown fails distributed applications over). Stopped
	// always ends them. Default false: Shutdown ends them with close 1000.
	KeepSessionOnShutdown bool
	// HandoffTimeout: an instance that handed its sessions off and is neither stopped nor
	// told HandoffAborted this long after resumes them itself (the node taking over went
	// down before its start ended). Default 30s.
	HandoffTimeout time.Duration
	// StopTimeout bounds closing or detaching the shards when the instance stops; default
	// Bot.DrainTimeout (10s when unset) + 5s.
	StopTimeout time.Duration
	// OnEvent, if set, receives the adapter's events; it must not block.
	OnEvent func(Event)
	// Logger defaults to Bot.Logger, then slog.Default().
	Logger *slog.Logger
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.CheckpointInterval < 0:
		return fmt.Errorf("%w: negative CheckpointInterval %v", ErrInvalidConfig, c.CheckpointInterval)
	case c.CheckpointEvents < 0:
		return fmt.Errorf("%w: negative CheckpointEvents %d", ErrInvalidConfig, c.CheckpointEvents)
	case c.HandoffTimeout < 0:
		return fmt.Errorf("%w: negative HandoffTimeout %v", ErrInvalidConfig, c.HandoffTimeout)
	case c.StopTimeout < 0:
		return fmt.Errorf("%w: negative StopTimeout %v", ErrInvalidConfig, c.StopTimeout)
	case len(c.Bot.Resume) > 0:
		return fmt.Errorf("%w: Bot.Resume is set by the adapter", ErrInvalidConfig)
	}
	if err := c.Bot.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 250 * time.Millisecond
	}
	if c.CheckpointEvents == 0 {
		c.CheckpointEvents = 100
	}
	if c.HandoffTimeout == 0 {
		c.HandoffTimeout = 30 * time.Second
	}
	if c.StopTimeout == 0 {
		drain := c.Bot.DrainTimeout
		if drain == 0 {
			drain = 10 * time.Second
		}
		c.StopTimeout = drain + 5*time.Second
	}
	if c.Logger == nil {
		c.Logger = c.Bot.Logger
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Bot.Name == "" {
		c.Bot.Name = "nostrum"
	}
	return c
}

// Bot is the adapter of one bot application on one node. Each start of the application
// makes a new instance (a fresh nostrum.Bot); the Bot's methods act on the current one.
type Bot struct {
	cfg Config
	log *slog.Logger

	mu  sync.Mutex
	cur *instance
}

// New checks cfg and returns the node's adapter; nothing runs until Start.
func New(cfg Config) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Bot{cfg: cfg, log: cfg.Logger.With("bot", cfg.Bot.Name)}, nil
}

// Start prepares an instance for the start type st and returns its child spec, to place in
// the application's supervisor after anything the handler depends on. Call it from
// App.Start with Start's context: a takeover reads the previous instance's handoff there
// (a failed or malformed handoff fails the start, and the previous instance keeps running),
// a failover reads the last checkpoint.
func (b *Bot) Start(ctx context.Context, st app.StartType) (supervisor.ChildSpec, error) {
	in := newInstance(b, st)
	var lost *SessionLost
	switch st.Kind {
	case app.KindTakeover:
		data, err := app.HandoffFrom(ctx)
		if err != nil {
			return supervisor.ChildSpec{}, fmt.Errorf("ha: takeover from %s: %w", st.From, err)
		}
		if data == nil {
			b.log.Warn("ha: the previous instance gave no handoff; identifying afresh", "from", string(st.From))
		} else {
			h, err := DecodeHandoff(data)
			if err != nil {
				return supervisor.ChildSpec{}, fmt.Errorf("ha: takeover from %s: %w", st.From, err)
			}
			in.resume, in.snapshot = h.Shards, h.Cache
		}
	case app.KindFailover:
		data, _, ok := app.LastCheckpoint(ctx)
		var err error
		var cp Checkpoint
		if ok {
			cp, err = DecodeCheckpoint(data)
		}
		switch {
		case !ok:
			lost = &SessionLost{Shard: -1, Reason: "no checkpoint from " + string(st.From)}
		case err != nil:
			lost = &SessionLost{Shard: -1, Reason: "checkpoint from " + string(st.From) + ": " + err.Error()}
		default:
			in.resume = cp.Shards
		}
	}
	in.tr.seed(in.resume)
	b.mu.Lock()
	b.cur = in
	b.mu.Unlock()
	b.emit(Started{Type: st, Resuming: in.resume})
	if lost != nil {
		b.emit(*lost)
	}
	return supervisor.ChildSpec{
		ID:       b.cfg.Bot.Name + "/ha",
		Type:     supervisor.SupervisorChild,
		Shutdown: b.cfg.StopTimeout + 5*time.Second,
		Start:    func(context.Context) (supervisor.Service, error) { return in, nil },
	}, nil
}

// Handoff detaches the current instance's shards for the instance taking over on node to
// and returns their sessions and the cache snapshot (HandoffGiver). Asked twice, it returns
// the same state.
func (b *Bot) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	in := b.current()
	if in == nil {
		return nil, ErrNotRunning
	}
	return in.handoff(ctx, to)
}

// HandoffAborted resumes the sessions the current instance handed off, since the takeover
// failed (HandoffAborter). Without a handoff it does nothing.
func (b *Bot) HandoffAborted(ctx context.Context) {
	if in := b.current(); in != nil {
		in.handoffAborted(ctx)
	}
}

// Nostrum returns the current instance's nostrum bot, or nil when none runs. It changes
// when the instance restarts or resumes after an aborted handoff.
func (b *Bot) Nostrum() *nostrum.Bot {
	if in := b.current(); in != nil {
		return in.bot()
	}
	return nil
}

// REST returns the current nostrum bot's REST client, or nil when none runs.
func (b *Bot) REST() *rest.Client {
	if nb := b.Nostrum(); nb != nil {
		return nb.REST()
	}
	return nil
}

// Cache returns the current nostrum bot's cache, or nil when none runs.
func (b *Bot) Cache() *cache.Cache {
	if nb := b.Nostrum(); nb != nil {
		return nb.Cache()
	}
	return nil
}

func (b *Bot) current() *instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

func (b *Bot) emit(e Event) {
	level := slog.LevelInfo
	if _, ok := e.(Checkpointed); ok {
		level = slog.LevelDebug
	}
	b.log.Log(context.Background(), level, "ha: "+e.String())
	if b.cfg.OnEvent != nil {
		b.cfg.OnEvent(e)
	}
}

// App returns an application whose tree is children followed by the bot: load it with
// app.Spec{App: b.App()}. It delegates Handoff and HandoffAborted to b.
func (b *Bot) App(children ...supervisor.ChildSpec) app.App {
	return &botApp{b: b, children: children}
}

type botApp struct {
	b        *Bot
	children []supervisor.ChildSpec
}

// Start builds the tree: the given children, then the bot.
func (a *botApp) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	cs, err := a.b.Start(ctx, st)
	if err != nil {
		return nil, err
	}
	return supervisor.New(supervisor.Spec{
		Name: a.b.cfg.Bot.Name + "/app", Strategy: supervisor.OneForOne, Logger: a.b.log,
		Children: append(append([]supervisor.ChildSpec(nil), a.children...), cs),
	})
}

// Handoff delegates to Bot.Handoff.
func (a *botApp) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	return a.b.Handoff(ctx, to)
}

// HandoffAborted delegates to Bot.HandoffAborted.
func (a *botApp) HandoffAborted(ctx context.Context) { a.b.HandoffAborted(ctx) }
