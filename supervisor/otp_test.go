package supervisor_test

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	cases := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, seq, ok := strings.Cut(sc.Text(), ": ")
		parts := strings.Split(name, "/")
		if !ok || len(parts) != 3 {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		st, rt, k := strategies[parts[0]], types[parts[1]], kinds[parts[2]]
		want := strings.Split(seq, ",")
		cases++
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
	if cases != 60 {
		t.Errorf("%d scenarios in %s, want 60", cases, golden)
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
	var out []string
	for _, e := range h.got() {
		if !strings.HasPrefix(e, "restarting ") {
			out = append(out, e)
		}
	}
	return out
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
	if out, err := exec.Command(erlc, "-o", dir, "testdata/otp_matrix.erl").CombinedOutput(); err != nil {
		t.Fatalf("erlc: %v\n%s", err, out)
	}
	out, err := exec.Command(erl, "-noshell", "-pa", dir, "-run", "otp_matrix", "main").Output()
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
	if !bytes.Equal(out, want) {
		t.Errorf("Erlang/OTP now prints:\n%s\nwant (%s):\n%s", out, golden, want)
	}
}
