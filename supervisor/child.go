package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Starter is implemented by Services that start synchronously, as *Supervisor does.
// The supervisor calls Start right after the child's ChildSpec.Start returned the
// Service, and before running Serve on its own goroutine; the child counts as started
// when Start returns nil. An error fails the child's start: the Service must then have
// released whatever it started. A plain Service counts as started as soon as its
// goroutine is launched.
type Starter interface {
	Start(ctx context.Context) error
}

// childState says where a child is.
type childState int

const (
	stateStopped    childState = iota // not running, spec kept
	stateRunning                      // its Serve runs
	stateRestarting                   // waiting for a backoff to end
)

// child is one entry of the supervisor's table.
type child struct {
	spec  ChildSpec
	state childState
	run   *run            // the running instance when stateRunning
	plan  *pendingRestart // the restart it waits for when stateRestarting after a backoff
}

// run is one running instance of a child: one Serve on one goroutine.
type run struct {
	child  *child
	cancel context.CancelFunc
	err    error
	// cancelled: the run's context was already cancelled (by the supervisor) when
	// Serve returned.
	cancelled bool
	// finished: Serve has returned; err and cancelled are set. The run then sends
	// itself on the supervisor's exits channel, which is how the supervisor waits for
	// it (no channel per run: it would cost ~100 bytes per idle child).
	finished atomic.Bool
}

// build calls the child's Start and, for a Starter, its Start method; panics become
// *PanicError.
func build(ctx context.Context, spec ChildSpec) (svc Service, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	svc, err = spec.Start(ctx)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, errors.New("start returned a nil Service")
	}
	if st, ok := svc.(Starter); ok {
		if err := st.Start(ctx); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// startChild starts c, ctx bounding the start. On failure it emits the event and
// returns a *StartError.
func (s *Supervisor) startChild(ctx context.Context, c *child, restart bool) error {
	if err := ctx.Err(); err != nil {
		return s.startFailed(c, err)
	}
	svc, err := build(ctx, c.spec)
	if err != nil {
		return s.startFailed(c, err)
	}
	r := &run{child: c}
	ctx, cancel := context.WithCancel(s.base)
	r.cancel = cancel
	c.run, c.state = r, stateRunning
	go s.serve(ctx, r, svc)
	if s.wants(slog.LevelDebug) {
		s.emit(EventChildStarted{Supervisor: s.spec.Name, Child: c.spec.ID, Restart: restart})
	}
	return nil
}

func (s *Supervisor) startFailed(c *child, err error) error {
	c.state = stateStopped
	s.emit(EventChildStartFailed{Supervisor: s.spec.Name, Child: c.spec.ID, Err: err})
	return &StartError{Supervisor: s.spec.Name, Child: c.spec.ID, Err: err}
}

// serve runs on the child's goroutine. It is kept to one frame above Serve (exited is
// deferred, not a wrapper), as every idle child's stack holds it.
func (s *Supervisor) serve(ctx context.Context, r *run, svc Service) {
	defer s.exited(ctx, r)
	r.err = svc.Serve(ctx)
}

// exited runs when Serve has returned or panicked: it records the exit and sends it to
// the supervisor (or drops it if the supervisor is gone).
func (s *Supervisor) exited(ctx context.Context, r *run) {
	if v := recover(); v != nil {
		r.err = &PanicError{Value: v, Stack: debug.Stack()}
	}
	r.cancelled = ctx.Err() != nil
	r.cancel()
	r.finished.Store(true)
	select {
	case s.exits <- r:
	case <-s.done:
	}
}

// isNormal tells a normal exit: nil, ErrShutdown, or context.Canceled once the run's own
// context is cancelled. A panic is never normal.
func isNormal(r *run) bool {
	if _, ok := r.err.(*PanicError); ok {
		return false // serveSafely makes it; never wrapped
	}
	switch {
	case r.err == nil:
		return true
	case errors.Is(r.err, ErrShutdown):
		return true
	}
	return r.cancelled && errors.Is(r.err, context.Canceled)
}

// stopChild cancels c's run and waits for it as its Shutdown says. It reports whether
// the child was abandoned (it had not returned when the supervisor stopped waiting).
func (s *Supervisor) stopChild(c *child) (abandoned bool) {
	r := c.run
	c.run, c.state = nil, stateStopped
	if r == nil {
		return false
	}
	r.cancel()
	d := c.spec.shutdown()
	if !s.wait(r, d, nil) {
		s.emit(EventChildAbandoned{Supervisor: s.spec.Name, Child: c.spec.ID, Shutdown: d})
		return true
	}
	s.stopped(r)
	return false
}

func (s *Supervisor) stopped(r *run) {
	e := EventChildExited{Supervisor: s.spec.Name, Child: r.child.spec.ID, Err: r.err, Normal: isNormal(r), Stopped: true}
	if s.wants(e.Level()) {
		s.emit(e)
	}
}

// wait waits for r to return within d, reading the exits channel; other runs' exits
// read meanwhile go to the backlog, which the loop handles next. A non-nil timer
// (shared by a parallel stop) is used instead of a new one.
func (s *Supervisor) wait(r *run, d time.Duration, shared Timer) bool {
	if r.finished.Load() {
		return true
	}
	var timeout <-chan time.Time
	switch d {
	case BrutalKill:
		return false
	case Infinity:
	default:
		t := shared
		if t == nil {
			t = s.spec.Clock.NewTimer(d)
			defer t.Stop()
		}
		timeout = t.C()
	}
	for {
		select {
		case x := <-s.exits:
			if x == r {
				return true
			}
			s.backlog = append(s.backlog, x)
		case <-timeout:
			return r.finished.Load()
		}
	}
}

// startStatic starts the children in order; on failure it stops the started ones in
// reverse.
func (s *Supervisor) startStatic(ctx context.Context) error {
	for _, c := range s.children {
		if err := s.startChild(ctx, c, false); err != nil {
			s.stopAll()
			return err
		}
	}
	return nil
}

// stopAll stops every running child, in reverse start order (SimpleOneForOne: all at
// once, as OTP), drops pending restarts and returns the IDs of abandoned children that
// had a timeout (brutal kills are not reported here: not waiting was asked for).
func (s *Supervisor) stopAll() []string {
	s.dropPending()
	var unstopped []string
	if s.spec.Strategy == SimpleOneForOne {
		return s.stopAllParallel()
	}
	for i := len(s.children) - 1; i >= 0; i-- {
		c := s.children[i]
		if c.run != nil && s.stopChild(c) && c.spec.shutdown() != BrutalKill {
			unstopped = append(unstopped, c.spec.ID)
		}
	}
	return unstopped
}

// stopAllParallel cancels every child and then waits for them under one deadline.
func (s *Supervisor) stopAllParallel() []string {
	d := s.template.shutdown()
	runs := make([]*run, 0, len(s.children))
	for _, c := range s.children {
		if c.run != nil {
			c.run.cancel()
			runs = append(runs, c.run)
			c.run, c.state = nil, stateStopped
		}
	}
	var shared Timer
	if d != BrutalKill && d != Infinity && len(runs) > 0 {
		shared = s.spec.Clock.NewTimer(d)
		defer shared.Stop()
	}
	var unstopped []string
	expired := false
	for _, r := range runs {
		ok := false
		if expired {
			ok = r.finished.Load()
		} else {
			ok = s.wait(r, d, shared)
			expired = !ok
		}
		if ok {
			s.stopped(r)
			continue
		}
		s.emit(EventChildAbandoned{Supervisor: s.spec.Name, Child: r.child.spec.ID, Shutdown: d})
		if d != BrutalKill {
			unstopped = append(unstopped, r.child.spec.ID)
		}
	}
	return unstopped
}

// shutdown stops everything and ends the supervisor with exit (nil: a requested stop).
func (s *Supervisor) shutdown(exit *ExitError) error {
	unstopped := s.stopAll()
	s.cancelBase()
	if exit != nil {
		exit.Unstopped = unstopped
		return exit
	}
	if len(unstopped) > 0 {
		return &StopError{Supervisor: s.spec.Name, Unstopped: unstopped}
	}
	return nil
}

func (s *Supervisor) childError(id string, err error) error {
	return fmt.Errorf("supervisor %q: child %q: %w", s.spec.Name, id, err)
}
