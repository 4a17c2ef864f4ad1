package supervisor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	gotp "github.com/gotp/gotp/supervisor"
	"github.com/thejerf/suture/v4"
)

// treeSize is the number of idle children in the tree benchmarks.
const treeSize = 10_000

var errCrash = errors.New("crash")

// crasher is a child that announces each start and crashes when told to.
type crasher struct {
	started chan struct{}
	crash   chan struct{}
}

func newCrasher() *crasher {
	return &crasher{started: make(chan struct{}), crash: make(chan struct{})}
}

func (c *crasher) Serve(ctx context.Context) error {
	select {
	case c.started <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.crash:
		return errCrash
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cycle crashes the running child and waits for its replacement to start: one
// restart, measured from the crash order to the new Serve running.
func (c *crasher) cycle() {
	c.crash <- struct{}{}
	<-c.started
}

func noLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 100}))
}

// gotpCrasher runs a crasher under a gotp supervisor with an unreachable intensity;
// stop stops it.
func gotpCrasher(b *testing.B) (c *crasher, stop func()) {
	c = newCrasher()
	sup, err := gotp.New(gotp.Spec{
		Name: "bench", MaxRestarts: 1 << 30, Period: time.Second, Logger: noLog(),
		Children: []gotp.ChildSpec{{ID: "c", Start: func(context.Context) (gotp.Service, error) { return c, nil }}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	<-c.started
	return c, func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// sutureCrasher is the same under suture, with an unreachable failure threshold (no
// backoff) and a silent event hook.
func sutureCrasher() (c *crasher, stop func()) {
	c = newCrasher()
	sup := suture.New("bench", suture.Spec{
		EventHook: func(suture.Event) {}, FailureThreshold: 1 << 30, FailureDecay: 1,
	})
	sup.Add(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := sup.ServeBackground(ctx)
	<-c.started
	return c, func() {
		cancel()
		<-done
	}
}

func BenchmarkRestartLatency(b *testing.B) {
	b.Run("gotp", func(b *testing.B) {
		c, stop := gotpCrasher(b)
		defer stop()
		b.ResetTimer()
		for range b.N {
			c.cycle()
		}
		b.StopTimer()
	})
	b.Run("suture", func(b *testing.B) {
		c, stop := sutureCrasher()
		defer stop()
		b.ResetTimer()
		for range b.N {
			c.cycle()
		}
		b.StopTimer()
	})
}

// BenchmarkRestartLatencyPaired alternates blocks of restarts between gotp and suture
// in the same process, so that the load of a shared machine hits both alike, and
// reports the median block of each and their ratio (gotp/suture; below 1 is faster).
func BenchmarkRestartLatencyPaired(b *testing.B) {
	const block = 200
	g, stopG := gotpCrasher(b)
	defer stopG()
	s, stopS := sutureCrasher()
	defer stopS()
	var gs, ss []float64
	for i := 0; i < b.N; i += block {
		gs = append(gs, timeBlock(g, block))
		ss = append(ss, timeBlock(s, block))
	}
	b.ReportMetric(median(gs), "gotp-ns/restart")
	b.ReportMetric(median(ss), "suture-ns/restart")
	b.ReportMetric(median(gs)/median(ss), "ratio")
}

func timeBlock(c *crasher, n int) float64 {
	start := time.Now()
	for range n {
		c.cycle()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func median(xs []float64) float64 {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[len(ys)/2]
}

// idle is a child that counts itself in and waits to be stopped.
type idle struct{ wg *sync.WaitGroup }

func (i idle) Serve(ctx context.Context) error {
	i.wg.Done()
	<-ctx.Done()
	return ctx.Err()
}

// memory returns the bytes in use by the heap and goroutine stacks, after a GC.
func memory() uint64 {
	heap, stack := memoryParts()
	return heap + stack
}

// memoryParts returns the live heap and the goroutine stacks in use, after a GC.
func memoryParts() (heap, stack uint64) {
	for range 5 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// background parks 1,000 small goroutines until the returned func is called. A
// goroutine's first stack follows the average stack size seen at the last GC: in a bare
// test binary that average comes from a few deep goroutines (4 KiB), so the children
// created before the first GC of a tree's start would get 4 KiB stacks, as many as the
// library allocates little (a library that allocates more triggers that GC sooner).
// Real programs have goroutines of their own; with these, the first stacks are the
// 2 KiB minimum from the start, for both libraries alike.
func background() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-done
		}()
	}
	runtime.GC()
	return func() {
		close(done)
		wg.Wait()
	}
}

// benchTree measures, per iteration, the start of a tree of treeSize idle children
// (until every child's Serve runs) and the memory it holds; stop is not timed.
func benchTree(b *testing.B, start func(wg *sync.WaitGroup) (stop func())) {
	defer background()()
	var perChild float64
	for range b.N {
		b.StopTimer()
		before := memory()
		var wg sync.WaitGroup
		wg.Add(treeSize)
		b.StartTimer()
		stop := start(&wg)
		wg.Wait()
		b.StopTimer()
		after := memory()
		perChild += float64(int64(after)-int64(before)) / treeSize
		stop()
		b.StartTimer()
	}
	b.ReportMetric(perChild/float64(b.N), "B/child")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/treeSize, "ns/child")
}

func BenchmarkTree10k(b *testing.B) {
	b.Run("gotp", func(b *testing.B) {
		benchTree(b, func(wg *sync.WaitGroup) func() { return gotpTree(b, wg) })
	})
	b.Run("suture", func(b *testing.B) { benchTree(b, sutureTree) })
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = digits[i%10]
	}
	return string(b[n:])
}

// gotpTree starts a gotp tree of treeSize idle children.
func gotpTree(b *testing.B, wg *sync.WaitGroup) (stop func()) {
	children := make([]gotp.ChildSpec, treeSize)
	for i := range children {
		children[i] = gotp.ChildSpec{ID: "c" + itoa(i), Start: func(context.Context) (gotp.Service, error) { return idle{wg}, nil }}
	}
	sup, err := gotp.New(gotp.Spec{Name: "tree", Logger: noLog(), Children: children})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sup.Start(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// sutureTree starts a suture tree of treeSize idle children.
func sutureTree(wg *sync.WaitGroup) (stop func()) {
	sup := suture.New("tree", suture.Spec{EventHook: func(suture.Event) {}})
	for range treeSize {
		sup.Add(idle{wg})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := sup.ServeBackground(ctx)
	return func() {
		cancel()
		<-done
	}
}

// cpuTime returns the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// treeFigures are one tree's figures, per child.
type treeFigures struct {
	wall, cpu, heap, stack float64
}

// measureTree starts a tree, waits until every child's Serve runs, and returns per
// child the wall time and the process CPU time that took, and the memory the running
// tree holds (live heap, goroutine stacks); then stops it.
func measureTree(start func(wg *sync.WaitGroup) (stop func())) treeFigures {
	h0, s0 := memoryParts()
	var wg sync.WaitGroup
	wg.Add(treeSize)
	t0, c0 := time.Now(), cpuTime()
	stop := start(&wg)
	wg.Wait()
	wall, cpu := time.Since(t0), cpuTime()-c0
	h1, s1 := memoryParts()
	stop()
	return treeFigures{
		wall:  float64(wall.Nanoseconds()) / treeSize,
		cpu:   float64(cpu.Nanoseconds()) / treeSize,
		heap:  float64(int64(h1)-int64(h0)) / treeSize,
		stack: float64(int64(s1)-int64(s0)) / treeSize,
	}
}

// BenchmarkTree10kPaired alternates gotp and suture trees of 10,000 idle children and
// reports the median start time (wall and process CPU) and memory per child of each,
// and the ratios (gotp/suture; below 1 is better). Memory is live heap plus goroutine
// stacks; the heap part is also reported alone, as the stacks (one goroutine per child
// in both) are the same by construction. On a loaded machine the CPU time is the
// steadier start figure.
func BenchmarkTree10kPaired(b *testing.B) {
	defer background()()
	var g, s []treeFigures
	for range b.N {
		g = append(g, measureTree(func(wg *sync.WaitGroup) func() { return gotpTree(b, wg) }))
		s = append(s, measureTree(sutureTree))
	}
	report := func(unit string, f func(treeFigures) float64, ratio string) {
		gm, sm := median(apply(g, f)), median(apply(s, f))
		b.ReportMetric(gm, "gotp-"+unit)
		b.ReportMetric(sm, "suture-"+unit)
		b.ReportMetric(gm/sm, ratio)
	}
	report("ns/child", func(t treeFigures) float64 { return t.wall }, "start-ratio")
	report("cpu-ns/child", func(t treeFigures) float64 { return t.cpu }, "cpu-ratio")
	report("B/child", func(t treeFigures) float64 { return t.heap + t.stack }, "mem-ratio")
	report("heapB/child", func(t treeFigures) float64 { return t.heap }, "heap-ratio")
}

func apply(ts []treeFigures, f func(treeFigures) float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = f(t)
	}
	return out
}
