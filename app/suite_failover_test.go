package app

import (
	"errors"
	"testing"
	"time"
)

// Ports of OTP application_SUITE's failover cases (otp-dist-ac.md §4). Timeouts are scaled
// down 10x. Where OTP asserts a `normal` failover start, we assert Failover{From: dead}
// (deviation 1 of design.md).

func sp(node, st string) []string {
	return []string{node + " app_sp start " + st, node + " app_sp phase:init " + st, node + " app_sp phase:go " + st}
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// failover: app1 [cp1,cp2,cp3], app2 2000 [..], app_sp 1000 [{cp1,cp2},cp3] with phases.
func TestSuiteFailover(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{
		{App: "app1", Nodes: tiers("cp1", "cp2", "cp3")},
		{App: "app2", Timeout: 200 * time.Millisecond, Nodes: tiers("cp1", "cp2", "cp3")},
		{App: "app_sp", Timeout: 100 * time.Millisecond, Nodes: tiers("{cp1,cp2}", "cp3")},
	}})
	phased(cl, "app_sp")
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		cl.boot(n)
	}
	m := 0
	cl.startAll("app1", Permanent, "cp1", "cp2", "cp3")
	m = cl.r.expect(t, m, "cp1 app1 start normal@1")
	cl.startAll("app2", Permanent, "cp1", "cp2", "cp3")
	m = cl.r.expect(t, m, "cp1 app2 start normal@1")
	cl.waitWhere("cp3", "app2", "cp1")

	// Stop cp1: app1 (Timeout 0) then app2 (200 ms) fail over to cp2.
	// OTP: normal (app1/app2 have no start_phases); ours: Failover (deviation 1).
	cl.kill("cp1")
	m = cl.r.expect(t, m, "cp2 app1 start {failover,cp1}@2", "cp2 app2 start {failover,cp1}@2")

	// Restart cp1 and start: it takes both back.
	cl.boot("cp1")
	cl.start("cp1", "app1", Permanent)
	m = cl.r.expect(t, m, "cp1 app1 start {takeover,cp2}@3", "cp2 app1 prep_stop moved(cp1@h)", "cp2 app1 stop moved(cp1@h)")
	cl.start("cp1", "app2", Permanent)
	m = cl.r.expect(t, m, "cp1 app2 start {takeover,cp2}@3", "cp2 app2 prep_stop moved(cp1@h)", "cp2 app2 stop moved(cp1@h)")
	cl.waitWhere("cp2", "app2", "cp1")
	cl.waitWhere("cp3", "app2", "cp1")

	// app_sp goes to cp2: cp1 runs two applications, cp2 none.
	cl.startAll("app_sp", Permanent, "cp1", "cp2", "cp3")
	m = cl.r.expect(t, m, sp("cp2", "normal@1")...)
	cl.waitWhere("cp3", "app_sp", "cp2")

	// Stop cp2: app_sp fails over to cp1 with start phases (OTP: {failover,cp2} too).
	cl.kill("cp2")
	m = cl.r.expect(t, m, sp("cp1", "{failover,cp2}@2")...)
	cl.waitWhere("cp3", "app_sp", "cp1") // cp1's start has returned and been announced

	// Stop cp1: everything goes to cp3.
	cl.kill("cp1")
	m = cl.r.expectSet(t, m, cat([]string{"cp3 app1 start {failover,cp1}@4", "cp3 app2 start {failover,cp1}@4"},
		sp("cp3", "{failover,cp1}@3"))...)

	// Restart cp2 and start app_sp: takeover from cp3.
	cl.boot("cp2")
	cl.start("cp2", "app_sp", Permanent)
	m = cl.r.expect(t, m, cat(sp("cp2", "{takeover,cp3}@4"), []string{"cp3 app_sp prep_stop moved(cp2@h)", "cp3 app_sp stop moved(cp2@h)"})...)

	// Restart cp1 and start app_sp: same tier as cp2, it stays on cp2.
	cl.boot("cp1")
	cl.start("cp1", "app_sp", Permanent)
	cl.waitWhere("cp1", "app_sp", "cp2")
	cl.r.quiet(t, m, quietWindow)

	// A manual takeover on cp1 moves it.
	if err := cl.takeover("cp1", "app_sp", Permanent); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, cat(sp("cp1", "{takeover,cp2}@5"), []string{"cp2 app_sp prep_stop moved(cp1@h)", "cp2 app_sp stop moved(cp1@h)"})...)
	cl.r.epochsGrow(t)
}

// failover_comp: app3 1000 [{cp1,cp2},cp3] without start phases. OTP asserts every failover
// reports normal; ours report Failover (deviation 1).
func TestSuiteFailoverComp(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{
		{App: "app3", Timeout: 100 * time.Millisecond, Nodes: tiers("{cp1,cp2}", "cp3")},
	}})
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		cl.boot(n)
	}
	m := 0
	cl.startAll("app3", Permanent, "cp1", "cp2", "cp3")
	m = cl.r.expect(t, m, "cp1 app3 start normal@1") // equal weights: lowest name
	cl.waitWhere("cp3", "app3", "cp1")
	cl.kill("cp1")
	m = cl.r.expect(t, m, "cp2 app3 start {failover,cp1}@2")
	cl.waitWhere("cp3", "app3", "cp2")
	cl.boot("cp1")
	cl.start("cp1", "app3", Permanent)
	cl.waitWhere("cp1", "app3", "cp2")
	cl.r.quiet(t, m, quietWindow) // OTP watches 5 s; same tier: it does not move
	cl.kill("cp2")
	m = cl.r.expect(t, m, "cp1 app3 start {failover,cp2}@3")
	cl.waitWhere("cp3", "app3", "cp1")
	cl.boot("cp2")
	cl.start("cp2", "app3", Permanent)
	cl.waitWhere("cp2", "app3", "cp1")
	if err := cl.takeover("cp2", "app3", Permanent); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, "cp2 app3 start {takeover,cp1}@4", "cp1 app3 prep_stop moved(cp2@h)", "cp1 app3 stop moved(cp2@h)")
	if err := cl.takeover("cp2", "app3", Permanent); !errors.Is(err, ErrAlreadyRunningLocally) {
		t.Fatalf("second takeover: %v", err)
	}
	cl.r.epochsGrow(t)
}

// script_start: the boot script starts app1, app2 and app_sp on every node; cp1 boots first
// (sync timeout 1 ms in the suite), so it runs all three. Failovers report Failover where OTP
// reports normal for app1/app2 (deviation 1).
func TestSuiteScriptStart(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{
		{App: "app1", Nodes: tiers("cp1", "cp2", "cp3")},
		{App: "app2", Timeout: 200 * time.Millisecond, Nodes: tiers("cp1", "cp2", "cp3")},
		{App: "app_sp", Timeout: 100 * time.Millisecond, Nodes: tiers("{cp1,cp2}", "cp3")},
	}})
	phased(cl, "app_sp")
	apps := []string{"app1", "app2", "app_sp"}
	bootAndStart := func(n string) {
		cl.boot(n)
		for _, a := range apps {
			cl.start(n, a, Permanent)
		}
	}
	moved := func(app, from, to string) []string {
		return []string{from + " " + app + " prep_stop moved(" + to + "@h)", from + " " + app + " stop moved(" + to + "@h)"}
	}
	bootAndStart("cp1")
	m := cl.r.expect(t, 0, cat([]string{"cp1 app1 start normal@1", "cp1 app2 start normal@1"}, sp("cp1", "normal@1"))...)
	bootAndStart("cp2")
	bootAndStart("cp3")
	cl.waitWhere("cp3", "app_sp", "cp1")
	cl.r.quiet(t, m, quietWindow)

	cl.kill("cp1")
	m = cl.r.expectSet(t, m, cat([]string{"cp2 app1 start {failover,cp1}@2", "cp2 app2 start {failover,cp1}@2"},
		sp("cp2", "{failover,cp1}@2"))...)
	cl.waitWhere("cp3", "app2", "cp2")

	// cp1 reboots: it takes app1 and app2 back, not app_sp (same tier as cp2).
	bootAndStart("cp1")
	m = cl.r.expectSet(t, m, cat([]string{"cp1 app1 start {takeover,cp2}@3", "cp1 app2 start {takeover,cp2}@3"},
		moved("app1", "cp2", "cp1"), moved("app2", "cp2", "cp1"))...)
	cl.waitWhere("cp3", "app2", "cp1")
	cl.waitWhere("cp3", "app1", "cp1")
	cl.r.quiet(t, m, quietWindow)

	cl.kill("cp2")
	m = cl.r.expect(t, m, sp("cp1", "{failover,cp2}@3")...)
	cl.waitWhere("cp3", "app_sp", "cp1")

	cl.kill("cp1")
	m = cl.r.expectSet(t, m, cat([]string{"cp3 app1 start {failover,cp1}@4", "cp3 app2 start {failover,cp1}@4"},
		sp("cp3", "{failover,cp1}@4"))...)
	cl.waitWhere("cp3", "app2", "cp3")

	// cp2 reboots: it takes all three.
	bootAndStart("cp2")
	m = cl.r.expectSet(t, m, cat([]string{"cp2 app1 start {takeover,cp3}@5", "cp2 app2 start {takeover,cp3}@5"},
		sp("cp2", "{takeover,cp3}@5"), moved("app1", "cp3", "cp2"), moved("app2", "cp3", "cp2"), moved("app_sp", "cp3", "cp2"))...)
	cl.waitWhere("cp3", "app_sp", "cp2")
	cl.waitWhere("cp3", "app1", "cp2")
	cl.waitWhere("cp3", "app2", "cp2")

	// cp1 reboots: it takes app1 and app2; app_sp stays on cp2.
	bootAndStart("cp1")
	m = cl.r.expectSet(t, m, cat([]string{"cp1 app1 start {takeover,cp2}@6", "cp1 app2 start {takeover,cp2}@6"},
		moved("app1", "cp2", "cp1"), moved("app2", "cp2", "cp1"))...)
	cl.waitWhere("cp3", "app1", "cp1")
	cl.waitWhere("cp3", "app2", "cp1")
	cl.r.quiet(t, m, quietWindow)

	if err := cl.takeover("cp1", "app_sp", Permanent); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, cat(sp("cp1", "{takeover,cp2}@6"), moved("app_sp", "cp2", "cp1"))...)
	cl.r.epochsGrow(t)
	_ = m
}
