// Command app measures gotp's distributed application controller on loopback:
//
//   - failover: joe (a child process) runs mybot, mike and robert (in this process) stand by;
//     SIGKILL joe and time until Start is called on the successor, with Timeout 0 and 5000;
//
//   - takeover: mike runs mybot; joe (higher priority) starts it; time from joe's start call to
//     mike's Stop, next to the new instance's own start time;
//
//   - scale: 1,000 distributed apps over 10 nodes in this process: time from the last node's
//     controller starting to every app placed, then kill one node and time until all its apps
//     run again; heap per app and per controller.
//
//     go run ./app [-trials 20] [-only failover0,failover5000,takeover,scale]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/supervisor"
)

const cookie = "bench-cookie"

var (
	joe    = dist.Node("joe@127.0.0.1")
	mike   = dist.Node("mike@127.0.0.1")
	robert = dist.Node("robert@127.0.0.1")
)

func main() {
	child := flag.Bool("child", false, "run joe as a child node (internal)")
	seed := flag.String("seed", "", "child: seed address")
	timeout := flag.Int("timeout", 0, "child: failover Timeout in ms")
	trials := flag.Int("trials", 20, "trials per measurement")
	scaleApps := flag.Int("apps", 1000, "scale: applications")
	scaleNodes := flag.Int("nodes", 10, "scale: nodes")
	only := flag.String("only", "failover0,failover5000,takeover,scale", "measurements to run")
	flag.Parse()
	if *child {
		runChild(*seed, time.Duration(*timeout)*time.Millisecond)
		return
	}
	want := func(s string) bool { return slices.Contains(strings.Split(*only, ","), s) }
	fmt.Printf("gotp app bench: %d trials, loopback, lan profile, %s\n", *trials, time.Now().UTC().Format(time.RFC3339))
	for _, ms := range []int{0, 5000} {
		if want(fmt.Sprintf("failover%d", ms)) {
			report(fmt.Sprintf("failover: SIGKILL of the runner's process → Start on the successor, Timeout %d ms", ms),
				failoverTrials(*trials, ms))
		}
	}
	if want("takeover") {
		takeoverTrials(*trials)
	}
	if want("scale") {
		scale(*scaleApps, *scaleNodes)
	}
}

func quiet() *slog.Logger {
	if os.Getenv("APP_BENCH_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startNode(ctx context.Context, name dist.Node, seeds ...string) *dist.Endpoint {
	e, err := dist.Start(ctx, dist.Config{Name: name, Kind: dist.LongNames, Cookie: cookie, Profile: dist.ProfileLAN,
		NoMapper: true, Seeds: seeds, Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	return e
}

func mybotEntry(timeout time.Duration) []app.Distributed {
	return []app.Distributed{{App: "mybot", Timeout: timeout, Nodes: [][]dist.Node{{joe}, {mike, robert}}}}
}

// probe is an App that reports its starts and stops on channels.
type probe struct {
	node    dist.Node
	started chan time.Time
	stopped chan time.Time
	delay   time.Duration
}

func newProbe(n dist.Node) *probe {
	return &probe{node: n, started: make(chan time.Time, 16), stopped: make(chan time.Time, 16)}
}

func (p *probe) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	p.started <- time.Now()
	if p.delay > 0 {
		time.Sleep(p.delay) // a start that takes time, as a real tree's does
	}
	return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
}

func (p *probe) Stop(ctx context.Context, r app.StopReason) { p.stopped <- time.Now() }

func controller(e *dist.Endpoint, d []app.Distributed, p app.App, names ...string) *app.Controller {
	c, err := app.New(app.Config{Network: e, Distributed: d, Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
	for _, n := range names {
		if err := c.Load(app.Spec{Name: n, App: p}); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
	return c
}

func runChild(seed string, timeout time.Duration) {
	ctx := context.Background()
	e := startNode(ctx, joe, seed)
	c := controller(e, mybotEntry(timeout), newProbe(joe), "mybot")
	if err := c.Start(ctx, "mybot", app.Permanent); err != nil {
		fmt.Fprintln(os.Stderr, "child start:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

func failoverTrials(trials, timeoutMs int) []time.Duration {
	self, _ := os.Executable()
	var out []time.Duration
	timeout := time.Duration(timeoutMs) * time.Millisecond
	for i := range trials {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		em := startNode(ctx, mike)
		er := startNode(ctx, robert, em.Addr())
		pm, pr := newProbe(mike), newProbe(robert)
		cm := controller(em, mybotEntry(timeout), pm, "mybot")
		cr := controller(er, mybotEntry(timeout), pr, "mybot")
		cmd := exec.Command(self, "-child", "-seed", em.Addr(), "-timeout", strconv.Itoa(timeoutMs))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		for !slices.Contains(em.Nodes(), joe) || !slices.Contains(er.Nodes(), joe) {
			time.Sleep(time.Millisecond)
		}
		startCtl(ctx, cm, "mybot")
		startCtl(ctx, cr, "mybot")
		if !strings.HasPrefix(line, "ready") || !waitWhere(ctx, []*app.Controller{cm, cr}, "mybot", joe) || len(pm.started)+len(pr.started) > 0 {
			fmt.Printf("  trial %2d: setup failed\n", i)
		} else {
			time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond) // random phase against timers
			t0 := time.Now()
			_ = cmd.Process.Signal(syscall.SIGKILL)
			var who string
			var t1 time.Time
			select {
			case t1 = <-pm.started:
				who = "mike"
			case t1 = <-pr.started:
				who = "robert"
			case <-ctx.Done():
			}
			if who != "" {
				d := t1.Sub(t0)
				out = append(out, d)
				fmt.Printf("  trial %2d: %8.1f ms (%s)\n", i, ms(d), who)
			} else {
				fmt.Printf("  trial %2d: no failover\n", i)
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		shutdown(cm, cr)
		closeAll(em, er)
		cancel()
	}
	return out
}

func startCtl(ctx context.Context, c *app.Controller, name string) {
	go func() { _ = c.Start(ctx, name, app.Permanent) }()
}

// waitWhere waits until every controller sees name running on node.
func waitWhere(ctx context.Context, cs []*app.Controller, name string, node dist.Node) bool {
	for ctx.Err() == nil {
		ok := true
		for _, c := range cs {
			if p, err := c.Where(name); err != nil || p.Node != node || (p.State != "local" && p.State != "remote") {
				ok = false
			}
		}
		if ok {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func shutdown(cs ...*app.Controller) {
	for _, c := range cs {
		c.Halt()
	}
}

func closeAll(es ...*dist.Endpoint) {
	var wg sync.WaitGroup
	for _, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = e.Close(ctx)
		}()
	}
	wg.Wait()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(title string, ds []time.Duration) {
	fmt.Println(title)
	if len(ds) == 0 {
		fmt.Println("  no samples")
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	fmt.Printf("  n=%d min %.1f ms  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
		len(s), ms(s[0]), ms(q(0.5)), ms(q(0.9)), ms(q(0.99)), ms(s[len(s)-1]))
}
