package app

import (
	"context"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/dist/disttest"
)

// The same controllers over real dist endpoints (loopback sockets, dist/disttest): the
// playtest and a partition that heals.

type distNodes struct {
	t    *testing.T
	dc   *disttest.Cluster
	r    *recorder
	cfg  Config
	ctls []*Controller
	apps []*testApp
}

func newDistNodes(t *testing.T, names []string, cfg Config) *distNodes {
	var nodes []dist.Node
	for _, n := range names {
		nodes = append(nodes, dist.Node(n+"@127.0.0.1"))
	}
	dn := &distNodes{t: t, dc: disttest.NewCluster(t, disttest.Options{Names: nodes}), r: newRecorder(), cfg: cfg,
		ctls: make([]*Controller, len(names)), apps: make([]*testApp, len(names))}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := dn.dc.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range dn.ctls {
			if c != nil {
				c.Halt()
			}
		}
	})
	for i := range names {
		dn.startCtl(i)
	}
	return dn
}

func (dn *distNodes) startCtl(i int) {
	cfg := dn.cfg
	cfg.Network = dn.dc.Node(i)
	cfg.Logger = newCluster(dn.t, Config{}).log
	c, err := New(cfg)
	if err != nil {
		dn.t.Fatal(err)
	}
	dn.ctls[i] = c
	dn.apps[i] = &testApp{node: dn.dc.Name(i), name: cfg.Distributed[0].App, r: dn.r}
	if err := c.Load(Spec{Name: dn.apps[i].name, App: dn.apps[i]}); err != nil {
		dn.t.Fatal(err)
	}
}

func (dn *distNodes) start(i int, app string) <-chan error {
	ch := make(chan error, 1)
	c := dn.ctls[i]
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		ch <- c.Start(ctx, app, Permanent)
	}()
	return ch
}

func (dn *distNodes) waitWhere(i int, app, runner string) {
	dn.t.Helper()
	waitCond(dn.t, func() bool {
		p, err := dn.ctls[i].Where(app)
		return err == nil && short(p.Node) == runner && (p.State == "local" || p.State == "remote" || (runner == "" && p.State == "idle"))
	})
}

func TestDistPlaytest(t *testing.T) {
	dn := newDistNodes(t, []string{"joe", "mike", "robert"}, Config{Distributed: []Distributed{
		{App: "mybot", Timeout: 200 * time.Millisecond, Nodes: [][]dist.Node{{"joe@127.0.0.1"}, {"mike@127.0.0.1", "robert@127.0.0.1"}}},
	}})
	chs := []<-chan error{dn.start(1, "mybot"), dn.start(2, "mybot"), dn.start(0, "mybot")}
	for _, ch := range chs {
		if err := recv(t, ch); err != nil {
			t.Fatal(err)
		}
	}
	m := dn.r.expect(t, 0, "joe mybot start normal@1")
	dn.waitWhere(1, "mybot", "joe")
	dn.waitWhere(2, "mybot", "joe")

	dn.dc.Kill(0)
	dn.ctls[0].Halt()
	m = dn.r.expect(t, m, "mike mybot start {failover,joe}@2")
	dn.waitWhere(2, "mybot", "mike")

	dn.dc.Restart(0)
	// The runtime passes the boot barrier before starting applications; here: converge.
	ctx0, cancel0 := context.WithTimeout(context.Background(), waitLimit)
	defer cancel0()
	if err := dn.dc.WaitConverged(ctx0); err != nil {
		t.Fatal(err)
	}
	dn.startCtl(0)
	if err := recv(t, dn.start(0, "mybot")); err != nil {
		t.Fatal(err)
	}
	m = dn.r.expect(t, m, "joe mybot start {takeover,mike}@3", "mike mybot prep_stop moved(joe@127.0.0.1)", "mike mybot stop moved(joe@127.0.0.1)")
	dn.waitWhere(2, "mybot", "joe")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := dn.ctls[2].Takeover(ctx, "mybot", Permanent); err != nil {
		t.Fatal(err)
	}
	m = dn.r.expect(t, m, "robert mybot start {takeover,joe}@4", "joe mybot prep_stop moved(robert@127.0.0.1)", "joe mybot stop moved(robert@127.0.0.1)")
	dn.r.quiet(t, m, quietWindow)
	dn.r.epochsGrow(t)
}

func TestDistPartitionHeals(t *testing.T) {
	dn := newDistNodes(t, []string{"cp1", "cp2"}, Config{Distributed: []Distributed{
		{App: "app1", Nodes: [][]dist.Node{{"cp1@127.0.0.1"}, {"cp2@127.0.0.1"}}},
	}})
	for _, ch := range []<-chan error{dn.start(1, "app1"), dn.start(0, "app1")} {
		if err := recv(t, ch); err != nil {
			t.Fatal(err)
		}
	}
	m := dn.r.expect(t, 0, "cp1 app1 start normal@1")
	dn.waitWhere(1, "app1", "cp1")
	dn.dc.Partition([]int{0}, []int{1})
	m = dn.r.expect(t, m, "cp2 app1 start {failover,cp1}@2")
	dn.dc.Heal()
	m = dn.r.expect(t, m, "cp2 app1 prep_stop moved(cp1@127.0.0.1)", "cp2 app1 stop moved(cp1@127.0.0.1)")
	dn.waitWhere(1, "app1", "cp1")
	dn.r.quiet(t, m, quietWindow)
}
