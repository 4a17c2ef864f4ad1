package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/kernelcfg"
	"github.com/gotp/gotp/supervisor"
)

const waitLimit = 60 * time.Second

func quietLogger() *slog.Logger {
	if os.Getenv("NODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recorder collects "node kind from" lines of every callback of the test app.
type recorder struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100)} }

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.lines = append(r.lines, s)
	r.mu.Unlock()
	r.ch <- s
}

func (r *recorder) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.ch:
		if got != want {
			t.Fatalf("callback %q, want %q", got, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no callback, want %q", want)
	}
}

type testApp struct {
	node string
	r    *recorder
}

func (a *testApp) Start(_ context.Context, st app.StartType) (supervisor.Service, error) {
	a.r.add(fmt.Sprintf("%s start %s", a.node, st))
	return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
}

func (a *testApp) Stop(_ context.Context, reason app.StopReason) {
	a.r.add(fmt.Sprintf("%s stop %s", a.node, reason))
}

type running struct {
	node   chan *Node
	done   chan struct{} // closed when Run returned; err is then set
	err    error
	cancel context.CancelFunc
}

func start(t *testing.T, name string, r *recorder, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{node: make(chan *Node, 1), done: make(chan struct{}), cancel: cancel}
	opts := Options{Apps: []app.Spec{{Name: "tapp", App: &testApp{node: name, r: r}}}, RestartType: app.Permanent,
		Args: append([]string{"-name", name + "@127.0.0.1", "-setcookie", "c"}, args...), Logger: quietLogger(),
		Stderr: io.Discard, ShutdownTimeout: 20 * time.Second, Ready: func(n *Node) { rn.node <- n }}
	go func() { rn.err = Run(ctx, opts); close(rn.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rn.done:
		case <-time.After(waitLimit):
			t.Error("node did not stop")
		}
	})
	return rn
}

func (rn *running) ready(t *testing.T) *Node {
	t.Helper()
	select {
	case n := <-rn.node:
		return n
	case <-rn.done:
		t.Fatalf("node stopped before it was ready: %v", rn.err)
	case <-time.After(waitLimit):
		t.Fatal("node not ready")
	}
	return nil
}

func (rn *running) stop(t *testing.T) error {
	t.Helper()
	rn.cancel()
	select {
	case <-rn.done:
		return rn.err
	case <-time.After(waitLimit):
		t.Fatal("node did not stop")
	}
	return nil
}

func twoNodeConfigs(t *testing.T, extraGotp string) (joe, mike string) {
	dir := t.TempDir()
	cfg := func(other string) string {
		return `[{kernel, [{distributed, [{tapp, 300, ['joe@127.0.0.1', 'mike@127.0.0.1']}]},
  {sync_nodes_mandatory, ['` + other + `@127.0.0.1']}, {sync_nodes_timeout, 30000}]},
 {gotp, [{detection, test}` + extraGotp + `]}].`
	}
	return writeFile(t, dir, "joe.config", cfg("mike")), writeFile(t, dir, "mike.config", cfg("joe"))
}

// Two nodes boot through the barrier; the app runs on joe; joe's context ends (SIGTERM):
// default shutdown stops the app, joe leaves, and mike fails over after the Timeout.
func TestRunDefaultShutdown(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(freePort(t)))
	joeCfg, mikeCfg := twoNodeConfigs(t, "")
	r := newRecorder()
	joe := start(t, "joe", r, "-config", joeCfg)
	mike := start(t, "mike", r, "--erl-config", strings.TrimSuffix(mikeCfg, ".config"))
	jn := joe.ready(t)
	mn := mike.ready(t)
	r.next(t, "joe start normal")
	if got := jn.Endpoint.Self(); got != "joe@127.0.0.1" {
		t.Fatalf("joe's name %s", got)
	}
	if p, err := mn.Controller.Where("tapp"); err != nil || p.Node != "joe@127.0.0.1" {
		t.Fatalf("mike's where: %+v %v", p, err)
	}
	nodes, err := RemoteNodes(context.Background(), mn.Endpoint, "joe@127.0.0.1")
	if err != nil || fmt.Sprint(nodes) != "[joe@127.0.0.1 mike@127.0.0.1]" {
		t.Fatalf("joe's nodes %v %v", nodes, err)
	}
	stopped := time.Now()
	if err := joe.stop(t); err != nil {
		t.Fatalf("joe's Run: %v", err)
	}
	r.next(t, "joe stop shutdown")
	r.next(t, "mike start {failover,joe@127.0.0.1}")
	if d := time.Since(stopped); d < 300*time.Millisecond {
		t.Fatalf("failover %v after the stop, before the Timeout", d)
	}
}

// handover_on_shutdown: the successor starts with takeover, then the old instance stops.
func TestRunHandoverShutdown(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(freePort(t)))
	joeCfg, mikeCfg := twoNodeConfigs(t, ", {handover_on_shutdown, true}")
	r := newRecorder()
	joe := start(t, "joe", r, "-config", joeCfg)
	mike := start(t, "mike", r, "-config", mikeCfg)
	joe.ready(t)
	mike.ready(t)
	r.next(t, "joe start normal")
	if err := joe.stop(t); err != nil {
		t.Fatalf("joe's Run: %v", err)
	}
	r.next(t, "mike start {takeover,joe@127.0.0.1}")
	r.next(t, "joe stop moved(mike@127.0.0.1)")
}

func TestBootFailures(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(freePort(t)))
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.config", "[{kernel, [{sync_nodes_timeout, -1}]}].")
	lonely := writeFile(t, dir, "lonely.config", `[{kernel, [{sync_nodes_mandatory, ['x@127.0.0.1', 'y@127.0.0.1']}, {sync_nodes_timeout, 300}]}, {gotp, [{detection, test}]}].`)
	cases := []struct {
		args []string
		code int
		want []string
		is   error
	}{
		{[]string{"-config", bad}, 1, []string{"boot failed (config)", "bad.config:1:33", "sync_nodes_timeout"}, kernelcfg.ErrValue},
		{[]string{"-config", filepath.Join(dir, "missing")}, 1, []string{"missing.config", "no such file"}, kernelcfg.ErrRead},
		{[]string{"-name", "lonely@127.0.0.1", "-setcookie", "c", "-config", lonely}, 1,
			[]string{"boot failed (sync)", "mandatory nodes down: x@127.0.0.1, y@127.0.0.1"}, dist.ErrMandatoryNodesDown},
		{[]string{"-sname", "a@b.c"}, 1, []string{"boot failed (name)", "short name"}, dist.ErrBadNodeName},
		{[]string{"-unknown"}, 2, []string{"boot failed (flags)", "-unknown"}, ErrUsage},
	}
	for _, c := range cases {
		err := Run(context.Background(), Options{Args: c.args, Logger: quietLogger(), Stderr: io.Discard,
			Apps: []app.Spec{{Name: "tapp", App: &testApp{node: "x", r: newRecorder()}}}})
		var be *BootError
		if !errors.As(err, &be) || !errors.Is(err, c.is) {
			t.Errorf("%q: err %v, want a BootError matching %v", c.args, err, c.is)
			continue
		}
		var buf bytes.Buffer
		if code := ExitCode(err, &buf); code != c.code {
			t.Errorf("%q: exit code %d, want %d", c.args, code, c.code)
		}
		line := buf.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Errorf("%q: not one line: %q", c.args, line)
		}
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q: %q lacks %q", c.args, line, w)
			}
		}
	}
}

func TestNameWarnings(t *testing.T) {
	t.Parallel()
	k := kernelcfg.Kernel{Distributed: []kernelcfg.Distributed{{App: "mybot", Tiers: [][]string{{"joe@HOSTNAME"}, {"mike@HOSTNAME", "robert@HOSTNAME"}}}}}
	w := NameWarnings("joe@vm", k)
	if len(w) != 1 || !strings.Contains(w[0], "joe@HOSTNAME") || !strings.Contains(w[0], "joe@vm") {
		t.Fatalf("warnings %q", w)
	}
	if w := NameWarnings("joe@HOSTNAME", k); len(w) != 0 {
		t.Fatalf("listed node warned: %q", w)
	}
	if w := NameWarnings("other@vm", k); len(w) != 0 {
		t.Fatalf("unrelated node warned: %q", w)
	}
}

// A node without -sname/-name runs its applications locally, with the config's env.
func TestRunNotDistributed(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, t.TempDir(), "e.config", `[{tapp, [{token, "abc"}, {n, 3}, {on, true}]}].`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []any, 1)
	a := app.AppFunc(func(ctx context.Context, st app.StartType) (supervisor.Service, error) {
		tok, _ := app.Env(ctx, "token")
		n, _ := app.Env(ctx, "n")
		on, _ := app.Env(ctx, "on")
		got <- []any{tok, n, on}
		return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
	})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Args: []string{"-config", cfg}, Apps: []app.Spec{{Name: "tapp", App: a}},
			Logger: quietLogger(), Ready: func(n *Node) {
				if n.Endpoint != nil || n.Name != "nonode@nohost" {
					t.Errorf("not distributed: %+v", n)
				}
				cancel()
			}})
	}()
	if v := <-got; fmt.Sprint(v) != "[abc 3 true]" {
		t.Fatalf("env %v", v)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A signal (ctx ending) during the boot barrier stops the node cleanly: no error.
func TestStopDuringBoot(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(freePort(t)))
	cfg := writeFile(t, t.TempDir(), "w.config", `[{kernel, [{sync_nodes_mandatory, ['never@127.0.0.1']}, {sync_nodes_timeout, infinity}]}, {gotp, [{detection, test}]}].`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Run(ctx, Options{Args: []string{"-name", "w@127.0.0.1", "-setcookie", "c", "-config", cfg},
			Logger: quietLogger(), Stderr: &stderr})
	}()
	select {
	case err := <-done:
		t.Fatalf("Run returned before the signal: %v", err)
	case <-time.After(300 * time.Millisecond): // the barrier waits forever: stop it
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after a signal during boot: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
}
