package supervisor_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

// tree: top{A, sub{X, Y}, B}.
func (h *harness) tree(x, y supervisor.ChildSpec) supervisor.Spec {
	sub := h.spec(supervisor.OneForOne, x, y)
	sub.Name = "sub"
	top := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), sub.ChildSpec(), h.child("B", supervisor.Permanent))
	top.Name = "top"
	return top
}

func TestOrderedStartAndStopOfANestedTree(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	sup, err := supervisor.New(h.tree(h.child("X", supervisor.Permanent), h.child("Y", supervisor.Permanent)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Start is synchronous down the tree: every start is recorded when it returns.
	h.check("start A", "start X", "start Y", "start sub", "start B")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	counts, err := sup.CountChildren(ctxT(t))
	if err != nil || counts != (supervisor.ChildCounts{Specs: 3, Active: 3, Supervisors: 1, Workers: 2}) {
		t.Errorf("CountChildren = %+v, %v", counts, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	h.check("start A", "start X", "start Y", "start sub", "start B",
		"stop B", "stop Y", "stop X", "stop sub", "stop A")
	// Workers may be waited for with their 5 s default; the supervisor sub is waited
	// for without a timer (Infinity).
	h.clock.checkTimers(t, 5*time.Second, 4)
}

func TestStartFailureRollsBackAndNamesTheChild(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	bad := supervisor.ChildSpec{ID: "Y", Start: func(context.Context) (supervisor.Service, error) { return nil, errBoom }}
	sup, err := supervisor.New(h.tree(h.child("X", supervisor.Permanent), bad))
	if err != nil {
		t.Fatal(err)
	}
	err = sup.Start(ctxT(t))
	var se *supervisor.StartError
	if !errors.As(err, &se) || se.Supervisor != "top" || se.Child != "sub" || !errors.Is(err, errBoom) {
		t.Fatalf("Start returned %v", err)
	}
	if !strings.Contains(err.Error(), `child "sub"`) || !strings.Contains(err.Error(), `child "Y"`) {
		t.Errorf("error %q does not name the children", err)
	}
	h.check("start A", "start X", "startfail Y", "stop X", "startfail sub", "stop A")
	// A failed supervisor is done: Serve returns the start's error at once.
	if err2 := sup.Serve(ctxT(t)); err2 != err {
		t.Errorf("Serve after a failed Start returned %v", err2)
	}
	if sup.Err() != err {
		t.Errorf("Err() = %v", sup.Err())
	}
}

func TestStartFailures(t *testing.T) {
	starter := func(err error) func(context.Context) (supervisor.Service, error) {
		return func(context.Context) (supervisor.Service, error) { return failingStarter{err}, nil }
	}
	for name, start := range map[string]func(context.Context) (supervisor.Service, error){
		"panic":     func(context.Context) (supervisor.Service, error) { panic("in start") },
		"nil":       func(context.Context) (supervisor.Service, error) { return nil, nil },
		"starter":   starter(errBoom),
		"cancelled": nil, // the context is cancelled by the child before it
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			h := newHarness(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := h.child("A", supervisor.Permanent)
			if start == nil {
				inner := first.Start
				first.Start = func(ctx context.Context) (supervisor.Service, error) {
					cancel()
					return inner(ctx)
				}
				start = h.start("B")
			}
			sup, err := supervisor.New(h.spec(supervisor.OneForOne, first, supervisor.ChildSpec{ID: "B", Start: start}))
			if err != nil {
				t.Fatal(err)
			}
			err = sup.Start(ctx)
			var se *supervisor.StartError
			if !errors.As(err, &se) || se.Child != "B" {
				t.Fatalf("Start returned %v", err)
			}
			h.check("start A", "startfail B", "stop A")
		})
	}
}

type failingStarter struct{ err error }

func (f failingStarter) Start(context.Context) error     { return f.err }
func (f failingStarter) Serve(ctx context.Context) error { panic("Serve must not run") }

// hanging is a child that ignores its context until released; it tells when its
// context was cancelled and when it has returned.
type hanging struct {
	cancelled, release, returned chan struct{}
}

func newHanging() *hanging {
	return &hanging{make(chan struct{}), make(chan struct{}), make(chan struct{})}
}

func (g *hanging) spec(id string, shutdown time.Duration) supervisor.ChildSpec {
	return supervisor.ChildSpec{ID: id, Shutdown: shutdown, Start: func(context.Context) (supervisor.Service, error) {
		return supervisor.ServiceFunc(func(ctx context.Context) error {
			defer close(g.returned)
			<-ctx.Done()
			close(g.cancelled)
			<-g.release
			return nil
		}), nil
	}}
}

// finish releases the child and waits until it has returned.
func (g *hanging) finish(t *testing.T) {
	t.Helper()
	close(g.release)
	select {
	case <-g.returned:
	case <-time.After(wait):
		t.Fatal("hanging child did not return")
	}
}

func TestShutdownTimeoutAbandonsAndReports(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	g := newHanging()
	r := run(t, h.spec(supervisor.OneForOne, g.spec("A", 3*time.Second), h.child("B", supervisor.Permanent)))
	h.waitEvent("start B", 1)
	r.cancel()
	<-g.cancelled
	h.clock.waitTimer(t)
	h.clock.Advance(3 * time.Second)
	err := r.result(t)
	var se *supervisor.StopError
	if !errors.As(err, &se) || !slices.Equal(se.Unstopped, []string{"A"}) {
		t.Fatalf("Serve returned %v", err)
	}
	h.check("start A", "start B", "stop B", "abandon A")
	if got := h.clock.createdTimers(); !slices.Contains(got, 3*time.Second) {
		t.Errorf("timers %v: no 3s timer for A", got)
	}
	g.finish(t) // the abandoned child is the only goroutine left; let it go for goleak
}

func TestDefaultShutdowns(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	// The worker X has the default 5 s; the supervisor sub waits for ever (no timer of
	// its own), so the only timer is X's.
	g := newHanging()
	r := run(t, h.tree(g.spec("X", 0), h.child("Y", supervisor.Permanent)))
	h.waitEvent("start B", 1)
	r.cancel()
	<-g.cancelled
	h.clock.waitTimer(t)
	h.clock.Advance(5 * time.Second)
	if err := r.result(t); err != nil {
		t.Fatalf("Serve returned %v (sub's StopError is sub's own report)", err)
	}
	h.check("start A", "start X", "start Y", "start sub", "start B",
		"stop B", "stop Y", "abandon X", "stop sub", "stop A")
	h.clock.checkTimers(t, 5*time.Second, 4) // B, Y, X (the one that ran out), A; none for sub
	g.finish(t)
}

func TestBrutalKillDoesNotWait(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	g := newHanging()
	r := run(t, h.spec(supervisor.OneForOne, g.spec("A", supervisor.BrutalKill), h.child("B", supervisor.Permanent)))
	h.waitEvent("start B", 1)
	// Serve returns while A still runs: it was not waited for.
	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	select {
	case <-g.returned:
		t.Fatal("A returned although it was never released")
	default:
	}
	h.check("start A", "start B", "stop B", "abandon A")
	h.clock.checkTimers(t, 5*time.Second, 1) // at most B's
	g.finish(t)
}

func TestInfinityWaits(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	g := newHanging()
	r := run(t, h.spec(supervisor.OneForOne, g.spec("A", supervisor.Infinity)))
	h.waitEvent("start A", 1)
	r.cancel()
	<-g.cancelled
	select {
	case err := <-r.done:
		t.Fatalf("Serve returned %v before A did", err)
	default:
	}
	close(g.release)
	if err := r.result(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	h.check("start A", "stop A")
	if got := h.clock.createdTimers(); len(got) != 0 {
		t.Errorf("timers %v", got)
	}
}

// An abandoned child may still run when its replacement starts: the old run's late
// exit is ignored, not taken for the new one's.
func TestAbandonedChildsLateExitIsIgnored(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	instances := make(chan *hanging, 2)
	a := supervisor.ChildSpec{ID: "A", Shutdown: supervisor.BrutalKill, Start: func(ctx context.Context) (supervisor.Service, error) {
		g := newHanging()
		instances <- g
		return g.spec("A", 0).Start(ctx)
	}}
	r := run(t, h.spec(supervisor.OneForAll, a, h.child("B", supervisor.Permanent)))
	first := <-instances
	h.exit("B", exitError)
	h.waitEvent("restart B", 1)
	second := <-instances
	<-first.cancelled
	first.finish(t) // the first A returns while the second runs: a stale exit
	// The supervisor has handled the stale exit if a later request sees A running.
	infos, err := r.sup.WhichChildren(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].State != supervisor.ChildRunning || infos[1].State != supervisor.ChildRunning {
		t.Errorf("children %+v", infos)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	second.finish(t)
	h.check("start A", "start B", "exit B abnormal", "restarting A,B", "abandon A", "restart A", "restart B",
		"stop B", "abandon A")
}

func TestTerminateChildReportsAnAbandonedChild(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	g := newHanging()
	r := run(t, h.spec(supervisor.OneForOne, g.spec("A", time.Second), h.child("B", supervisor.Permanent)))
	result := make(chan error, 1)
	go func() { result <- r.sup.TerminateChild(ctxT(t), "A") }()
	<-g.cancelled
	h.clock.waitTimerOf(t, time.Second)
	h.clock.Advance(time.Second)
	var se *supervisor.StopError
	if err := <-result; !errors.As(err, &se) || !slices.Equal(se.Unstopped, []string{"A"}) {
		t.Fatalf("TerminateChild returned %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v: the abandoned child is not waited for again", err)
	}
	h.check("start A", "start B", "abandon A", "stop B")
	g.finish(t)
}
