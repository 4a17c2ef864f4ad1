package supervisor_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

var rewrite = flag.Bool("rewrite", false, "regenerate testdata/otp_matrix.golden by running testdata/otp_matrix.erl on Erlang/OTP")

const golden = "testdata/otp_matrix.golden"

// TestMatchesOTP runs the scenarios of TestStrategyMatrix (except ErrDoNotRestart,
// which OTP has not) and compares the sequence of child starts, exits and stops with
// the one Erlang/OTP's own supervisor produced (testdata/otp_matrix.golden, written by
// testdata/otp_matrix.erl). OTP stops simple_one_for_one children all at once, in no
// set order, so for that strategy the final stops are compared as a set.
func TestMatchesOTP(t *testing.T) {
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]exitKind{"nil": exitNil, "shutdown": exitShutdown, "error": exitError, "panic": exitPanic, "canceled": exitCanceled}
	strategies := map[string]supervisor.Strategy{"one_for_one": supervisor.OneForOne, "one_for_all": supervisor.OneForAll,
		"rest_for_one": supervisor.RestForOne, "simple_one_for_one": supervisor.SimpleOneForOne}
	types := map[string]supervisor.RestartType{"permanent": supervisor.Permanent, "transient": supervisor.Transient, "temporary": supervisor.Temporary}
	matrix, custom := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, seq, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		want := strings.Split(seq, ",")
		parts := strings.Split(name, "/")
		if len(parts) != 3 {
			c, ok := customScenarios[name]
			if !ok {
				t.Errorf("golden scenario %q is not in customScenarios", name)
				continue
			}
			custom++
			t.Run(name, func(t *testing.T) {
				noLeaks(t)
				if got := c.run(t); !slices.Equal(got, want) {
					t.Errorf("\n got  %q\n OTP  %q", got, want)
				}
			})
			continue
		}
		st, rt, k := strategies[parts[0]], types[parts[1]], kinds[parts[2]]
		matrix++
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			got := otpScenario(t, st, rt, k)
			if st == supervisor.SimpleOneForOne {
				sortStops(got)
				sortStops(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("\n got  %q\n OTP  %q", got, want)
			}
		})
	}
	if matrix != 60 || custom != len(customScenarios) {
		t.Errorf("%d matrix and %d other scenarios in %s, want 60 and %d", matrix, custom, golden, len(customScenarios))
	}
}

// sortStops sorts the trailing run of "stop" events.
func sortStops(evs []string) {
	i := len(evs)
	for i > 0 && strings.HasPrefix(evs[i-1], "stop ") {
		i--
	}
	slices.Sort(evs[i:])
}

// otpScenario: children a, b, c; b exits as k; the supervisor is stopped. It returns
// the starts, exits and stops, in the golden file's words.
func otpScenario(t *testing.T, st supervisor.Strategy, rt supervisor.RestartType, k exitKind) []string {
	h := newHarness(t)
	var spec supervisor.Spec
	if st == supervisor.SimpleOneForOne {
		spec = h.spec(st, supervisor.ChildSpec{ID: "tmpl", Restart: rt, Start: h.start("unused")})
	} else {
		spec = h.spec(st, h.child("a", rt), h.child("b", rt), h.child("c", rt))
	}
	r := run(t, spec)
	if st == supervisor.SimpleOneForOne {
		for _, id := range []string{"a", "b", "c"} {
			if _, err := r.sup.StartChild(ctxT(t), supervisor.ChildSpec{ID: id, Start: h.start(id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.exit("b", k)
	h.waitEvent("exit b "+map[bool]string{true: "normal", false: "abnormal"}[k.normal()], 1)
	// The exit is handled, restart included, before the supervisor answers this.
	if _, err := r.sup.WhichChildren(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	return otpWords(h.got())
}

// otpWords keeps the events that OTP's children report: starts, exits and stops.
func otpWords(evs []string) []string {
	var out []string
	for _, e := range evs {
		switch w, _, _ := strings.Cut(e, " "); w {
		case "start", "restart", "exit", "stop":
			out = append(out, e)
		}
	}
	return out
}

// otpChild is a child of a custom scenario.
type otpChild struct {
	id          string
	restart     supervisor.RestartType
	significant bool
	fails       bool // its start fails
}

// otpAction is what a custom scenario does: make a child exit, or terminate it.
type otpAction struct {
	id        string
	kind      exitKind
	terminate bool
}

// otpCustom is a scenario beyond the matrix; testdata/otp_matrix.erl has the same,
// under the same name.
type otpCustom struct {
	spec     func(s *supervisor.Spec)
	children []otpChild
	actions  []otpAction
}

func (c otpCustom) run(t *testing.T) []string {
	h := newHarness(t)
	var children []supervisor.ChildSpec
	for _, oc := range c.children {
		cs := h.child(oc.id, oc.restart)
		cs.Significant = oc.significant
		if oc.fails {
			cs.Start = func(context.Context) (supervisor.Service, error) { return nil, errBoom }
		}
		children = append(children, cs)
	}
	spec := h.spec(supervisor.OneForOne, children...)
	if c.spec != nil {
		c.spec(&spec)
	}
	sup, err := supervisor.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(ctxT(t)); err != nil {
		return otpWords(h.got()) // the start failed and was rolled back
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	exits := map[string]int{}
	for _, a := range c.actions {
		if a.terminate {
			if err := sup.TerminateChild(ctxT(t), a.id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h.exit(a.id, a.kind)
		ev := "exit " + a.id + map[bool]string{true: " normal", false: " abnormal"}[a.kind.normal()]
		exits[ev]++
		h.waitEvent(ev, exits[ev])
		// The exit is handled before the supervisor answers this (or it has stopped).
		if _, err := sup.WhichChildren(ctxT(t)); err != nil && !errors.Is(err, supervisor.ErrNotRunning) {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	return otpWords(h.got())
}

var (
	p, tr, te = supervisor.Permanent, supervisor.Transient, supervisor.Temporary
	abc       = []otpChild{{id: "a", restart: p}, {id: "b", restart: p}, {id: "c", restart: p}}
)

var customScenarios = map[string]otpCustom{
	"intensity": {spec: func(s *supervisor.Spec) { s.MaxRestarts, s.Period = 2, 10*time.Second },
		children: abc, actions: []otpAction{{id: "b", kind: exitError}, {id: "b", kind: exitError}, {id: "b", kind: exitError}}},
	"intensity_zero": {spec: func(s *supervisor.Spec) { s.MaxRestarts = -1 },
		children: abc[:2], actions: []otpAction{{id: "a", kind: exitError}}},
	"rollback": {children: []otpChild{{id: "a", restart: p}, {id: "b", restart: p}, {id: "c", restart: p, fails: true}}},
	"any_significant": {spec: func(s *supervisor.Spec) { s.AutoShutdown = supervisor.AnySignificant },
		children: []otpChild{{id: "a", restart: p}, {id: "b", restart: tr, significant: true}, {id: "c", restart: p}},
		actions:  []otpAction{{id: "b", kind: exitNil}}},
	"any_significant_abnormal": {spec: func(s *supervisor.Spec) { s.AutoShutdown = supervisor.AnySignificant },
		children: []otpChild{{id: "a", restart: p}, {id: "b", restart: tr, significant: true}, {id: "c", restart: p}},
		actions:  []otpAction{{id: "b", kind: exitError}}},
	"any_significant_terminated": {spec: func(s *supervisor.Spec) { s.AutoShutdown = supervisor.AnySignificant },
		children: []otpChild{{id: "a", restart: p}, {id: "b", restart: tr, significant: true}},
		actions:  []otpAction{{id: "b", terminate: true}}},
	"all_significant": {spec: func(s *supervisor.Spec) { s.AutoShutdown = supervisor.AllSignificant },
		children: []otpChild{{id: "a", restart: tr, significant: true}, {id: "b", restart: p}, {id: "c", restart: te, significant: true}},
		actions:  []otpAction{{id: "a", kind: exitNil}, {id: "c", kind: exitError}}},
	"one_for_all_temporary_sibling": {spec: func(s *supervisor.Spec) { s.Strategy = supervisor.OneForAll },
		children: []otpChild{{id: "a", restart: p}, {id: "b", restart: te}, {id: "c", restart: p}},
		actions:  []otpAction{{id: "c", kind: exitError}}},
	"rest_for_one_temporary_after": {spec: func(s *supervisor.Spec) { s.Strategy = supervisor.RestForOne },
		children: []otpChild{{id: "a", restart: p}, {id: "b", restart: p}, {id: "c", restart: te}},
		actions:  []otpAction{{id: "b", kind: exitError}}},
	"one_for_all_revives_terminated": {spec: func(s *supervisor.Spec) { s.Strategy = supervisor.OneForAll },
		children: abc[:2], actions: []otpAction{{id: "a", terminate: true}, {id: "b", kind: exitError}}},
	"transient_normal_then_one_for_all": {spec: func(s *supervisor.Spec) { s.Strategy = supervisor.OneForAll },
		children: []otpChild{{id: "a", restart: tr}, {id: "b", restart: p}},
		actions:  []otpAction{{id: "a", kind: exitShutdown}, {id: "b", kind: exitPanic}}},
}

// TestOTPGoldenIsCurrent re-runs testdata/otp_matrix.erl on Erlang/OTP and checks that
// it still prints the golden file (with -rewrite, it writes it). It needs erl and erlc.
func TestOTPGoldenIsCurrent(t *testing.T) {
	erl, err1 := exec.LookPath("erl")
	erlc, err2 := exec.LookPath("erlc")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("erl and erlc are needed to check testdata/otp_matrix.golden against Erlang/OTP (CI=true)")
		}
		t.Skip("SKIPPED: erl/erlc not found; the golden file of OTP's supervisor behaviour is not re-checked")
	}
	dir := t.TempDir()
	src, err := filepath.Abs("testdata/otp_matrix.erl")
	if err != nil {
		t.Fatal(err)
	}
	// Run in dir, so that a crash dump, if any, does not land in the package.
	compile := exec.Command(erlc, "-o", dir, src)
	compile.Dir = dir
	if out, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("erlc: %v\n%s", err, out)
	}
	runErl := exec.Command(erl, "-noshell", "-pa", dir, "-run", "otp_matrix", "main")
	runErl.Dir = dir
	out, err := runErl.Output()
	if err != nil {
		t.Fatalf("erl: %v\n%s", err, out)
	}
	if *rewrite {
		if err := os.WriteFile(filepath.FromSlash(golden), out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	got, exp := strings.Split(string(out), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(got), len(exp)) {
		g, e := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(exp) {
			e = exp[i]
		}
		if g != e {
			t.Errorf("line %d: Erlang/OTP now prints\n  %q\n%s has\n  %q", i+1, g, golden, e)
		}
	}
}
