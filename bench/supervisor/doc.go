// Package supervisor compares gotp's supervisor with thejerf/suture v4 in the same run:
// the restart latency of a crashing child, and the start time and memory of a tree of
// 10,000 idle children. Run it with
//
//	cd bench
//	go test -run '^$' -bench RestartLatencyPaired -benchtime 200000x -count 3 ./supervisor/
//	go test -run '^$' -bench Tree10kPaired -benchtime 25x -count 3 ./supervisor/
//
// The paired benchmarks alternate gotp and suture in one process, so that the load of
// a shared machine hits both alike, and report medians and ratios (gotp/suture; below 1
// is better). The tree benchmark runs one tree of each per iteration and reports wall
// and process CPU time of the start (the CPU time is the steadier figure on a loaded
// machine) and the memory held: live heap, and goroutine stacks.
//
// The stacks need care: a goroutine's first stack follows the average stack size seen
// at the last GC. In a bare test binary that is 4 KiB (a few deep goroutines), so the
// children created before the first GC of a tree's start get 4 KiB stacks, and the
// fewer bytes a library allocates, the more of them (its GC comes later). The tree
// benchmarks therefore run beside 1,000 parked goroutines, as a real program has
// goroutines of its own: every child then starts at the 2 KiB minimum in both
// libraries (the same as with GODEBUG=adaptivestackstart=0). The heap figure does not
// depend on it.
//
// The plain BenchmarkRestartLatency and BenchmarkTree10k run each library on its own,
// for the usual benchmark tooling.
package supervisor
