package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long "eventually" waits are allowed to take: generous, for a loaded
// 2-core machine under -race. Nothing waits that long when the code is right.
const wait = 20 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeClock is a Clock whose time moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever a timer is created
	created []time.Duration
}

type fakeTimer struct {
	clock *fakeClock
	due   time.Time
	d     time.Duration
	c     chan time.Time
	fired bool
	stop  bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) supervisor.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, due: c.now.Add(d), d: d, c: make(chan time.Time, 1)}
	c.created = append(c.created, d)
	if d <= 0 {
		t.fired = true
		t.c <- c.now
	}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.fired && !t.stop
	t.stop = true
	return was
}

// Advance moves time by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.fired && !t.stop && !t.due.After(c.now) {
			t.fired = true
			t.c <- c.now
		}
	}
}

// pending returns the number of timers of duration d (any if d is 0) that are
// neither fired nor stopped.
func (c *fakeClock) pending(d time.Duration) (int, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.fired && !t.stop && (d == 0 || t.d == d) {
			n++
		}
	}
	return n, c.changed
}

// waitTimer waits until a timer is pending (the supervisor is waiting on it).
func (c *fakeClock) waitTimer(t *testing.T) {
	t.Helper()
	c.waitTimerOf(t, 0)
}

// waitTimerOf waits until a timer of duration d is pending.
func (c *fakeClock) waitTimerOf(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(wait)
	for {
		n, changed := c.pending(d)
		if n > 0 {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no timer of %v was created", d)
		}
	}
}

// createdTimers returns the durations of every timer created so far.
func (c *fakeClock) createdTimers() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.created)
}

// checkTimers checks that at most max timers were created, all of duration d.
func (c *fakeClock) checkTimers(t *testing.T, d time.Duration, max int) {
	t.Helper()
	got := c.createdTimers()
	if len(got) > max || slices.ContainsFunc(got, func(x time.Duration) bool { return x != d }) {
		t.Errorf("timers %v, want at most %d of %v", got, max, d)
	}
}

// noLeaks checks, once the test and its cleanups are done, that no goroutine is left.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// exitKind is how a test child exits.
type exitKind int

const (
	exitNil exitKind = iota
	exitShutdown
	exitError
	exitPanic
	exitCanceled // context.Canceled from some other context: abnormal
	exitDoNotRestart
)

func (k exitKind) String() string {
	return [...]string{"nil", "shutdown", "error", "panic", "canceled", "donotrestart"}[k]
}

func (k exitKind) normal() bool { return k == exitNil || k == exitShutdown }

var errBoom = errors.New("boom")

func (k exitKind) do() error {
	switch k {
	case exitShutdown:
		return fmt.Errorf("leaving: %w", supervisor.ErrShutdown)
	case exitError:
		return errBoom
	case exitPanic:
		panic("kaboom")
	case exitCanceled:
		other, cancel := context.WithCancel(context.Background())
		cancel()
		return other.Err()
	case exitDoNotRestart:
		return fmt.Errorf("fatal: %w", supervisor.ErrDoNotRestart)
	}
	return nil
}

// harness records a supervisor's events as short strings and drives test children.
type harness struct {
	t       *testing.T
	clock   *fakeClock
	mu      sync.Mutex
	events  []string
	raw     []supervisor.Event
	changed chan struct{}
	cmds    map[string]chan exitKind
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, clock: newFakeClock(), changed: make(chan struct{}), cmds: map[string]chan exitKind{}}
}

// hook is the EventHook: it records e as a short string.
func (h *harness) hook(e supervisor.Event) {
	var s string
	switch e := e.(type) {
	case supervisor.EventChildStarted:
		s = "start " + e.Child
		if e.Restart {
			s = "restart " + e.Child
		}
	case supervisor.EventChildStartFailed:
		s = "startfail " + e.Child
	case supervisor.EventChildExited:
		switch {
		case e.Stopped:
			s = "stop " + e.Child
		case e.Normal:
			s = "exit " + e.Child + " normal"
		default:
			s = "exit " + e.Child + " abnormal"
		}
	case supervisor.EventChildRestarting:
		s = "restarting " + strings.Join(e.Group, ",")
	case supervisor.EventChildAbandoned:
		s = "abandon " + e.Child
	case supervisor.EventIntensityReached:
		s = "intensity " + e.Child
	case supervisor.EventAutoShutdown:
		s = "autoshutdown " + e.Child
	}
	h.mu.Lock()
	h.events = append(h.events, s)
	h.raw = append(h.raw, e)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// spec returns a Spec wired to the harness (hook, fake clock, quiet logger).
func (h *harness) spec(strategy supervisor.Strategy, children ...supervisor.ChildSpec) supervisor.Spec {
	return supervisor.Spec{Name: "sup", Strategy: strategy, Children: children,
		EventHook: h.hook, Clock: h.clock, Logger: quiet, MaxRestarts: 100, Period: time.Minute}
}

func (h *harness) cmd(id string) chan exitKind {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.cmds[id]
	if !ok {
		ch = make(chan exitKind)
		h.cmds[id] = ch
	}
	return ch
}

// child is a spec for a test child that runs until cancelled or told to exit.
func (h *harness) child(id string, restart supervisor.RestartType) supervisor.ChildSpec {
	return supervisor.ChildSpec{ID: id, Restart: restart, Start: h.start(id)}
}

func (h *harness) start(id string) func(context.Context) (supervisor.Service, error) {
	ch := h.cmd(id)
	return func(context.Context) (supervisor.Service, error) {
		return supervisor.ServiceFunc(func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case k := <-ch:
				return k.do()
			}
		}), nil
	}
}

// exit makes the running instance of id exit as k.
func (h *harness) exit(id string, k exitKind) {
	h.t.Helper()
	select {
	case h.cmd(id) <- k:
	case <-time.After(wait):
		h.t.Fatalf("child %s is not running", id)
	}
}

// waitEvent waits until ev has been recorded n times in all.
func (h *harness) waitEvent(ev string, n int) {
	h.t.Helper()
	deadline := time.After(wait)
	for {
		h.mu.Lock()
		count := 0
		for _, e := range h.events {
			if e == ev {
				count++
			}
		}
		changed := h.changed
		got := slices.Clone(h.events)
		h.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			h.t.Fatalf("event %q (x%d) never came; events: %q", ev, n, got)
		}
	}
}

func (h *harness) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

func (h *harness) check(want ...string) {
	h.t.Helper()
	if got := h.got(); !slices.Equal(got, want) {
		h.t.Errorf("events:\n got  %q\n want %q", got, want)
	}
}

// running is a supervisor serving in the background.
type running struct {
	sup    *supervisor.Supervisor
	cancel context.CancelFunc
	done   chan error
}

// run builds, starts and serves spec; the test's cleanup makes sure it stopped.
func run(t *testing.T, spec supervisor.Spec) *running {
	t.Helper()
	sup, err := supervisor.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{sup: sup, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- sup.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(wait):
			t.Error("supervisor did not stop")
		}
	})
	return r
}

// stop cancels the supervisor and returns what Serve returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.result(t)
}

// result waits for Serve to return.
func (r *running) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(wait):
		t.Fatal("Serve did not return")
		return nil
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}
