package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/app/apptest"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/supervisor"
)

// The multi-node harness: several controllers over an apptest.Net in one process, and a
// recorder of every callback (node, app, callback, start type, from, epoch).

const waitLimit = 20 * time.Second // generous: -race on a loaded 2-core machine

// rec is one callback seen by the recorder.
type rec struct {
	Node  string // short name
	App   string
	CB    string // start, phase:NAME, prep_stop, stop, handoff_aborted
	Kind  StartKind
	From  string // short name
	Epoch uint64
	Why   string // stop reason
}

func (r rec) String() string {
	switch {
	case r.CB == "start" || strings.HasPrefix(r.CB, "phase:"):
		st := r.Kind.String()
		if r.Kind != KindNormal {
			st = "{" + st + "," + r.From + "}"
		}
		return fmt.Sprintf("%s %s %s %s@%d", r.Node, r.App, r.CB, st, r.Epoch)
	case r.Why != "":
		return fmt.Sprintf("%s %s %s %s", r.Node, r.App, r.CB, r.Why)
	}
	return fmt.Sprintf("%s %s %s", r.Node, r.App, r.CB)
}

type recorder struct {
	mu     sync.Mutex
	recs   []rec
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{})} }

func (r *recorder) add(x rec) {
	r.mu.Lock()
	r.recs = append(r.recs, x)
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]rec, chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs), r.notify
}

// waitLen waits until at least n records exist and returns them.
func (r *recorder) waitLen(t *testing.T, n int) []rec {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		recs, ch := r.snapshot()
		if len(recs) >= n {
			return recs
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d callbacks; have %d:\n%s", n, len(recs), fmtRecs(recs))
		}
	}
}

// expect waits for the next records after mark and checks they are exactly want (strings as
// rec.String renders them, compared as a sequence), returning the new mark.
func (r *recorder) expect(t *testing.T, mark int, want ...string) int {
	t.Helper()
	recs := r.waitLen(t, mark+len(want))
	got := recs[mark : mark+len(want)]
	var gs []string
	for _, g := range got {
		gs = append(gs, g.String())
	}
	if !slices.Equal(gs, want) {
		t.Fatalf("callbacks after #%d:\n got: %q\nwant: %q\nall:\n%s", mark, gs, want, fmtRecs(recs))
	}
	return mark + len(want)
}

// quiet asserts that no callback happens within d after the current point (a bounded "did
// not move" window after a synchronisation point).
func (r *recorder) quiet(t *testing.T, mark int, d time.Duration) {
	t.Helper()
	time.Sleep(d) // absence can only be observed over a window
	recs, _ := r.snapshot()
	if len(recs) > mark {
		t.Fatalf("unexpected callbacks after #%d:\n%s", mark, fmtRecs(recs[mark:]))
	}
}

// epochsGrow checks that the epochs of the start records of each app strictly increase.
func (r *recorder) epochsGrow(t *testing.T) {
	t.Helper()
	recs, _ := r.snapshot()
	last := map[string]uint64{}
	for _, x := range recs {
		if x.CB != "start" {
			continue
		}
		if x.Epoch <= last[x.App] {
			t.Fatalf("epoch of %s did not grow: %s after epoch %d\n%s", x.App, x, last[x.App], fmtRecs(recs))
		}
		last[x.App] = x.Epoch
	}
}

func fmtRecs(recs []rec) string {
	var b strings.Builder
	for i, x := range recs {
		fmt.Fprintf(&b, "  #%d %s\n", i, x)
	}
	return b.String()
}

func short(n dist.Node) string { return n.Name() }

// testApp is an application that records its callbacks.
type testApp struct {
	node   dist.Node
	name   string
	r      *recorder
	phases []string
	// hooks
	startErr  func(st StartType) error
	onStart   func(ctx context.Context, st StartType)
	handoff   []byte
	exitCh    chan error // when set, Serve returns the error sent here
	serveHook func(ctx context.Context)
}

func (a *testApp) Start(ctx context.Context, st StartType) (supervisor.Service, error) {
	a.r.add(rec{Node: short(a.node), App: a.name, CB: "start", Kind: st.Kind, From: short(st.From), Epoch: st.Epoch})
	if got, ok := StartTypeFrom(ctx); !ok || got != st {
		return nil, fmt.Errorf("StartTypeFrom during start = %v %v, want %v", got, ok, st)
	}
	if a.onStart != nil {
		a.onStart(ctx, st)
	}
	if a.startErr != nil {
		if err := a.startErr(st); err != nil {
			return nil, err
		}
	}
	exit := a.exitCh
	serveHook := a.serveHook
	return supervisor.ServiceFunc(func(ctx context.Context) error {
		if serveHook != nil {
			serveHook(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-exit:
			return err
		}
	}), nil
}

func (a *testApp) PrepStop(ctx context.Context, r StopReason) {
	why := r.String()
	if got, ok := StopReasonFrom(ctx); !ok || got != r {
		why = fmt.Sprintf("StopReasonFrom=%v,%v but PrepStop got %v", got, ok, r)
	}
	a.r.add(rec{Node: short(a.node), App: a.name, CB: "prep_stop", Why: why})
}

func (a *testApp) Stop(ctx context.Context, r StopReason) {
	a.r.add(rec{Node: short(a.node), App: a.name, CB: "stop", Why: r.String()})
}

func (a *testApp) HandoffAborted(ctx context.Context) {
	a.r.add(rec{Node: short(a.node), App: a.name, CB: "handoff_aborted"})
}

func (a *testApp) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	return a.handoff, nil
}

// phasedApp adds start phases.
type phasedApp struct{ *testApp }

func (a phasedApp) StartPhases() []string { return a.phases }

func (a phasedApp) StartPhase(ctx context.Context, phase string, st StartType) error {
	a.r.add(rec{Node: short(a.node), App: a.name, CB: "phase:" + phase, Kind: st.Kind, From: short(st.From), Epoch: st.Epoch})
	return nil
}

// cluster is a set of test nodes on one in-memory mesh.
type cluster struct {
	t     *testing.T
	net   *apptest.Net
	r     *recorder
	cfg   Config // template: Distributed, Permissions, StartWait
	nodes map[string]*tnode
	// appFor builds the App of an application on a node (default: a plain testApp).
	appFor func(node dist.Node, name string) App
	log    *slog.Logger
}

type tnode struct {
	name dist.Node
	ep   *apptest.Endpoint
	ctl  *Controller
	apps map[string]*testApp
	dead bool
}

func node(s string) dist.Node { return dist.Node(s + "@h") }

func tiers(spec ...string) [][]dist.Node {
	var out [][]dist.Node
	for _, t := range spec {
		var tier []dist.Node
		for _, n := range strings.Split(strings.Trim(t, "{}"), ",") {
			tier = append(tier, node(n))
		}
		out = append(out, tier)
	}
	return out
}

func newCluster(t *testing.T, cfg Config) *cluster {
	cl := &cluster{t: t, net: apptest.New(), r: newRecorder(), cfg: cfg, nodes: map[string]*tnode{},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		cl.log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	t.Cleanup(func() {
		for _, n := range cl.nodes {
			n.ctl.Halt()
		}
		cl.net.Close()
	})
	return cl
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// boot starts (or restarts) a node and loads every distributed application of the config.
func (cl *cluster) boot(name string, mod ...func(*Config)) *tnode {
	cl.t.Helper()
	if old := cl.nodes[name]; old != nil {
		old.ctl.Halt()
	}
	ep, err := cl.net.Add(node(name))
	if err != nil {
		cl.t.Fatal(err)
	}
	cfg := cl.cfg
	cfg.Network = ep
	cfg.Logger = cl.log
	for _, m := range mod {
		m(&cfg)
	}
	ctl, err := New(cfg)
	if err != nil {
		cl.t.Fatal(err)
	}
	n := &tnode{name: node(name), ep: ep, ctl: ctl, apps: map[string]*testApp{}}
	for _, d := range cfg.Distributed {
		ta := &testApp{node: n.name, name: d.App, r: cl.r}
		n.apps[d.App] = ta
		var a App = ta
		if cl.appFor != nil {
			a = cl.appFor(n.name, d.App)
			if x, ok := a.(*testApp); ok {
				n.apps[d.App] = x
			} else if x, ok := a.(phasedApp); ok {
				n.apps[d.App] = x.testApp
			}
		}
		if err := ctl.Load(Spec{Name: d.App, App: a}); err != nil {
			cl.t.Fatal(err)
		}
	}
	cl.nodes[name] = n
	cl.meshed()
	return n
}

// meshed waits until every live node's controller has said hello with every other one (the
// runtime's boot barrier plays this part for real nodes).
func (cl *cluster) meshed() {
	cl.t.Helper()
	var live []*tnode
	for _, n := range cl.nodes {
		if !n.dead {
			live = append(live, n)
		}
	}
	waitCond(cl.t, func() bool {
		for _, a := range live {
			ok := true
			_ = a.ctl.query(func() {
				for _, b := range live {
					if a != b && !a.ctl.core.known[b.name] {
						ok = false
					}
				}
			})
			if !ok {
				return false
			}
		}
		return true
	})
}

// kill makes a node die abruptly (no callbacks), as SIGKILL.
func (cl *cluster) kill(name string) {
	n := cl.nodes[name]
	n.dead = true
	cl.net.Kill(n.name)
	n.ctl.Halt()
}

func (cl *cluster) ctl(name string) *Controller { return cl.nodes[name].ctl }

// start calls Start on a node and fails the test on error.
func (cl *cluster) start(name, app string, rt RestartType) {
	cl.t.Helper()
	if err := cl.startErr(name, app, rt); err != nil {
		cl.t.Fatalf("start %s on %s: %v", app, name, err)
	}
}

func (cl *cluster) startErr(name, app string, rt RestartType) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return cl.ctl(name).Start(ctx, app, rt)
}

// startAsync calls Start on a goroutine (OTP's rpc:cast) and returns its result channel.
func (cl *cluster) startAsync(name, app string, rt RestartType) <-chan error {
	ch := make(chan error, 1)
	c := cl.ctl(name)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		ch <- c.Start(ctx, app, rt)
	}()
	return ch
}

func recv(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for a call to return")
		return nil
	}
}

// where waits until node's view of app matches runner (short name, "" = runs nowhere).
func (cl *cluster) waitWhere(name, app, runner string) Placement {
	cl.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		p, err := cl.ctl(name).Where(app)
		if err == nil && short(p.Node) == runner && p.State != "deciding" && p.State != "starting" && p.State != "stopping" {
			return p
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("%s: where(%s) = %+v, %v; want runner %q", name, app, p, err, runner)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (cl *cluster) running(name string) []string {
	var out []string
	for _, a := range cl.ctl(name).WhichApplications() {
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

var errBoom = errors.New("boom")

// expectSet is expect for records whose order is not defined (concurrent timers on
// different applications): the next len(want) records, compared as a multiset.
func (r *recorder) expectSet(t *testing.T, mark int, want ...string) int {
	t.Helper()
	recs := r.waitLen(t, mark+len(want))
	var gs []string
	for _, g := range recs[mark : mark+len(want)] {
		gs = append(gs, g.String())
	}
	w := slices.Clone(want)
	slices.Sort(gs)
	slices.Sort(w)
	if !slices.Equal(gs, w) {
		t.Fatalf("callbacks after #%d (any order):\n got: %q\nwant: %q\nall:\n%s", mark, gs, w, fmtRecs(recs))
	}
	return mark + len(want)
}

// startAll starts app on every named node concurrently (the standbys block until the runner
// started it) and checks that every call returns nil.
func (cl *cluster) startAll(app string, rt RestartType, names ...string) {
	cl.t.Helper()
	var chs []<-chan error
	for _, n := range names {
		chs = append(chs, cl.startAsync(n, app, rt))
	}
	for i, ch := range chs {
		if err := recv(cl.t, ch); err != nil {
			cl.t.Fatalf("start %s on %s: %v", app, names[i], err)
		}
	}
}

func (cl *cluster) permit(name, app string, on bool) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := cl.ctl(name).Permit(ctx, app, on); err != nil {
		cl.t.Fatalf("permit(%s, %t) on %s: %v", app, on, name, err)
	}
}

func (cl *cluster) takeover(name, app string, rt RestartType) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return cl.ctl(name).Takeover(ctx, app, rt)
}

// phased makes the named applications phased (start phases init, go).
func phased(cl *cluster, names ...string) {
	cl.appFor = func(n dist.Node, name string) App {
		ta := &testApp{node: n, name: name, r: cl.r}
		if slices.Contains(names, name) {
			ta.phases = []string{"init", "go"}
			return phasedApp{ta}
		}
		return ta
	}
}

// quietWindow is how long "did not move" is observed after a synchronisation point.
const quietWindow = 300 * time.Millisecond
