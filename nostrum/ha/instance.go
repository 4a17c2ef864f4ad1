package ha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/supervisor"
)

// instance is one start of the bot application on this node. It runs the nostrum bot's
// subtree in a context of its own (a cancelled nostrum tree ends its sessions with close
// 1000; the instance decides between that and a detach from the stop reason). After an
// aborted handoff it runs a second nostrum bot resuming the sessions the first detached: a
// generation.
type instance struct {
	b        *Bot
	st       app.StartType
	resume   []nostrum.ResumeInfo // sessions the first generation resumes
	snapshot []byte               // cache it restores
	tr       *tracker
	dead     atomic.Bool                 // killed: the handler drops events, no checkpoint is written
	nb       atomic.Pointer[nostrum.Bot] // the newest generation's bot, set before it connects
	kick     chan struct{}

	hmu      sync.Mutex // serialises handoff and handoffAborted
	mu       sync.Mutex
	gen      *generation
	stopping bool
	handed   []byte // the handoff given, while it stands
	given    *Handoff
	crash    error // set when a generation could not be started after an aborted handoff
	serveCtx context.Context
}

// generation is one nostrum bot and the supervisor running its subtree.
type generation struct {
	bot    *nostrum.Bot
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func newInstance(b *Bot, st app.StartType) *instance {
	return &instance{b: b, st: st, tr: newTracker(), kick: make(chan struct{}, 1)}
}

func (in *instance) bot() *nostrum.Bot { return in.nb.Load() }

// runCtx returns Serve's context (it carries the application instance), or a background one.
func (in *instance) runCtx() context.Context {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.serveCtx == nil {
		return context.Background()
	}
	return in.serveCtx
}

// Start starts the first generation (or, after the supervisor restarted the instance, one
// resuming the sessions the tracker knows).
func (in *instance) Start(ctx context.Context) error {
	in.mu.Lock()
	prev := in.gen
	in.mu.Unlock()
	infos, snap := in.resume, in.snapshot
	if prev != nil {
		infos = in.tr.infos()
		snap, _ = prev.bot.Snapshot() // nil on error: the resumed shards start with no cache
	}
	g, err := in.startGen(ctx, infos, snap)
	if err != nil {
		return err
	}
	in.mu.Lock()
	in.gen, in.crash = g, nil
	in.mu.Unlock()
	return nil
}

// startGen builds a nostrum bot resuming infos, restores snap, and starts its subtree.
func (in *instance) startGen(ctx context.Context, infos []nostrum.ResumeInfo, snap []byte) (*generation, error) {
	opts := in.b.cfg.Bot
	opts.Resume = infos
	user, userGW := opts.Handler, opts.OnGatewayEvent
	opts.Handler = func(ctx context.Context, ev nostrum.Event) error { return in.handle(ctx, ev, user) }
	opts.OnGatewayEvent = func(e gateway.Event) {
		if sl, ok := e.(gateway.SessionLost); ok {
			in.tr.forget(sl.Shard)
			in.b.emit(SessionLost{Shard: sl.Shard, LastSeq: sl.LastSeq, Reason: sl.Reason})
		}
		if userGW != nil {
			userGW(e)
		}
	}
	nb, err := nostrum.New(opts)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	if snap != nil {
		if err := nb.Restore(snap); err != nil {
			return nil, fmt.Errorf("ha: restoring the cache: %w", err)
		}
	}
	in.nb.Store(nb) // its handler may run (and ask Bot.REST) before startGen returns
	sup, err := supervisor.New(supervisor.Spec{Name: opts.Name + "/gen", Strategy: supervisor.OneForOne,
		Children: []supervisor.ChildSpec{nb.ChildSpec()}, Logger: in.b.log})
	if err != nil {
		return nil, err
	}
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := sup.Start(gctx); err != nil {
		cancel()
		return nil, fmt.Errorf("ha: starting the bot: %w", err)
	}
	g := &generation{bot: nb, cancel: cancel, done: make(chan struct{})}
	go func() {
		g.err = sup.Serve(gctx)
		close(g.done)
	}()
	return g, nil
}

// handle wraps the user's handler: it tracks the committed sequence and asks for a
// checkpoint every CheckpointEvents events. A killed instance handles nothing more.
func (in *instance) handle(ctx context.Context, ev nostrum.Event, user nostrum.Handler) error {
	if in.dead.Load() {
		return nil
	}
	s := in.tr.begin(ev)
	err := user(ctx, ev)
	if in.tr.end(s) >= in.b.cfg.CheckpointEvents {
		select {
		case in.kick <- struct{}{}:
		default:
		}
	}
	return err
}

// Serve runs until the application stops the instance, then ends or detaches the sessions
// according to the stop reason.
func (in *instance) Serve(ctx context.Context) error {
	in.mu.Lock()
	in.serveCtx = ctx
	in.mu.Unlock()
	ckDone := make(chan struct{})
	go func() { defer close(ckDone); in.checkpoints(ctx) }()
	defer func() { <-ckDone }()
	for {
		in.mu.Lock()
		g := in.gen
		in.mu.Unlock()
		select {
		case <-ctx.Done():
			in.stop(ctx)
			return nil
		case <-g.done:
		}
		in.mu.Lock()
		replaced, crash := in.gen != g, in.crash
		in.mu.Unlock()
		switch {
		case crash != nil:
			return crash
		case replaced:
			continue
		case g.err != nil:
			return g.err
		default:
			return errors.New("ha: the bot's subtree stopped")
		}
	}
}

// stop ends the instance: close 1000 on Stopped and (unless KeepSessionOnShutdown) Shutdown,
// detach otherwise. With no
// stop reason the instance was killed (or its start failed): it stops handling at once.
func (in *instance) stop(ctx context.Context) {
	reason, ok := app.StopReasonFrom(ctx)
	if !ok {
		in.dead.Store(true)
	}
	in.mu.Lock()
	in.stopping = true
	g := in.gen
	in.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), in.b.cfg.StopTimeout)
	defer cancel()
	closeIt := ok && (reason.Kind == app.StopStopped ||
		reason.Kind == app.StopShutdown && !in.b.cfg.KeepSessionOnShutdown)
	var err error
	if closeIt {
		err = g.bot.Close(sctx)
	} else {
		var infos []nostrum.ResumeInfo
		infos, err = g.bot.Detach(sctx)
		if err == nil && ok && reason.Kind != app.StopMoved {
			in.finalCheckpoint(ctx, infos)
		}
	}
	if err != nil {
		in.b.log.Warn("ha: stopping the shards", "err", err)
	}
	g.cancel()
	select {
	case <-g.done:
	case <-sctx.Done():
		in.b.log.Warn("ha: the bot's subtree did not stop in time")
	}
	why := "killed"
	if ok {
		why = reason.String()
	}
	in.b.emit(Stopped{Reason: why, Closed: closeIt})
}

// finalCheckpoint replicates the detached sessions' final state (best effort: the peers
// that fail over then replay nothing this instance handled).
func (in *instance) finalCheckpoint(ctx context.Context, infos []nostrum.ResumeInfo) {
	if len(infos) == 0 {
		return
	}
	data, err := EncodeCheckpoint(Checkpoint{Shards: infos, At: time.Now()})
	if err == nil {
		err = app.Checkpoint(ctx, data)
	}
	if err == nil {
		in.b.emit(Checkpointed{Shards: infos})
	}
}

// checkpoints replicates the tracker's state every CheckpointInterval, or sooner when
// CheckpointEvents events were handled, while it changes.
func (in *instance) checkpoints(ctx context.Context) {
	t := time.NewTicker(in.b.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-in.kick:
		}
		if in.dead.Load() {
			return
		}
		infos, changed := in.tr.take()
		if !changed || len(infos) == 0 {
			continue
		}
		data, err := EncodeCheckpoint(Checkpoint{Shards: infos, At: time.Now()})
		if err == nil {
			err = app.Checkpoint(ctx, data)
		}
		if errors.Is(err, app.ErrNoInstance) {
			in.b.log.Warn("ha: not run by an application controller; no checkpoints")
			return
		}
		if err != nil {
			in.b.log.Warn("ha: checkpoint failed", "err", err)
			continue
		}
		in.b.emit(Checkpointed{Shards: infos})
	}
}

// handoff detaches every shard, waits for the handler to finish their queued events, and
// returns the sessions with their committed sequences and the cache.
func (in *instance) handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	in.hmu.Lock() // one handoff at a time; in.mu is not held while handlers drain
	defer in.hmu.Unlock()
	in.mu.Lock()
	handed, g, stopping := in.handed, in.gen, in.stopping
	in.mu.Unlock()
	if handed != nil {
		return handed, nil
	}
	if g == nil || stopping {
		return nil, ErrNotRunning
	}
	h, b, err := in.detachFor(ctx, g)
	in.mu.Lock()
	in.given = h
	if err == nil {
		in.handed = b
	}
	in.mu.Unlock()
	// The controller tells a failed takeover (HandoffAborted), but not one whose node went
	// down before its start ended: past HandoffTimeout, still running here, resume.
	time.AfterFunc(in.b.cfg.HandoffTimeout, func() {
		in.mu.Lock()
		pending := in.given == h && !in.stopping
		in.mu.Unlock()
		if pending {
			in.b.log.Warn("ha: no stop after the handoff; the takeover is taken as failed", "to", string(to))
			in.handoffAborted(in.runCtx())
		}
	})
	if err != nil {
		return nil, err
	}
	in.b.emit(HandedOff{To: to, Shards: h.Shards})
	return b, nil
}

// detachFor detaches g's shards and encodes the handoff. On an error the returned Handoff
// still says what to resume if the takeover is aborted.
func (in *instance) detachFor(ctx context.Context, g *generation) (*Handoff, []byte, error) {
	infos, err := g.bot.Detach(ctx)
	if err != nil {
		// The shards are detaching anyway; an abort resumes from what the handler committed.
		return &Handoff{Shards: in.tr.infos()}, nil, fmt.Errorf("ha: detaching the shards: %w", err)
	}
	snap, err := g.bot.Snapshot()
	if err != nil {
		return &Handoff{Shards: infos}, nil, fmt.Errorf("ha: cache snapshot: %w", err)
	}
	h := &Handoff{Shards: infos, Cache: snap, At: time.Now()}
	b, err := EncodeHandoff(*h)
	return h, b, err
}

// handoffAborted resumes the detached sessions in a new generation.
func (in *instance) handoffAborted(ctx context.Context) {
	in.hmu.Lock()
	defer in.hmu.Unlock()
	in.mu.Lock()
	given, old := in.given, in.gen
	in.handed, in.given = nil, nil
	stopping := in.stopping
	in.mu.Unlock()
	if given == nil || stopping {
		return
	}
	g, err := in.startGen(ctx, given.Shards, given.Cache)
	in.mu.Lock()
	stopping = in.stopping
	switch {
	case err != nil:
		in.crash = fmt.Errorf("ha: resuming after an aborted handoff: %w", err)
	case !stopping:
		in.gen = g
	}
	in.mu.Unlock()
	if err == nil && stopping {
		// The instance stopped meanwhile: hand the sessions on untouched.
		sctx, cancel := context.WithTimeout(context.Background(), in.b.cfg.StopTimeout)
		_, _ = g.bot.Detach(sctx)
		cancel()
		g.cancel()
		return
	}
	old.cancel()
	if err != nil {
		in.b.log.Error("ha: could not resume after an aborted handoff", "err", err)
		return
	}
	in.b.emit(HandoffAborted{Shards: given.Shards})
}
