// Package supervisor compares gotp's supervisor with thejerf/suture v4 in the same run:
// the restart latency of a crashing child, and the start time and memory of a tree of
// 10,000 idle children. Run it with
//
//	cd bench && go test -run '^$' -bench . -benchtime 20000x -count 5 ./supervisor/
//
// (the tree benchmarks run one tree per iteration; use -benchtime 5x for them).
package supervisor
