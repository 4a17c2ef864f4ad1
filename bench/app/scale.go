package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/supervisor"
)

// takeoverTrials: mike runs mybot (joe down); joe comes up and starts it; time from joe's
// start call to mike's Stop, next to joe's own start time (the new instance's Start takes
// 20 ms, as a tree with some children would).
func takeoverTrials(trials int) {
	var gap, total, own []time.Duration
	for i := range trials {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		em := startNode(ctx, mike)
		er := startNode(ctx, robert, em.Addr())
		pm, pr := newProbe(mike), newProbe(robert)
		cm := controller(em, mybotEntry(0), pm, "mybot")
		cr := controller(er, mybotEntry(0), pr, "mybot")
		startCtl(ctx, cm, "mybot")
		startCtl(ctx, cr, "mybot")
		if !waitWhere(ctx, []*app.Controller{cm, cr}, "mybot", mike) {
			fmt.Printf("  trial %2d: setup failed\n", i)
			cancel()
			continue
		}
		ej := startNode(ctx, joe, em.Addr())
		for len(ej.Nodes()) < 2 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		pj := newProbe(joe)
		pj.delay = 20 * time.Millisecond
		cj := controller(ej, mybotEntry(0), pj, "mybot")
		time.Sleep(50 * time.Millisecond) // let the hellos settle (the runtime's boot barrier)
		t0 := time.Now()
		err := cj.Start(ctx, "mybot", app.Permanent)
		t1 := time.Now()
		select {
		case t2 := <-pm.stopped:
			if err == nil {
				gap = append(gap, t2.Sub(t1))
				total = append(total, t2.Sub(t0))
				own = append(own, t1.Sub(t0))
				fmt.Printf("  trial %2d: start call → old Stop %6.1f ms (new instance's start %6.1f ms)\n", i, ms(t2.Sub(t0)), ms(t1.Sub(t0)))
			}
		case <-ctx.Done():
			fmt.Printf("  trial %2d: no stop (%v)\n", i, err)
		}
		shutdown(cj, cm, cr)
		closeAll(ej, em, er)
		cancel()
	}
	report("takeover: joe's start call → mike's Stop", total)
	report("takeover: joe's start returned (new instance started) → mike's Stop", gap)
	report("takeover: joe's start call → start returned", own)
}

// scale places apps distributed apps over nodes in-process nodes, then kills one node.
func scale(apps, nodes int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names := make([]dist.Node, nodes)
	for i := range names {
		names[i] = dist.Node(fmt.Sprintf("n%d@127.0.0.1", i))
	}
	var entries []app.Distributed
	var appNames []string
	for i := range apps {
		a := fmt.Sprintf("app%04d", i)
		appNames = append(appNames, a)
		entries = append(entries, app.Distributed{App: a, Nodes: [][]dist.Node{
			{names[i%nodes]}, {names[(i+1)%nodes], names[(i+2)%nodes]}}})
	}
	eps := []*dist.Endpoint{startNode(ctx, names[0])}
	for i := 1; i < nodes; i++ {
		eps = append(eps, startNode(ctx, names[i], eps[0].Addr()))
	}
	for _, e := range eps {
		for len(e.Nodes()) < nodes-1 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	ctls := make([]*app.Controller, nodes)
	probes := make([]*counter, nodes)
	for i, e := range eps {
		probes[i] = &counter{}
		ctls[i] = controller(e, entries, probes[i], appNames...)
	}
	t0 := time.Now() // the last node's controller is up
	var wg sync.WaitGroup
	for _, c := range ctls {
		for _, a := range appNames {
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Start(ctx, a, app.Permanent) }()
		}
	}
	placed := waitPlaced(ctx, ctls, appNames, nil)
	wg.Wait()
	fmt.Printf("scale: %d apps over %d nodes: all placed and seen by every node after %.1f ms, every start returned after %.1f ms\n",
		apps, nodes, ms(placed.Sub(t0)), ms(time.Since(t0)))
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	fmt.Printf("scale: heap growth %.1f MiB for %d controllers × %d apps: %.0f bytes per app per node (running or standby)\n",
		heap/(1<<20), nodes, apps, heap/float64(nodes*apps))

	// Kill node 0: its apps (Timeout 0) must run again elsewhere.
	var theirs []string
	for _, a := range appNames {
		if p, _ := ctls[1].Where(a); p.Node == names[0] {
			theirs = append(theirs, a)
		}
	}
	t1 := time.Now()
	ctls[0].Halt()
	_ = eps[0].Close(ctx) // leaves; a crash is detected as fast (see bench/dist)
	rest := ctls[1:]
	done := waitPlaced(ctx, rest, theirs, &names[0])
	fmt.Printf("scale: node n0 (running %d apps) closed: all of them running again on the others after %.1f ms\n",
		len(theirs), ms(done.Sub(t1)))
	shutdown(rest...)
	closeAll(eps[1:]...)
}

// waitPlaced waits until every controller sees each app running on a node other than not.
func waitPlaced(ctx context.Context, ctls []*app.Controller, apps []string, not *dist.Node) time.Time {
	last := time.Now()
	for ctx.Err() == nil {
		ok := true
		if os.Getenv("APP_BENCH_WHY") != "" && time.Since(last) > 5*time.Second {
			last = time.Now()
			for i, c := range ctls {
				for _, a := range apps {
					if p, _ := c.Where(a); p.State != "local" && p.State != "remote" {
						fmt.Fprintf(os.Stderr, "ctl %d %s: %s %s: %s\n", i, a, p.State, p.Decision, p.Reason)
						break
					}
				}
			}
		}
	check:
		for _, c := range ctls {
			where := map[string]dist.Node{} // one query per controller per round: Info
			for _, r := range c.Info().Running {
				where[r.Name] = r.Node
			}
			for _, a := range apps {
				if n := where[a]; n == "" || (not != nil && n == *not) {
					ok = false
					break check
				}
			}
		}
		if ok {
			return time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "scale: not placed before the deadline")
	return time.Now()
}

// counter is an App that does nothing but run.
type counter struct{}

func (c *counter) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
}
