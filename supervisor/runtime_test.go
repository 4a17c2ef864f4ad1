package supervisor_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gotp/gotp/supervisor"
)

func ids(infos []supervisor.ChildInfo) (all, running []string) {
	for _, ci := range infos {
		all = append(all, ci.ID)
		if ci.State == supervisor.ChildRunning {
			running = append(running, ci.ID)
		}
	}
	return all, running
}

func (r *running) which(t *testing.T) (all, running []string) {
	t.Helper()
	infos, err := r.sup.WhichChildren(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return ids(infos)
}

func TestRuntimeAPIStatic(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent)))
	ctx := ctxT(t)

	if id, err := r.sup.StartChild(ctx, h.child("B", supervisor.Transient)); err != nil || id != "B" {
		t.Fatalf("StartChild(B) = %q, %v", id, err)
	}
	if _, err := r.sup.StartChild(ctx, h.child("B", supervisor.Transient)); !errors.Is(err, supervisor.ErrChildExists) {
		t.Errorf("StartChild(B) again: %v", err)
	}
	if _, err := r.sup.StartChild(ctx, supervisor.ChildSpec{ID: "bad"}); err == nil {
		t.Error("StartChild accepted a spec without Start")
	}
	failing := supervisor.ChildSpec{ID: "F", Start: func(context.Context) (supervisor.Service, error) { return nil, errBoom }}
	var se *supervisor.StartError
	if _, err := r.sup.StartChild(ctx, failing); !errors.As(err, &se) || se.Child != "F" {
		t.Errorf("StartChild(F) = %v", err)
	}
	if err := r.sup.DeleteChild(ctx, "B"); !errors.Is(err, supervisor.ErrChildRunning) {
		t.Errorf("DeleteChild(running B) = %v", err)
	}
	if err := r.sup.RestartChild(ctx, "B"); !errors.Is(err, supervisor.ErrChildRunning) {
		t.Errorf("RestartChild(running B) = %v", err)
	}
	if err := r.sup.TerminateChild(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if all, running := r.which(t); !slices.Equal(all, []string{"A", "B"}) || !slices.Equal(running, []string{"A"}) {
		t.Errorf("after terminate: %q running %q", all, running)
	}
	if err := r.sup.RestartChild(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := r.sup.TerminateChild(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := r.sup.DeleteChild(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		r.sup.TerminateChild(ctx, "B"), r.sup.RestartChild(ctx, "B"), r.sup.DeleteChild(ctx, "B"),
	} {
		if !errors.Is(err, supervisor.ErrChildNotFound) {
			t.Errorf("on a deleted child: %v", err)
		}
	}
	// A temporary child is removed when terminated.
	if _, err := r.sup.StartChild(ctx, h.child("T", supervisor.Temporary)); err != nil {
		t.Fatal(err)
	}
	if err := r.sup.TerminateChild(ctx, "T"); err != nil {
		t.Fatal(err)
	}
	if all, _ := r.which(t); !slices.Equal(all, []string{"A"}) {
		t.Errorf("after terminating temporary T: %q", all)
	}
	counts, err := r.sup.CountChildren(ctx)
	if err != nil || counts != (supervisor.ChildCounts{Specs: 1, Active: 1, Workers: 1}) {
		t.Errorf("CountChildren = %+v, %v", counts, err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.check("start A", "start B", "startfail F", "stop B", "start B", "stop B", "start T", "stop T", "stop A")
	if _, err := r.sup.StartChild(ctx, h.child("C", supervisor.Permanent)); !errors.Is(err, supervisor.ErrNotRunning) {
		t.Errorf("StartChild after stop: %v", err)
	}
}

// A child terminated by hand is started again by a sibling's one_for_all restart, as
// in OTP (its spec is kept with no process).
func TestOneForAllRestartsTerminatedSiblings(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForAll, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent)))
	if err := r.sup.TerminateChild(ctxT(t), "A"); err != nil {
		t.Fatal(err)
	}
	h.exit("B", exitError)
	h.waitEvent("restart B", 1)
	r.stop(t)
	h.check("start A", "start B", "stop A", "exit B abnormal", "restarting A,B", "restart A", "restart B", "stop B", "stop A")
}

func TestSimpleOneForOne(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.SimpleOneForOne, supervisor.ChildSpec{ID: "w", Restart: supervisor.Transient, Start: h.start("w")})
	r := run(t, spec)
	ctx := ctxT(t)
	if all, _ := r.which(t); len(all) != 0 {
		t.Fatalf("simple_one_for_one started %q with the supervisor", all)
	}
	for _, want := range []string{"w-1", "w-2"} {
		id, err := r.sup.StartChild(ctx, supervisor.ChildSpec{}) // the template's Start
		if err != nil || id != want {
			t.Fatalf("StartChild = %q, %v; want %q", id, err, want)
		}
	}
	if id, err := r.sup.StartChild(ctx, supervisor.ChildSpec{ID: "mine", Start: h.start("mine")}); err != nil || id != "mine" {
		t.Fatalf("StartChild(mine) = %q, %v", id, err)
	}
	if _, err := r.sup.StartChild(ctx, supervisor.ChildSpec{ID: "mine"}); !errors.Is(err, supervisor.ErrChildExists) {
		t.Errorf("duplicate dynamic ID: %v", err)
	}
	if err := r.sup.RestartChild(ctx, "w-1"); !errors.Is(err, supervisor.ErrNotSupported) {
		t.Errorf("RestartChild: %v", err)
	}
	if err := r.sup.DeleteChild(ctx, "w-1"); !errors.Is(err, supervisor.ErrNotSupported) {
		t.Errorf("DeleteChild: %v", err)
	}
	// The template's children share h's "w" channel: one of them takes the command.
	h.exit("mine", exitError)
	h.waitEvent("restart mine", 1)
	if err := r.sup.TerminateChild(ctx, "w-2"); err != nil {
		t.Fatal(err)
	}
	h.exit("mine", exitNil) // transient, normal: removed
	h.waitEvent("exit mine normal", 1)
	if all, running := r.which(t); !slices.Equal(all, []string{"w-1"}) || !slices.Equal(running, all) {
		t.Errorf("children %q running %q", all, running)
	}
	counts, err := r.sup.CountChildren(ctx)
	if err != nil || counts != (supervisor.ChildCounts{Specs: 1, Active: 1, Workers: 1}) {
		t.Errorf("CountChildren = %+v, %v", counts, err)
	}
	r.stop(t)
	h.check("start w-1", "start w-2", "start mine", "exit mine abnormal", "restarting mine", "restart mine",
		"stop w-2", "exit mine normal", "stop w-1")
}

func TestRuntimeAPIWaitsForServeAndHonoursContext(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	sup, err := supervisor.New(h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Between Start and Serve nobody answers: the call gives up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sup.WhichChildren(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WhichChildren before Serve: %v", err)
	}
	if err := sup.Start(ctxT(t)); !errors.Is(err, supervisor.ErrAlreadyStarted) {
		t.Errorf("second Start: %v", err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(serveCtx) }()
	if all, _ := (&running{sup: sup}).which(t); !slices.Equal(all, []string{"A"}) {
		t.Errorf("children %q", all)
	}
	if err := sup.Serve(serveCtx); !errors.Is(err, supervisor.ErrAlreadyStarted) {
		t.Errorf("second Serve: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-sup.Done()
	if sup.Err() != nil {
		t.Errorf("Err() = %v", sup.Err())
	}
}

// A child that terminates itself, passing its own context, does not deadlock even with
// an Infinity shutdown: its call gives up when the supervisor cancels it.
func TestChildTerminatesItself(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	var sup *supervisor.Supervisor
	trigger, callErr := make(chan struct{}), make(chan error, 1)
	self := supervisor.ChildSpec{ID: "A", Shutdown: supervisor.Infinity, Start: func(context.Context) (supervisor.Service, error) {
		return supervisor.ServiceFunc(func(ctx context.Context) error {
			<-trigger
			callErr <- sup.TerminateChild(ctx, "A")
			return nil
		}), nil
	}}
	r := run(t, h.spec(supervisor.OneForOne, self, h.child("B", supervisor.Permanent)))
	sup = r.sup
	close(trigger)
	if err := <-callErr; !errors.Is(err, context.Canceled) {
		t.Errorf("TerminateChild from the child itself returned %v", err)
	}
	if all, running := r.which(t); !slices.Equal(all, []string{"A", "B"}) || !slices.Equal(running, []string{"B"}) {
		t.Errorf("children %q running %q", all, running)
	}
	r.stop(t)
	h.check("start A", "start B", "stop A", "stop B")
}

// A child stopped by the supervisor that returns its own context's error exits
// normally; the same error from another context is abnormal (see the matrix).
func TestOwnContextCancelledIsNormal(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent)))
	if err := r.sup.TerminateChild(ctxT(t), "A"); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	e, ok := h.raw[1].(supervisor.EventChildExited)
	if !ok || !e.Stopped || !e.Normal || !errors.Is(e.Err, context.Canceled) {
		t.Errorf("stop event %+v", h.raw[1])
	}
}

// StartChild of a nested supervisor returns once the nested tree is up.
func TestStartChildStartsANestedTreeSynchronously(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent)))
	sub := h.spec(supervisor.RestForOne, h.child("X", supervisor.Permanent), h.child("Y", supervisor.Permanent))
	sub.Name = "sub"
	if _, err := r.sup.StartChild(ctxT(t), sub.ChildSpec()); err != nil {
		t.Fatal(err)
	}
	h.check("start A", "start X", "start Y", "start sub")
	if err := r.sup.TerminateChild(ctxT(t), "sub"); err != nil {
		t.Fatal(err)
	}
	h.check("start A", "start X", "start Y", "start sub", "stop Y", "stop X", "stop sub")
	r.stop(t)
}

// The runtime API is safe from many goroutines at once (run with -race).
func TestRuntimeAPIConcurrently(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.SimpleOneForOne, supervisor.ChildSpec{ID: "w", Restart: supervisor.Temporary, Start: h.start("w")}))
	ctx := ctxT(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				id, err := r.sup.StartChild(ctx, supervisor.ChildSpec{})
				if err != nil {
					errs <- err
					continue
				}
				if _, err := r.sup.WhichChildren(ctx); err != nil {
					errs <- err
				}
				if err := r.sup.TerminateChild(ctx, id); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	counts, err := r.sup.CountChildren(ctx)
	if err != nil || counts.Specs != 0 {
		t.Errorf("CountChildren = %+v, %v; want none left", counts, err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := len(h.got()); n != 2*workers*each {
		t.Errorf("%d events, want a start and a stop for each of %d children", n, workers*each)
	}
}
