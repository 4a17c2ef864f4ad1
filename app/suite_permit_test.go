package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Ports of OTP application_SUITE's permission and start cases (otp-dist-ac.md §4).

// permissions: permissions [{app3,false}]; app1 [cp1,cp2,cp3], app3 5000 [{cp1,cp2},cp3].
func TestSuitePermissions(t *testing.T) {
	cl := newCluster(t, Config{
		Distributed: []Distributed{
			{App: "app1", Nodes: tiers("cp1", "cp2", "cp3")},
			{App: "app3", Timeout: 200 * time.Millisecond, Nodes: tiers("{cp1,cp2}", "cp3")},
		},
		Permissions: map[string]bool{"app3": false},
	})
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		cl.boot(n)
	}
	m := 0
	cl.startAll("app1", Permanent, "cp1", "cp2", "cp3")
	m = cl.r.expect(t, m, "cp1 app1 start normal@1")

	// permit false on the runner: the next node takes it over before permit returns.
	cl.permit("cp1", "app1", false)
	if p, _ := cl.ctl("cp1").Where("app1"); short(p.Node) != "cp2" {
		t.Fatalf("after permit false returned, cp1 sees app1 on %q", p.Node)
	}
	m = cl.r.expect(t, m, "cp2 app1 start {takeover,cp1}@2", "cp1 app1 prep_stop moved(cp2@h)", "cp1 app1 stop moved(cp2@h)")
	cl.permit("cp2", "app1", false)
	m = cl.r.expect(t, m, "cp3 app1 start {takeover,cp2}@3", "cp2 app1 prep_stop moved(cp3@h)", "cp2 app1 stop moved(cp3@h)")
	// permit true on cp2 (higher than cp3): back to cp2.
	cl.permit("cp2", "app1", true)
	m = cl.r.expect(t, m, "cp2 app1 start {takeover,cp3}@4", "cp3 app1 prep_stop moved(cp2@h)", "cp3 app1 stop moved(cp2@h)")

	// app3 is permitted nowhere: started everywhere, it runs nowhere.
	cl.startAll("app3", Permanent, "cp1", "cp2", "cp3")
	cl.r.quiet(t, m, quietWindow)
	cl.permit("cp3", "app3", true)
	m = cl.r.expect(t, m, "cp3 app3 start normal@1")
	cl.waitWhere("cp2", "app3", "cp3") // synchronisation point: cp2 knows where it runs
	cl.permit("cp2", "app3", true)
	m = cl.r.expect(t, m, "cp2 app3 start {takeover,cp3}@2", "cp3 app3 prep_stop moved(cp2@h)", "cp3 app3 stop moved(cp2@h)")
	cl.permit("cp1", "app3", true) // same tier as the runner: no move
	cl.waitWhere("cp1", "app3", "cp2")
	cl.r.quiet(t, m, quietWindow)
	cl.kill("cp2")
	// app3 to cp1 (OTP asserts this); app1 to cp3, as cp1 withdrew its permission for app1.
	m = cl.r.expectSet(t, m, "cp1 app3 start {failover,cp2}@3", "cp3 app1 start {failover,cp2}@5")
	cl.r.epochsGrow(t)
}

// permit_false_start_dist: permissions false for app1..app3 on every node.
func TestSuitePermitFalseStartDist(t *testing.T) {
	cl := newCluster(t, Config{
		Distributed: []Distributed{
			{App: "app1", Nodes: tiers("cp1", "cp2", "cp3")},
			{App: "app2", Timeout: 100 * time.Millisecond, Nodes: tiers("cp1", "cp2", "cp3")},
			{App: "app3", Timeout: 100 * time.Millisecond, Nodes: tiers("{cp1,cp2}", "cp3")},
		},
		Permissions: map[string]bool{"app1": false, "app2": false, "app3": false},
	})
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		cl.boot(n)
	}
	m := 0
	for _, a := range []string{"app1", "app2", "app3"} {
		cl.startAll(a, Permanent, "cp1", "cp2", "cp3")
	}
	cl.r.quiet(t, m, quietWindow) // nothing runs until permitted
	cl.permit("cp1", "app1", true)
	m = cl.r.expect(t, m, "cp1 app1 start normal@1")
	cl.permit("cp1", "app2", true)
	m = cl.r.expect(t, m, "cp1 app2 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1") // synchronisation point: cp2 knows where it runs
	cl.permit("cp2", "app1", true)     // lower priority than the runner: no move
	cl.waitWhere("cp3", "app2", "cp1")
	cl.r.quiet(t, m, quietWindow)

	// Stop cp1: app1 goes to cp2 (permitted there); app2, permitted only on cp1, runs nowhere.
	cl.kill("cp1")
	m = cl.r.expect(t, m, "cp2 app1 start {failover,cp1}@2")
	cl.r.quiet(t, m, quietWindow) // longer than app2's Timeout

	// cp1 comes back with permissions false: it runs nothing.
	cl.boot("cp1")
	for _, a := range []string{"app1", "app2", "app3"} {
		cl.start("cp1", a, Permanent)
	}
	cl.waitWhere("cp1", "app1", "cp2")
	cl.r.quiet(t, m, quietWindow)

	// app3: permit on cp3, then on cp1 (higher tier): it moves to cp1.
	cl.permit("cp3", "app3", true)
	m = cl.r.expect(t, m, "cp3 app3 start normal@1")
	cl.waitWhere("cp1", "app3", "cp3")
	cl.permit("cp1", "app3", true)
	m = cl.r.expect(t, m, "cp1 app3 start {takeover,cp3}@2", "cp3 app3 prep_stop moved(cp1@h)", "cp3 app3 stop moved(cp1@h)")
	// permit false on cp3 (standby), then on cp1 (runner, nobody else permitted): stopped.
	cl.permit("cp3", "app3", false)
	cl.permit("cp1", "app3", false)
	m = cl.r.expect(t, m, "cp1 app3 prep_stop stopped", "cp1 app3 stop stopped")
	cl.waitWhere("cp2", "app3", "")
	cl.r.quiet(t, m, quietWindow)
	cl.r.epochsGrow(t)
}

// nodedown_start: app1 [cp1,cp2]; start only on cp2 blocks while cp1 is up; cp1 goes down
// and cp2 starts it.
func TestSuiteNodedownStart(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Nodes: tiers("cp1", "cp2")}}})
	cl.boot("cp1")
	cl.boot("cp2")
	ch := cl.startAsync("cp2", "app1", Permanent)
	cl.r.quiet(t, 0, quietWindow)
	select {
	case err := <-ch:
		t.Fatalf("start on cp2 returned %v while cp1 is up and has not started it", err)
	default:
	}
	cl.kill("cp1")
	if err := recv(t, ch); err != nil {
		t.Fatal(err)
	}
	// It never ran on cp1, so this is a normal start (OTP too).
	cl.r.expect(t, 0, "cp2 app1 start normal@1")
}

// otp_2078: start on cp1 first, later on cp2: ok, and it runs only on cp1.
func TestSuiteOTP2078(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Nodes: tiers("cp1", "cp2")}}})
	cl.boot("cp1")
	cl.boot("cp2")
	cl.start("cp1", "app1", Permanent)
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.start("cp2", "app1", Permanent)
	if got := cl.running("cp2"); len(got) != 0 {
		t.Fatalf("cp2 runs %v", got)
	}
	if got := cl.running("cp1"); !slices.Equal(got, []string{"app1"}) {
		t.Fatalf("cp1 runs %v", got)
	}
	inf := cl.ctl("cp2").Info()
	if !slices.Contains(inf.Running, RunningInfo{Name: "app1", Node: node("cp1")}) {
		t.Fatalf("cp2 info: %+v", inf)
	}
	cl.r.quiet(t, m, quietWindow)
}

// otp_5606: three concurrent starts on cp1 and one on cp2 all return ok; a later start
// returns already_started.
func TestSuiteOTP5606(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Nodes: tiers("cp1", "cp2")}}})
	cl.boot("cp1")
	cl.boot("cp2")
	// cp1's start blocks until the four calls are queued on the application, so they are
	// concurrent with it whatever the scheduling.
	release := make(chan struct{})
	cl.nodes["cp1"].apps["app1"].onStart = func(ctx context.Context, st StartType) { <-release }
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, n := range []string{"cp1", "cp1", "cp1", "cp2"} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = cl.startErr(n, "app1", Permanent) }()
	}
	waitCond(t, func() bool {
		return pendingStarts(cl.ctl("cp1"), "app1") == 3 && pendingStarts(cl.ctl("cp2"), "app1") == 1
	})
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start #%d: %v", i, err)
		}
	}
	cl.r.expect(t, 0, "cp1 app1 start normal@1")
	err := cl.startErr("cp1", "app1", Permanent)
	if !errors.Is(err, ErrAlreadyStarted) || OTPName(err) != "already_started" {
		t.Fatalf("later start: %v", err)
	}
}

// otp_4227-like: a required application that is not started gives not_started naming it.
func TestRequiredApplications(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Halt()
	r := newRecorder()
	for _, s := range []Spec{
		{Name: "app9", App: &testApp{node: "n", name: "app9", r: r}, Env: map[string]any{"k": 1}},
		{Name: "app10", App: &testApp{node: "n", name: "app10", r: r}, Applications: []string{"app9"}, Included: []string{"app9"}},
	} {
		if err := c.Load(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	err = c.Start(ctx, "app10", Permanent)
	var ae *Error
	if !errors.Is(err, ErrNotStarted) || !errors.As(err, &ae) || ae.App != "app9" {
		t.Fatalf("start app10 before app9: %v", err)
	}
	if v, ok := c.Env("app10", "k"); !ok || v != 1 {
		t.Fatalf("included env through app10: %v %v", v, ok)
	}
	if err := c.Start(ctx, "app9", Temporary); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "app10", Temporary); err != nil {
		t.Fatal(err)
	}
	got := c.WhichApplications()
	if len(got) != 2 || got[0].Name != "app10" || got[1].Name != "app9" {
		t.Fatalf("which_applications: %+v", got)
	}
	if err := c.Unload(ctx, "app9"); !errors.Is(err, ErrRunning) {
		t.Fatalf("unload running: %v", err)
	}
	if err := c.Start(ctx, "nope", Temporary); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("start not loaded: %v", err)
	}
	if err := c.Stop(ctx, "app10"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, 0, "n app9 start normal@0", "n app10 start normal@0", "n app10 prep_stop stopped", "n app10 stop stopped")
}

func pendingStarts(c *Controller, app string) int {
	n := 0
	_ = c.query(func() {
		if a := c.core.apps[app]; a != nil {
			n = len(a.startReqs)
		}
	})
	return n
}

func waitCond(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for a condition")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
