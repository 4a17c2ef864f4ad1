// Package nostrum is a Discord bot library that lives inside the bot's own supervision
// tree, after Elixir's nostrum 0.11: build a Bot with New and add bot.ChildSpec() to your
// supervisor. The Bot runs the gateway shards (IDENTIFY paced by max_concurrency, or
// RESUME from a ResumeInfo), hands their events to your Handler in order per shard, and
// offers a rate-limited REST client and a cache. It knows nothing of nodes: moving a bot
// between processes is Detach here, ResumeFrom there (the adapter is nostrum/ha).
//
// Sub-packages: discord (types, fast decoder), gateway (one shard's session), dispatch
// (ordered handler queue, subscribers), rest (REST client), cache (state + snapshots),
// fakediscord (a fake Discord for tests).
package nostrum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gotp/gotp/nostrum/cache"
	"github.com/gotp/gotp/nostrum/discord"
	"github.com/gotp/gotp/nostrum/dispatch"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// Event is what the handler receives; see dispatch.Event.
type Event = dispatch.Event

// Handler handles events; see dispatch.Handler.
type Handler = dispatch.Handler

// ErrStopped is returned by ResumeFrom once shards have started, and by Detach and Close
// when there is nothing left to stop.
var ErrStopped = errors.New("nostrum: bot already started or stopped")

// Bot is one Discord bot. Several may run in one process; there are no globals.
type Bot struct {
	opts  Options
	log   *slog.Logger
	token func() string
	rest  *rest.Client
	cache *cache.Cache
	hub   dispatch.Hub

	mu       sync.Mutex
	started  bool
	resume   map[int]ResumeInfo // sessions to RESUME, consumed when their shard starts
	final    map[int]ResumeInfo // state of shards that stopped (restarts resume from it)
	runs     map[int]*shardRun
	detached bool
	closing  bool
	gate     *identifyGate

	onIdentify func(shard int, at time.Time) // tests
}

// New checks opts and builds a bot; nothing runs until its ChildSpec is started.
func New(opts Options) (*Bot, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	b := &Bot{
		opts:   opts,
		log:    opts.Logger.With("bot", opts.Name),
		token:  opts.tokenFunc(),
		cache:  cache.New(),
		resume: map[int]ResumeInfo{},
		final:  map[int]ResumeInfo{},
		runs:   map[int]*shardRun{},
	}
	for _, ri := range opts.Resume {
		b.resume[ri.ShardID] = ri
	}
	rc, err := rest.New(rest.Config{
		Token: b.token, BaseURL: opts.BaseURL, GlobalLimit: opts.RESTGlobalLimit,
		GlobalWindow: opts.RESTGlobalWindow, MaxRetries: opts.RESTMaxRetries,
		ServerErrorDelay: opts.RESTRetryDelay, Logger: b.log,
	})
	if err != nil {
		return nil, fmt.Errorf("nostrum: %w", err)
	}
	b.rest = rc
	return b, nil
}

// REST returns the bot's REST client.
func (b *Bot) REST() *rest.Client { return b.rest }

// Cache returns the bot's cache.
func (b *Bot) Cache() *cache.Cache { return b.cache }

// Snapshot encodes the cache (msgpack), for the process that will resume the shards.
func (b *Bot) Snapshot() ([]byte, error) { return b.cache.Snapshot() }

// Restore replaces the cache with a snapshot; call it before the shards resume.
func (b *Bot) Restore(snapshot []byte) error { return b.cache.Restore(snapshot) }

// Subscribe returns every event filter accepts (nil: all) on a channel of the given
// buffer, next to the Handler (nostrum's ConsumerGroup). A full channel misses events
// rather than slowing the gateway. cancel unsubscribes and closes the channel.
func (b *Bot) Subscribe(filter func(Event) bool, buffer int) (events <-chan Event, cancel func()) {
	return b.hub.Subscribe(filter, buffer)
}

// ResumeFrom makes the listed shards RESUME these sessions (from another process's
// Detach) instead of IDENTIFYing. Call it before the bot's ChildSpec starts.
func (b *Bot) ResumeFrom(infos []ResumeInfo) error {
	if err := validateResume(infos); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return ErrStopped
	}
	for _, ri := range infos {
		b.resume[ri.ShardID] = ri
	}
	return nil
}

// ChildSpec returns the bot's subtree for the user's supervisor: a one_for_one
// supervisor named Options.Name whose child "shards" is a supervisor of one transient
// child per shard. A shard stopped by a fatal close code is not restarted; a shard that
// crashed is restarted and resumes its session.
func (b *Bot) ChildSpec() supervisor.ChildSpec {
	spec := supervisor.Spec{
		Name: b.opts.Name, Strategy: supervisor.OneForOne, MaxRestarts: 3, Period: time.Minute,
		Logger: b.log,
		Children: []supervisor.ChildSpec{{
			ID: "shards", Type: supervisor.SupervisorChild, Start: b.startShards,
		}},
	}
	return spec.ChildSpec()
}

// Detach stops every shard without ending its session: the socket is dropped without a
// close frame, queued events are handled (up to DrainTimeout), and the sessions are
// returned with their committed sequence, for ResumeFrom in another process.
func (b *Bot) Detach(ctx context.Context) ([]ResumeInfo, error) {
	runs := b.stopAll(func() { b.detached = true })
	for _, r := range runs {
		r.sess.Detach()
	}
	if err := waitRuns(ctx, runs); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	infos := make([]ResumeInfo, 0, len(runs))
	for _, r := range runs {
		infos = append(infos, b.final[r.id])
	}
	slices.SortFunc(infos, func(x, y ResumeInfo) int { return x.ShardID - y.ShardID })
	return infos, nil
}

// Close ends every shard's session (close 1000) after its queued events are handled.
func (b *Bot) Close(ctx context.Context) error {
	runs := b.stopAll(func() { b.closing = true })
	for _, r := range runs {
		r.cancel()
	}
	return waitRuns(ctx, runs)
}

func (b *Bot) stopAll(mark func()) []*shardRun {
	b.mu.Lock()
	defer b.mu.Unlock()
	mark()
	runs := make([]*shardRun, 0, len(b.runs))
	for _, r := range b.runs {
		runs = append(runs, r)
	}
	return runs
}

func waitRuns(ctx context.Context, runs []*shardRun) error {
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("nostrum: waiting for shard %d to stop: %w", r.id, ctx.Err())
		}
	}
	return nil
}

// plan is the shard set to run.
type plan struct {
	url        string
	count      int
	ids        []int
	maxConc    int
	remaining  int
	resetAfter time.Duration
}

func (b *Bot) plan(ctx context.Context) (plan, error) {
	p := plan{url: b.opts.GatewayURL, maxConc: 1, remaining: -1}
	gb, err := b.rest.GetGatewayBot(ctx)
	switch {
	case err == nil:
		if p.url == "" {
			p.url = gb.URL
		}
		p.maxConc = max(gb.SessionStartLimit.MaxConcurrency, 1)
		p.remaining = gb.SessionStartLimit.Remaining
		p.resetAfter = time.Duration(gb.SessionStartLimit.ResetAfter) * time.Millisecond
	case p.url == "" || b.opts.Shards.Mode == ShardsAuto:
		return plan{}, fmt.Errorf("nostrum: get gateway bot: %w", err)
	default:
		b.log.Warn("nostrum: /gateway/bot failed; using the configured gateway URL", "err", err)
	}
	s := b.opts.Shards
	switch s.Mode {
	case ShardsAuto:
		p.count = max(gb.Shards, 1)
	case ShardsCount:
		p.count = s.Count
	case ShardsRange:
		p.count = s.Total
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ri := range b.resume {
		p.count = ri.ShardCount // sessions being resumed fix the shard count
	}
	lo, hi := 0, p.count-1
	if s.Mode == ShardsRange && s.Total == p.count {
		lo, hi = s.From, s.To
	}
	for id := lo; id <= hi; id++ {
		p.ids = append(p.ids, id)
	}
	for id := range b.resume {
		if !slices.Contains(p.ids, id) {
			p.ids = append(p.ids, id)
		}
	}
	slices.Sort(p.ids)
	return p, nil
}

// startShards builds the "shards" supervisor.
func (b *Bot) startShards(ctx context.Context) (supervisor.Service, error) {
	p, err := b.plan(ctx)
	if err != nil {
		return nil, err
	}
	gate := newIdentifyGate(b.opts.IdentifyWindow+b.opts.IdentifyMargin, p.maxConc, p.remaining, p.resetAfter)
	gate.onGrant = b.onIdentify
	b.mu.Lock()
	b.started = true
	b.gate = gate
	skip := b.detached || b.closing
	b.mu.Unlock()
	var children []supervisor.ChildSpec
	if !skip {
		for _, id := range p.ids {
			children = append(children, supervisor.ChildSpec{
				ID:       fmt.Sprintf("shard-%d", id),
				Restart:  supervisor.Transient,
				Shutdown: b.opts.DrainTimeout + 5*time.Second,
				Start: func(context.Context) (supervisor.Service, error) {
					return &shard{b: b, gate: gate, id: id, count: p.count, url: p.url}, nil
				},
			})
		}
	}
	b.log.Info("nostrum: starting shards", "shards", p.ids, "shard_count", p.count, "max_concurrency", p.maxConc)
	return supervisor.New(supervisor.Spec{
		Name: b.opts.Name + "/shards", Strategy: supervisor.OneForOne, MaxRestarts: 5,
		Period: time.Minute, Children: children, Logger: b.log,
	})
}

// UpdatePresence sends a presence update (op 3) on every running shard, each through its
// shard's send limit; presence is the op's "d" ({since, activities, status, afk}).
func (b *Bot) UpdatePresence(ctx context.Context, presence any) error {
	b.mu.Lock()
	runs := make([]*shardRun, 0, len(b.runs))
	for _, r := range b.runs {
		runs = append(runs, r)
	}
	b.mu.Unlock()
	var errs []error
	for _, r := range runs {
		if err := r.sess.Send(ctx, discord.OpPresenceUpdate, presence); err != nil {
			errs = append(errs, fmt.Errorf("nostrum: presence on shard %d: %w", r.id, err))
		}
	}
	return errors.Join(errs...)
}
