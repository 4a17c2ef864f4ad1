// Package supervisor compares gotp's supervisor with thejerf/suture v4 in the same run:
// the restart latency of a crashing child, and the start time and memory of a tree of
// 10,000 idle children. Run it with
//
//	cd bench
//	go test -run '^$' -bench RestartLatencyPaired -benchtime 200000x ./supervisor/
//	GODEBUG=adaptivestackstart=0 go test -run '^$' -bench Tree10kPaired -benchtime 15x ./supervisor/
//
// The paired benchmarks alternate gotp and suture in one process, so that the load of
// a shared machine hits both alike, and report medians and ratios (gotp/suture; below 1
// is better). The tree benchmark runs one tree of each per iteration. Without
// GODEBUG=adaptivestackstart=0 a goroutine's first stack follows the average stack seen
// at the last GC, which depends on what ran before; with it, every child's stack starts
// at the 2 KiB minimum in both libraries, and the memory figures repeat run after run.
package supervisor
