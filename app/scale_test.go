package app

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gotp/gotp/dist"
)

// Many applications over several nodes on the in-memory mesh: all are placed, each on the
// node its walk and election choose, and after a node dies its applications run elsewhere.
func TestScaleManyApps(t *testing.T) {
	const apps, nodes = 100, 5
	names := []string{"n0", "n1", "n2", "n3", "n4"}
	var entries []Distributed
	for i := range apps {
		entries = append(entries, Distributed{App: fmt.Sprintf("app%03d", i), Nodes: tiers(
			names[i%nodes], "{"+names[(i+1)%nodes]+","+names[(i+2)%nodes]+"}")})
	}
	cl := newCluster(t, Config{Distributed: entries})
	for _, n := range names {
		cl.boot(n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, apps*nodes)
	for _, n := range names {
		for _, e := range entries {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- cl.startErr(n, e.App, Permanent) }()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range entries {
		for _, n := range names {
			cl.waitWhere(n, e.App, names[i%nodes])
		}
	}
	cl.kill("n0")
	for i, e := range entries {
		if i%nodes != 0 {
			continue
		}
		// Tier 2 {n1,n2}: the election picks one; every survivor agrees.
		var p Placement
		waitCond(t, func() bool {
			p, _ = cl.ctl("n3").Where(e.App)
			return (p.Node == node("n1") || p.Node == node("n2")) && p.State == "remote"
		})
		if p.StartType.Kind != KindFailover || p.StartType.From != dist.Node("n0@h") {
			t.Fatalf("%s: %+v", e.App, p)
		}
		for _, n := range []string{"n1", "n2", "n4"} {
			cl.waitWhere(n, e.App, short(p.Node))
		}
	}
}
