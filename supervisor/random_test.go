package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

// TestRandomOperations drives supervisors of every strategy with random sequences of
// exits, terminates, restarts, deletes and starts, and checks after each step that the
// children the supervisor reports running are exactly the services inside Serve, that
// every error is one the API documents, and (noLeaks) that nothing is left at the end.
func TestRandomOperations(t *testing.T) {
	for _, st := range []supervisor.Strategy{supervisor.OneForOne, supervisor.OneForAll, supervisor.RestForOne, supervisor.SimpleOneForOne} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/%d", st, seed), func(t *testing.T) {
				noLeaks(t)
				randomRun(t, st, rand.New(rand.NewPCG(seed, 42)))
			})
		}
	}
}

func randomRun(t *testing.T, st supervisor.Strategy, rng *rand.Rand) {
	h := newHarness(t)
	inside := newGauge()
	types := []supervisor.RestartType{supervisor.Permanent, supervisor.Transient, supervisor.Temporary}
	next := 0
	newChild := func() supervisor.ChildSpec {
		next++
		id := fmt.Sprintf("c%d", next)
		ch := h.cmd(id)
		return supervisor.ChildSpec{ID: id, Restart: types[rng.IntN(3)], Start: func(context.Context) (supervisor.Service, error) {
			return supervisor.ServiceFunc(func(ctx context.Context) error {
				inside.add(1)
				defer inside.add(-1)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case k := <-ch:
					return k.do()
				}
			}), nil
		}}
	}
	var spec supervisor.Spec
	if st == supervisor.SimpleOneForOne {
		spec = h.spec(st, supervisor.ChildSpec{Restart: types[rng.IntN(3)], Start: h.start("unused")})
	} else {
		spec = h.spec(st, newChild(), newChild(), newChild(), newChild())
	}
	spec.MaxRestarts = 1 << 30
	r := run(t, spec)
	ctx := ctxT(t)
	exits := map[string]int{}
	for step := 0; step < 120; step++ {
		infos, err := r.sup.WhichChildren(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var all, running []string
		for _, ci := range infos {
			all = append(all, ci.ID)
			if ci.State == supervisor.ChildRunning {
				running = append(running, ci.ID)
			}
		}
		inside.wait(t, len(running))
		pick := func(ids []string) string {
			if len(ids) == 0 {
				return "none"
			}
			return ids[rng.IntN(len(ids))]
		}
		switch op := rng.IntN(6); {
		case op <= 1 && len(running) > 0:
			id := pick(running)
			k := []exitKind{exitNil, exitShutdown, exitError, exitPanic, exitCanceled, exitDoNotRestart}[rng.IntN(6)]
			h.exit(id, k)
			ev := "exit " + id + map[bool]string{true: " normal", false: " abnormal"}[k.normal()]
			exits[ev]++
			h.waitEvent(ev, exits[ev])
		case op == 2:
			expect(t, r.sup.TerminateChild(ctx, pick(all)), supervisor.ErrChildNotFound)
		case op == 3:
			expect(t, r.sup.RestartChild(ctx, pick(all)), supervisor.ErrChildRunning, supervisor.ErrChildNotFound, supervisor.ErrNotSupported)
		case op == 4:
			expect(t, r.sup.DeleteChild(ctx, pick(all)), supervisor.ErrChildRunning, supervisor.ErrChildNotFound, supervisor.ErrNotSupported)
		default:
			_, err := r.sup.StartChild(ctx, newChild())
			expect(t, err)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if n := inside.get(); n != 0 {
		t.Errorf("%d services still inside Serve after the stop", n)
	}
}

// gauge counts the services inside Serve and tells when the count changes.
type gauge struct {
	mu      sync.Mutex
	n       int
	changed chan struct{}
}

func newGauge() *gauge { return &gauge{changed: make(chan struct{})} }

func (g *gauge) add(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += d
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *gauge) get() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// wait waits until n services are inside Serve: a restarted child's goroutine may not
// have entered Serve yet when the supervisor reports it running.
func (g *gauge) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(wait)
	for {
		g.mu.Lock()
		cur, changed := g.n, g.changed
		g.mu.Unlock()
		if cur == n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d services inside Serve, the supervisor reports %d running", cur, n)
		}
	}
}

// expect fails unless err is nil or matches one of the allowed errors.
func expect(t *testing.T, err error, allowed ...error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}
