// Command dist measures gotp's node layer on loopback: crash detection of a killed node
// process, hang detection of a stopped one (SIGSTOP) with the lan and test profiles,
// convergence of 10 nodes, and request/response latency and throughput between two nodes.
//
//	go run ./dist [-trials 20] [-only crash,hang,converge,rtt]
//
// A crash or hang trial starts two nodes in this process and a third node in a child process
// (this program re-executed with -child), waits until the first node sees the child up, then
// sends SIGKILL (crash) or SIGSTOP (hang) to the child and times the nodedown event.
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotp/gotp/dist"
)

const cookie = "bench-cookie"

func main() {
	child := flag.Bool("child", false, "run as a child node (internal)")
	name := flag.String("name", "", "child: node name")
	seed := flag.String("seed", "", "child: seed address")
	profile := flag.String("profile", "lan", "child: detection profile")
	trials := flag.Int("trials", 20, "trials per measurement")
	only := flag.String("only", "crash,hang,converge,rtt", "measurements to run (soak: see -soak)")
	soak := flag.Duration("soak", 0, "instead: run 5 idle lan nodes this long while two burner processes saturate the CPU, and count nodedowns")
	burn := flag.Bool("burn", false, "burn CPU until killed (internal)")
	flag.Parse()
	if *burn {
		for i := 0; ; i++ {
			_ = i * i
		}
	}
	if *child {
		runChild(*name, *seed, dist.Profile(*profile))
		return
	}
	if *soak > 0 {
		runSoak(*soak)
		return
	}
	want := func(s string) bool { return slices.Contains(strings.Split(*only, ","), s) }
	fmt.Printf("gotp dist bench: %d trials each, loopback, GOMAXPROCS=%d, %s\n", *trials, 2, time.Now().UTC().Format(time.RFC3339))
	if want("crash") {
		for _, p := range []dist.Profile{dist.ProfileLAN, dist.ProfileTest} {
			report(fmt.Sprintf("crash detection (SIGKILL of a node process), profile %s", p), processTrials(*trials, p, syscall.SIGKILL))
		}
	}
	if want("hang") {
		for _, p := range []dist.Profile{dist.ProfileLAN, dist.ProfileTest} {
			report(fmt.Sprintf("hang detection (SIGSTOP of a node process), profile %s", p), processTrials(*trials, p, syscall.SIGSTOP))
		}
	}
	if want("converge") {
		for _, p := range []dist.Profile{dist.ProfileLAN, dist.ProfileTest} {
			report(fmt.Sprintf("convergence of 10 nodes (start of the first → every node sees 9), profile %s", p), convergeTrials(*trials, 10, p))
		}
	}
	if want("rtt") {
		rtt()
	}
}

func quiet() *slog.Logger {
	if os.Getenv("DIST_BENCH_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func start(ctx context.Context, name dist.Node, p dist.Profile, seeds ...string) *dist.Endpoint {
	e, err := dist.Start(ctx, dist.Config{Name: name, Kind: dist.LongNames, Cookie: cookie, Profile: p,
		NoMapper: true, Seeds: seeds, Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	return e
}

func runChild(name, seed string, p dist.Profile) {
	e := start(context.Background(), dist.Node(name), p, seed)
	fmt.Println("ready", e.Addr())
	select {}
}

// processTrials measures the time from sig to the first in-process node's nodedown.
func processTrials(trials int, p dist.Profile, sig syscall.Signal) []time.Duration {
	self, _ := os.Executable()
	var out []time.Duration
	for i := range trials {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		a := start(ctx, "a@127.0.0.1", p)
		b := start(ctx, "b@127.0.0.1", p, a.Addr())
		_, events, stop := a.Monitor()
		childName := dist.Node(fmt.Sprintf("c%d@127.0.0.1", i))
		cmd := exec.Command(self, "-child", "-name", string(childName), "-seed", a.Addr(), "-profile", string(p))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		bufio.NewReader(stdout).ReadString('\n')
		waitFor(ctx, events, func(ev dist.NodeEvent) bool { return ev.Up && ev.Node == childName })
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond) // random phase against the timers
		t0 := time.Now()
		_ = cmd.Process.Signal(sig)
		ev := waitFor(ctx, events, func(ev dist.NodeEvent) bool { return !ev.Up && ev.Node == childName })
		d := time.Since(t0)
		if ev.Node != "" {
			out = append(out, d)
			fmt.Printf("  trial %2d: %8.1f ms (reason %s)\n", i, float64(d.Microseconds())/1000, ev.Reason)
		} else {
			fmt.Printf("  trial %2d: no nodedown\n", i)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		stop()
		closeAll(a, b)
		cancel()
	}
	return out
}

func waitFor(ctx context.Context, ch <-chan dist.NodeEvent, pred func(dist.NodeEvent) bool) dist.NodeEvent {
	for {
		select {
		case ev := <-ch:
			if pred(ev) {
				return ev
			}
		case <-ctx.Done():
			return dist.NodeEvent{}
		}
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

func convergeTrials(trials, n int, p dist.Profile) []time.Duration {
	var out []time.Duration
	for range trials {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t0 := time.Now()
		nodes := []*dist.Endpoint{start(ctx, "n0@127.0.0.1", p)}
		for i := 1; i < n; i++ {
			nodes = append(nodes, start(ctx, dist.Node(fmt.Sprintf("n%d@127.0.0.1", i)), p, nodes[0].Addr()))
		}
		for {
			done := true
			for _, e := range nodes {
				if len(e.Nodes()) != n-1 {
					done = false
				}
			}
			if done || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if ctx.Err() == nil {
			out = append(out, time.Since(t0))
		}
		closeAll(nodes...)
		cancel()
	}
	return out
}

func rtt() {
	ctx := context.Background()
	a := start(ctx, "a@127.0.0.1", dist.ProfileLAN)
	b := start(ctx, "b@127.0.0.1", dist.ProfileLAN, a.Addr())
	defer closeAll(a, b)
	b.Handle("echo", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return p, nil })
	var got sync.WaitGroup
	b.Handle("sink", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { got.Done(); return nil, nil })
	for len(a.Nodes()) == 0 {
		time.Sleep(time.Millisecond)
	}
	payload := make([]byte, 64)
	_, _ = a.Request(ctx, b.Self(), "echo", payload) // link set up
	var lat []time.Duration
	for range 5000 {
		t0 := time.Now()
		if _, err := a.Request(ctx, b.Self(), "echo", payload); err != nil {
			fmt.Println("request:", err)
			return
		}
		lat = append(lat, time.Since(t0))
	}
	reportUS("request/response round trip, 64 B, sequential (5000 requests)", lat)
	for _, conc := range []int{1, 16} {
		const dur = 3 * time.Second
		var mu sync.Mutex
		count := 0
		var wg sync.WaitGroup
		deadline := time.Now().Add(dur)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for time.Now().Before(deadline) {
					if _, err := a.Request(ctx, b.Self(), "echo", payload); err != nil {
						break
					}
					n++
				}
				mu.Lock()
				count += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		fmt.Printf("request/response throughput, 64 B, %2d concurrent callers: %8.0f req/s\n", conc, float64(count)/dur.Seconds())
	}
	for _, size := range []int{64, 1024, 64 << 10} {
		n := 20000
		if size > 4096 {
			n = 2000
		}
		p := make([]byte, size)
		got.Add(n)
		t0 := time.Now()
		for range n {
			if err := a.Send(ctx, b.Self(), "sink", p); err != nil {
				fmt.Println("send:", err)
				return
			}
		}
		got.Wait()
		d := time.Since(t0)
		fmt.Printf("send throughput (one sender, ordered, handled), %6d B: %8.0f msg/s, %7.1f MB/s\n",
			size, float64(n)/d.Seconds(), float64(n*size)/d.Seconds()/1e6)
	}
}

// runSoak runs 5 idle nodes with the lan profile for d while two child processes spin on
// the CPU, and reports every nodedown (there should be none).
func runSoak(d time.Duration) {
	self, _ := os.Executable()
	var burners []*exec.Cmd
	for range 2 {
		cmd := exec.Command(self, "-burn")
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "burner:", err)
			os.Exit(1)
		}
		burners = append(burners, cmd)
	}
	defer func() {
		for _, b := range burners {
			_ = b.Process.Kill()
			_ = b.Wait()
		}
	}()
	ctx := context.Background()
	nodes := []*dist.Endpoint{start(ctx, "s0@127.0.0.1", dist.ProfileLAN)}
	for i := 1; i < 5; i++ {
		nodes = append(nodes, start(ctx, dist.Node(fmt.Sprintf("s%d@127.0.0.1", i)), dist.ProfileLAN, nodes[0].Addr()))
	}
	defer closeAll(nodes...)
	for {
		done := true
		for _, e := range nodes {
			if len(e.Nodes()) != 4 {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("soak: 5 lan nodes converged; idling %v with 2 CPU burners\n", d)
	var mu sync.Mutex
	downs := 0
	for _, e := range nodes {
		_, ch, stop := e.Monitor()
		defer stop()
		go func() {
			for ev := range ch {
				mu.Lock()
				if !ev.Up {
					downs++
				}
				mu.Unlock()
				fmt.Printf("soak: %s sees %s up=%v reason=%s at %s\n", e.Self(), ev.Node, ev.Up, ev.Reason, time.Now().Format(time.TimeOnly))
			}
		}()
	}
	time.Sleep(d)
	mu.Lock()
	fmt.Printf("soak: %v with 5 idle lan nodes and 2 CPU burners: %d false nodedown events\n", d, downs)
	mu.Unlock()
}

func reportUS(what string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) int64 { return s[int(p*float64(len(s)-1))].Microseconds() }
	fmt.Printf("%s: n=%d  p50 %d µs  p90 %d µs  p99 %d µs  max %d µs\n", what, len(s), q(0.5), q(0.9), q(0.99), q(1))
}

func report(what string, ds []time.Duration) {
	if len(ds) == 0 {
		fmt.Printf("%s: no data\n", what)
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(p * float64(len(s)-1))
		return float64(s[i].Microseconds()) / 1000
	}
	fmt.Printf("%s: n=%d  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  min %.1f ms  max %.1f ms\n",
		what, len(s), q(0.5), q(0.9), q(0.99), q(0), q(1))
}
