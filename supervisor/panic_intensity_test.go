package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

func TestPanicCarriesValueAndStack(t *testing.T) {
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent)))
	h.exit("A", exitPanic)
	h.waitEvent("restart A", 1)
	r.stop(t)
	var exited *supervisor.EventChildExited
	for _, e := range h.raw {
		if e, ok := e.(supervisor.EventChildExited); ok && !e.Stopped {
			exited = &e
		}
	}
	if exited == nil {
		t.Fatal("no exit event")
	}
	var p *supervisor.PanicError
	if !errors.As(exited.Err, &p) {
		t.Fatalf("exit error %v is not a *PanicError", exited.Err)
	}
	if p.Value != "kaboom" || !strings.Contains(string(p.Stack), "exitKind.do") {
		t.Errorf("panic value %v, stack:\n%s", p.Value, p.Stack)
	}
	if exited.Normal {
		t.Error("a panic is reported as a normal exit")
	}
	if s, ok := exited.Map()["stack"].(string); !ok || !strings.Contains(s, "exitKind.do") {
		t.Errorf("event map has no stack: %v", exited.Map())
	}
}

// intensitySpec: at most 2 restarts in 10 s.
func intensitySpec(h *harness, st supervisor.Strategy, children ...supervisor.ChildSpec) supervisor.Spec {
	spec := h.spec(st, children...)
	spec.MaxRestarts = 2
	spec.Period = 10 * time.Second
	return spec
}

func TestIntensityReached(t *testing.T) {
	h := newHarness(t)
	r := run(t, intensitySpec(h, supervisor.OneForOne,
		h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent), h.child("C", supervisor.Permanent)))
	h.exit("B", exitError)
	h.waitEvent("restart B", 1)
	h.clock.Advance(4 * time.Second)
	h.exit("B", exitError)
	h.waitEvent("restart B", 2)
	h.clock.Advance(4 * time.Second) // 8 s after the first restart: 3 in 10 s
	h.exit("B", exitPanic)
	err := r.result(t)
	if !errors.Is(err, supervisor.ErrMaxRestartIntensity) {
		t.Fatalf("Serve returned %v, want ErrMaxRestartIntensity", err)
	}
	var ee *supervisor.ExitError
	if !errors.As(err, &ee) || ee.Child != "B" || ee.Restarts != 2 || ee.Period != 10*time.Second {
		t.Fatalf("exit error %#v", err)
	}
	var p *supervisor.PanicError
	if !errors.As(ee.Cause, &p) {
		t.Errorf("cause %v is not the panic", ee.Cause)
	}
	h.check("start A", "start B", "start C",
		"exit B abnormal", "restarting B", "restart B",
		"exit B abnormal", "restarting B", "restart B",
		"exit B abnormal", "intensity B", "stop C", "stop A")
	// The supervisor is gone: the runtime API says so.
	if _, err := r.sup.WhichChildren(ctxT(t)); !errors.Is(err, supervisor.ErrNotRunning) {
		t.Errorf("WhichChildren after stop: %v", err)
	}
}

func TestIntensityNotReachedWhenSpreadWiderThanPeriod(t *testing.T) {
	h := newHarness(t)
	r := run(t, intensitySpec(h, supervisor.OneForAll, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent)))
	var want = []string{"start A", "start B"}
	// Restarts 6 s apart: never more than 2 within any 10 s.
	for i := 1; i <= 6; i++ {
		h.exit("A", exitError)
		h.waitEvent("restart B", i)
		want = append(want, "exit A abnormal", "restarting A,B", "stop B", "restart A", "restart B")
		h.clock.Advance(6 * time.Second)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	h.check(append(want, "stop B", "stop A")...)
}

func TestIntensityBoundaryAndDefaults(t *testing.T) {
	// OTP's default, 1 restart in 5 s: a second restart 5 s after the first is still
	// within the period (OTP counts restarts at now-period inclusive); after 5 s + 1 ns
	// it is not.
	for _, tc := range []struct {
		gap  time.Duration
		dies bool
	}{{5 * time.Second, true}, {5*time.Second + 1, false}} {
		h := newHarness(t)
		spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent))
		spec.MaxRestarts, spec.Period = 0, 0 // defaults
		r := run(t, spec)
		h.exit("A", exitError)
		h.waitEvent("restart A", 1)
		h.clock.Advance(tc.gap)
		h.exit("A", exitError)
		if tc.dies {
			if err := r.result(t); !errors.Is(err, supervisor.ErrMaxRestartIntensity) {
				t.Fatalf("gap %v: Serve returned %v", tc.gap, err)
			}
			continue
		}
		h.waitEvent("restart A", 2)
		if err := r.stop(t); err != nil {
			t.Fatalf("gap %v: Serve returned %v", tc.gap, err)
		}
	}
}

func TestNoRestartsAllowed(t *testing.T) {
	h := newHarness(t)
	spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), h.child("B", supervisor.Transient))
	spec.MaxRestarts = -1 // OTP intensity 0
	r := run(t, spec)
	h.exit("B", exitNil) // transient, normal: no restart, no intensity
	h.waitEvent("exit B normal", 1)
	h.exit("A", exitNil) // permanent: a restart, which is one too many
	if err := r.result(t); !errors.Is(err, supervisor.ErrMaxRestartIntensity) {
		t.Fatalf("Serve returned %v", err)
	}
	h.check("start A", "start B", "exit B normal", "exit A normal", "intensity A")
}

// A restart whose start fails is retried, each attempt counting, until the intensity
// stops the supervisor.
func TestFailingRestartCountsTowardIntensity(t *testing.T) {
	h := newHarness(t)
	starts := 0
	flaky := supervisor.ChildSpec{ID: "F", Start: func(ctx context.Context) (supervisor.Service, error) {
		starts++
		if starts > 1 {
			return nil, errBoom
		}
		return h.start("F")(ctx)
	}}
	r := run(t, intensitySpec(h, supervisor.OneForOne, h.child("A", supervisor.Permanent), flaky))
	h.exit("F", exitError)
	err := r.result(t)
	var ee *supervisor.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, supervisor.ErrMaxRestartIntensity) {
		t.Fatalf("Serve returned %v", err)
	}
	var se *supervisor.StartError
	if !errors.As(ee.Cause, &se) || se.Child != "F" || !errors.Is(se, errBoom) {
		t.Errorf("cause %v, want F's start error", ee.Cause)
	}
	h.check("start A", "start F", "exit F abnormal",
		"restarting F", "startfail F", "restarting F", "startfail F", "intensity F", "stop A")
}

// Failed restarts are retried through the supervisor's loop: with an intensity that is
// never reached, a child that can no longer start does not keep the supervisor from
// answering requests or stopping.
func TestRetriesDoNotBlockTheSupervisor(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	var starts atomic.Int64
	flaky := supervisor.ChildSpec{ID: "F", Start: func(ctx context.Context) (supervisor.Service, error) {
		if starts.Add(1) > 1 {
			return nil, errBoom
		}
		return h.start("F")(ctx)
	}}
	spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), flaky)
	spec.MaxRestarts = 1 << 40
	r := run(t, spec)
	h.exit("F", exitError)
	h.waitEvent("startfail F", 3)
	infos, err := r.sup.WhichChildren(ctxT(t))
	if err != nil || infos[0].State != supervisor.ChildRunning || infos[1].State == supervisor.ChildRunning {
		t.Fatalf("while retrying: %+v, %v", infos, err)
	}
	// Terminating the child ends the retries.
	if err := r.sup.TerminateChild(ctxT(t), "F"); err != nil {
		t.Fatal(err)
	}
	tried := starts.Load()
	if infos, err := r.sup.WhichChildren(ctxT(t)); err != nil || infos[1].State != supervisor.ChildStopped {
		t.Fatalf("after terminate: %+v, %v", infos, err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	got := h.got()
	if got[len(got)-1] != "stop A" || starts.Load() != tried || tried < 4 {
		t.Errorf("events end with %q; %d starts, %d when terminated", got[len(got)-3:], starts.Load(), tried)
	}
}
