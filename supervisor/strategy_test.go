package supervisor_test

import (
	"slices"
	"testing"

	"github.com/gotp/gotp/supervisor"
)

// restarted is OTP's restart decision, written out as a table for the tests.
func restarted(rt supervisor.RestartType, k exitKind) bool {
	if k == exitDoNotRestart {
		return false
	}
	switch rt {
	case supervisor.Permanent:
		return true
	case supervisor.Transient:
		return !k.normal()
	}
	return false
}

// TestStrategyMatrix: for every strategy, restart type and exit kind, the middle child
// of three (A, B, C) exits, and the exact sequence of starts and stops is checked, up
// to and including the final stop of the tree.
func TestStrategyMatrix(t *testing.T) {
	strategies := []supervisor.Strategy{supervisor.OneForOne, supervisor.OneForAll, supervisor.RestForOne, supervisor.SimpleOneForOne}
	types := []supervisor.RestartType{supervisor.Permanent, supervisor.Transient, supervisor.Temporary}
	kinds := []exitKind{exitNil, exitShutdown, exitError, exitPanic, exitCanceled, exitDoNotRestart}
	for _, st := range strategies {
		for _, rt := range types {
			for _, k := range kinds {
				t.Run(st.String()+"/"+rt.String()+"/"+k.String(), func(t *testing.T) {
					testMatrixCase(t, st, rt, k)
				})
			}
		}
	}
}

func testMatrixCase(t *testing.T, st supervisor.Strategy, rt supervisor.RestartType, k exitKind) {
	noLeaks(t)
	h := newHarness(t)
	ids := []string{"A", "B", "C"}
	var spec supervisor.Spec
	if st == supervisor.SimpleOneForOne {
		spec = h.spec(st, supervisor.ChildSpec{ID: "tmpl", Restart: rt, Start: h.start("unused")})
	} else {
		spec = h.spec(st, h.child("A", rt), h.child("B", rt), h.child("C", rt))
	}
	r := run(t, spec)
	if st == supervisor.SimpleOneForOne {
		for _, id := range ids {
			got, err := r.sup.StartChild(ctxT(t), supervisor.ChildSpec{ID: id, Start: h.start(id)})
			if err != nil || got != id {
				t.Fatalf("StartChild(%s) = %q, %v", id, got, err)
			}
		}
	}
	want := []string{"start A", "start B", "start C"}
	h.waitEvent("start C", 1)

	h.exit("B", k)
	outcome := "normal"
	if !k.normal() {
		outcome = "abnormal"
	}
	want = append(want, "exit B "+outcome)
	alive := []string{"A", "B", "C"}
	if restarted(rt, k) {
		switch st {
		case supervisor.OneForAll:
			want = append(want, "restarting A,B,C", "stop C", "stop A", "restart A", "restart B", "restart C")
		case supervisor.RestForOne:
			want = append(want, "restarting B,C", "stop C", "restart B", "restart C")
		default:
			want = append(want, "restarting B", "restart B")
		}
		h.waitEvent(want[len(want)-1], 1)
	} else {
		alive = []string{"A", "C"}
		h.waitEvent(want[len(want)-1], 1)
	}

	// The table: a child not restarted stays as a stopped spec, except temporary and
	// dynamic children, which are removed.
	infos, err := r.sup.WhichChildren(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var listed, running []string
	for _, ci := range infos {
		listed = append(listed, ci.ID)
		if ci.State == supervisor.ChildRunning {
			running = append(running, ci.ID)
		}
	}
	wantListed := ids
	if !restarted(rt, k) && (rt == supervisor.Temporary || st == supervisor.SimpleOneForOne) {
		wantListed = []string{"A", "C"}
	}
	if !slices.Equal(listed, wantListed) || !slices.Equal(running, alive) {
		t.Errorf("children %q running %q, want %q running %q", listed, running, wantListed, alive)
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	stops := []string{"stop C", "stop B", "stop A"}
	if !slices.Contains(alive, "B") {
		stops = []string{"stop C", "stop A"}
	}
	if st == supervisor.SimpleOneForOne {
		// OTP stops dynamic children all at once; the events follow start order.
		slices.Reverse(stops)
	}
	h.check(append(want, stops...)...)
}
