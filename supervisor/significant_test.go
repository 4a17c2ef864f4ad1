package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

func significant(h *harness, id string, rt supervisor.RestartType) supervisor.ChildSpec {
	c := h.child(id, rt)
	c.Significant = true
	return c
}

func TestAnySignificant(t *testing.T) {
	for _, tc := range []struct {
		restart supervisor.RestartType
		kind    exitKind
		stops   bool
	}{
		{supervisor.Transient, exitNil, true},
		{supervisor.Transient, exitShutdown, true},
		{supervisor.Transient, exitError, false}, // restarted
		{supervisor.Transient, exitDoNotRestart, true},
		{supervisor.Temporary, exitError, true},
		{supervisor.Temporary, exitPanic, true},
	} {
		t.Run(tc.restart.String()+"/"+tc.kind.String(), func(t *testing.T) {
			noLeaks(t)
			h := newHarness(t)
			spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), significant(h, "S", tc.restart), h.child("B", supervisor.Permanent))
			spec.AutoShutdown = supervisor.AnySignificant
			r := run(t, spec)
			h.waitEvent("start B", 1)
			h.exit("S", tc.kind)
			outcome := "exit S abnormal"
			if tc.kind.normal() {
				outcome = "exit S normal"
			}
			if !tc.stops {
				h.waitEvent("restart S", 1)
				if err := r.stop(t); err != nil {
					t.Fatal(err)
				}
				h.check("start A", "start S", "start B", outcome, "restarting S", "restart S", "stop B", "stop S", "stop A")
				return
			}
			err := r.result(t)
			var ee *supervisor.ExitError
			if !errors.As(err, &ee) || !errors.Is(err, supervisor.ErrShutdown) || ee.Child != "S" {
				t.Fatalf("Serve returned %v", err)
			}
			if errors.Is(err, supervisor.ErrDoNotRestart) {
				t.Error("the child's ErrDoNotRestart leaked into the supervisor's own exit")
			}
			if tc.kind == exitDoNotRestart && (!errors.Is(ee.Cause, supervisor.ErrDoNotRestart) || !strings.Contains(err.Error(), "fatal")) {
				t.Errorf("cause not kept: %v / %v", ee.Cause, err)
			}
			h.check("start A", "start S", "start B", outcome, "autoshutdown S", "stop B", "stop A")
		})
	}
}

func TestAllSignificant(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.RestForOne, significant(h, "S1", supervisor.Transient), h.child("A", supervisor.Permanent), significant(h, "S2", supervisor.Temporary))
	spec.AutoShutdown = supervisor.AllSignificant
	r := run(t, spec)
	h.waitEvent("start S2", 1)
	h.exit("S1", exitNil)
	h.waitEvent("exit S1 normal", 1)
	// S1 is gone for good; the supervisor stops when S2 is gone too.
	h.exit("S2", exitError)
	err := r.result(t)
	if !errors.Is(err, supervisor.ErrShutdown) {
		t.Fatalf("Serve returned %v", err)
	}
	h.check("start S1", "start A", "start S2", "exit S1 normal", "exit S2 abnormal", "autoshutdown S2", "stop A")
}

func TestTerminatingASignificantChildDoesNotShutDown(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.OneForOne, significant(h, "S", supervisor.Transient), h.child("A", supervisor.Permanent))
	spec.AutoShutdown = supervisor.AnySignificant
	r := run(t, spec)
	if err := r.sup.TerminateChild(ctxT(t), "S"); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.check("start S", "start A", "stop S", "stop A")
}

// A permanent child that asks not to be restarted keeps its spec and stays stopped.
func TestDoNotRestartPermanent(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	r := run(t, h.spec(supervisor.OneForAll, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent)))
	h.exit("A", exitDoNotRestart)
	h.waitEvent("exit A abnormal", 1)
	var exited supervisor.EventChildExited
	for _, e := range h.raw {
		if e, ok := e.(supervisor.EventChildExited); ok {
			exited = e
		}
	}
	if !errors.Is(exited.Err, supervisor.ErrDoNotRestart) || exited.Restart {
		t.Errorf("exit event %+v", exited)
	}
	if all, running := r.which(t); len(all) != 2 || len(running) != 1 || running[0] != "B" {
		t.Errorf("children %q running %q", all, running)
	}
	r.stop(t)
	h.check("start A", "start B", "exit A abnormal", "stop B")
}

func TestBackoff(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent))
	spec.Backoff = supervisor.Backoff{Initial: time.Second, Max: 3 * time.Second}
	r := run(t, spec)
	var delays []time.Duration
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		h.exit("A", exitError)
		h.waitEvent("restarting A", i+1)
		h.clock.waitTimerOf(t, d)
		// While waiting, A is restarting and the supervisor still answers.
		infos, err := r.sup.WhichChildren(ctxT(t))
		if err != nil || infos[0].State != supervisor.ChildRestarting {
			t.Fatalf("during backoff: %+v, %v", infos, err)
		}
		if err := r.sup.RestartChild(ctxT(t), "A"); !errors.Is(err, supervisor.ErrChildRunning) {
			t.Errorf("RestartChild during backoff: %v", err)
		}
		h.clock.Advance(d - 1)
		if infos, err := r.sup.WhichChildren(ctxT(t)); err != nil || infos[0].State != supervisor.ChildRestarting {
			t.Fatalf("before the delay ran out: %+v, %v", infos, err)
		}
		h.clock.Advance(1)
		h.waitEvent("restart A", i+1)
		delays = append(delays, d)
	}
	for _, e := range h.raw {
		if e, ok := e.(supervisor.EventChildRestarting); ok {
			if e.Delay != delays[0] {
				t.Errorf("restart delay %v, want %v", e.Delay, delays[0])
			}
			delays = delays[1:]
		}
	}
	r.stop(t)
}

func TestBackoffPendingRestartIsDroppedOnStopAndTerminate(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent))
	spec.Backoff = supervisor.Backoff{Initial: time.Hour}
	r := run(t, spec)
	h.exit("A", exitError)
	h.waitEvent("restarting A", 1)
	if err := r.sup.TerminateChild(ctxT(t), "A"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	h.exit("B", exitError)
	h.waitEvent("restarting B", 1)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	h.check("start A", "start B", "exit A abnormal", "restarting A", "exit B abnormal", "restarting B")
}

func TestBackoffJitterBounds(t *testing.T) {
	// The only randomness: each delay lies in [d, d×(1+Jitter)).
	spec := supervisor.Spec{Backoff: supervisor.Backoff{Initial: time.Second, Jitter: 0.5}}
	h := newHarness(t)
	spec.EventHook, spec.Clock, spec.Logger = h.hook, h.clock, quiet
	spec.MaxRestarts, spec.Period = 100, time.Minute
	spec.Children = []supervisor.ChildSpec{h.child("A", supervisor.Permanent)}
	r := run(t, spec)
	h.exit("A", exitError)
	h.waitEvent("restarting A", 1)
	r.stop(t)
	e := h.raw[2].(supervisor.EventChildRestarting)
	if e.Delay < time.Second || e.Delay >= 1500*time.Millisecond {
		t.Errorf("jittered delay %v", e.Delay)
	}
}

// A nested supervisor that reaches its intensity exits abnormally, and its parent
// restarts it (a fresh one, built by its ChildSpec).
func TestIntensityEscalatesToTheParent(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	sub := intensitySpec(h, supervisor.OneForOne, h.child("X", supervisor.Permanent))
	sub.Name = "sub"
	sub.MaxRestarts = -1
	top := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent), sub.ChildSpec())
	r := run(t, top)
	h.exit("X", exitError)
	h.waitEvent("restart sub", 1)
	r.stop(t)
	h.check("start A", "start X", "start sub", "exit X abnormal", "intensity X", "exit sub abnormal",
		"restarting sub", "start X", "restart sub", "stop X", "stop sub", "stop A")
}

type ctxKey struct{}

// Children's contexts carry Start's values, then Serve's, down a nested tree.
func TestChildContextValues(t *testing.T) {
	noLeaks(t)
	seen := make(chan any, 4)
	leaf := supervisor.ChildSpec{ID: "A", Start: func(context.Context) (supervisor.Service, error) {
		return supervisor.ServiceFunc(func(ctx context.Context) error {
			seen <- ctx.Value(ctxKey{})
			<-ctx.Done()
			seen <- ctx.Value(ctxKey{})
			return nil
		}), nil
	}}
	sub := supervisor.Spec{Name: "sub", Logger: quiet, Children: []supervisor.ChildSpec{leaf}}
	sup, err := supervisor.New(supervisor.Spec{Logger: quiet, Children: []supervisor.ChildSpec{sub.ChildSpec()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(context.WithValue(context.Background(), ctxKey{}, "start")); err != nil {
		t.Fatal(err)
	}
	if v := <-seen; v != "start" {
		t.Errorf("value during start: %v", v)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "serve"))
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	cancel()
	if v := <-seen; v != "serve" {
		t.Errorf("value while serving: %v", v)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A restart planned while another waits for its backoff supersedes it for the children
// they share, so rest_for_one's order holds.
func TestBackoffReplanKeepsOrder(t *testing.T) {
	noLeaks(t)
	h := newHarness(t)
	spec := h.spec(supervisor.RestForOne, h.child("A", supervisor.Permanent), h.child("B", supervisor.Permanent), h.child("C", supervisor.Permanent))
	spec.Backoff = supervisor.Backoff{Initial: time.Second}
	r := run(t, spec)
	h.exit("B", exitError)
	h.waitEvent("restarting B,C", 1)
	h.exit("A", exitError)
	h.waitEvent("restarting A,B,C", 1) // the second restart in the period: 2 s
	h.clock.waitTimerOf(t, 2*time.Second)
	h.clock.Advance(time.Second) // B's plan is due, but B and C now wait for A's
	if infos, err := r.sup.WhichChildren(ctxT(t)); err != nil || infos[1].State != supervisor.ChildRestarting || infos[2].State != supervisor.ChildRestarting {
		t.Fatalf("after 1s: %+v, %v", infos, err)
	}
	h.clock.Advance(time.Second)
	h.waitEvent("restart C", 1)
	r.stop(t)
	h.check("start A", "start B", "start C", "exit B abnormal", "restarting B,C", "stop C",
		"exit A abnormal", "restarting A,B,C", "restart A", "restart B", "restart C", "stop C", "stop B", "stop A")
}
