// Package supervisor compares gotp's supervisor with thejerf/suture v4 in the same run:
// the restart latency of a crashing child, and the start time and memory of a tree of
// 10,000 idle children. Run it with
//
//	cd bench
//	go test -run '^$' -bench RestartLatencyPaired -benchtime 200000x -count 3 ./supervisor/
//	GODEBUG=adaptivestackstart=0 go test -run '^$' -bench Tree10kPaired -benchtime 25x -count 2 ./supervisor/
//	go test -run '^$' -bench Tree10kPaired -benchtime 25x ./supervisor/
//
// The paired benchmarks alternate gotp and suture in one process, so that the load of
// a shared machine hits both alike, and report medians and ratios (gotp/suture; below 1
// is better). The tree benchmark runs one tree of each per iteration and reports wall
// and process CPU time of the start (the CPU time is the steadier figure on a loaded
// machine) and the memory held: live heap, and goroutine stacks.
//
// The stacks need care. By default a goroutine's first stack follows the average stack
// size seen at the last GC, so how many children start with a larger stack depends on
// when the GCs fall during the start, which depends on how much each library allocates.
// With GODEBUG=adaptivestackstart=0 every child's stack starts at the 2 KiB minimum in
// both libraries and the figures repeat run after run; without it they vary by a few
// percent either way. The heap figure does not depend on it.
//
// The plain BenchmarkRestartLatency and BenchmarkTree10k run each library on its own,
// for the usual benchmark tooling.
package supervisor
