// Command ha measures moves of a Discord bot between nodes under gotp's application
// controller (nostrum/ha): per move type — takeover, and failover with Timeout 0 after a
// kill — the events lost, the events handled twice, the duplicate replies created on
// Discord, and the gap during which no node handled events, over a continuous stream of
// MESSAGE_CREATE from the fake Discord. Nodes run in one process on an in-memory mesh.
//
//	cd bench && go run ./ha [-moves 20] [-rate 200] [-warm 60] [-after 60] [-checkpoint 250ms] [-checkpoint-events 100] [-v]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gotp/gotp/nostrum/ha"
	"github.com/gotp/gotp/nostrum/ha/hatest"
)

func main() {
	moves := flag.Int("moves", 20, "moves per move type")
	rate := flag.Float64("rate", 200, "posted messages per second")
	warm := flag.Int("warm", 60, "messages the runner handles before each move")
	after := flag.Int("after", 60, "messages the new runner handles after each move")
	verbose := flag.Bool("v", false, "print every move")
	ckpt := flag.Duration("checkpoint", 250*time.Millisecond, "checkpoint interval (ha.Config.CheckpointInterval)")
	ckptEvents := flag.Int("checkpoint-events", 100, "checkpoint every N events (ha.Config.CheckpointEvents)")
	flag.Parse()
	ok := true
	for _, kind := range []hatest.MoveKind{hatest.Takeover, hatest.Failover} {
		tune := func(c *ha.Config) { c.CheckpointInterval, c.CheckpointEvents = *ckpt, *ckptEvents }
		figs, err := run(kind, *moves, hatest.MoveSpec{Rate: *rate, Warm: *warm, After: *after}, tune, *verbose)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", kind, err)
			os.Exit(1)
		}
		ok = report(kind, figs, *rate) && ok
	}
	if !ok {
		os.Exit(2)
	}
}

// run makes n moves of one kind between nodes a and b; failovers restart the killed node
// as the standby of the next move.
func run(kind hatest.MoveKind, n int, base hatest.MoveSpec, tune func(*ha.Config), verbose bool) ([]hatest.Figures, error) {
	c, err := hatest.New(hatest.Options{Nodes: []string{"a", "b"}, Reply: true, Ha: tune,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n+2)*hatest.WaitTimeout)
	defer cancel()
	for _, name := range []string{"a", "b"} {
		if _, err := c.Boot(ctx, name); err != nil {
			return nil, err
		}
	}
	from, to := "a", "b"
	var figs []hatest.Figures
	for i := range n {
		m := base
		m.Kind, m.From, m.To = kind, from, to
		mctx, mcancel := context.WithTimeout(ctx, hatest.WaitTimeout)
		f, err := c.Move(mctx, m)
		mcancel()
		if err != nil {
			return nil, fmt.Errorf("move %d (%s → %s): %w", i+1, from, to, err)
		}
		if verbose {
			fmt.Printf("%s %2d %s→%s %+v\n", kind, i+1, from, to, f)
		}
		figs = append(figs, f)
		if kind == hatest.Failover {
			if _, err := c.Boot(ctx, from); err != nil { // the killed node comes back as standby
				return nil, fmt.Errorf("reboot %s: %w", from, err)
			}
		}
		from, to = to, from
	}
	return figs, nil
}

// report prints the totals and the gap distribution of one move type and checks the
// issue's targets.
func report(kind hatest.MoveKind, figs []hatest.Figures, rate float64) bool {
	var sum hatest.Figures
	gaps := make([]time.Duration, 0, len(figs))
	stalls := make([]time.Duration, 0, len(figs))
	for _, f := range figs {
		sum.Injected += f.Injected
		sum.Handled += f.Handled
		sum.Lost += f.Lost
		sum.HandledTwice += f.HandledTwice
		sum.Replies += f.Replies
		sum.DuplicateReplies += f.DuplicateReplies
		gaps = append(gaps, f.Gap)
		stalls = append(stalls, f.Stall)
	}
	slices.Sort(gaps)
	slices.Sort(stalls)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	dist := func(d []time.Duration) string {
		return fmt.Sprintf("min=%s median=%s p90=%s max=%s", ms(d[0]), ms(d[len(d)/2]), ms(d[len(d)*9/10]), ms(d[len(d)-1]))
	}
	fmt.Printf("%-8s moves=%d rate=%.0f/s posted=%d handled=%d lost=%d handled_twice=%d (max %d/move) replies=%d duplicate_replies=%d\n",
		kind, len(figs), rate, sum.Injected, sum.Handled, sum.Lost, sum.HandledTwice, maxTwice(figs),
		sum.Replies, sum.DuplicateReplies)
	fmt.Printf("%-8s handover gap ms (old runner's last event → new runner's first): %s\n", kind, dist(gaps))
	fmt.Printf("%-8s longest stall ms per move window (any pause, load included):      %s\n", kind, dist(stalls))
	ok := sum.Lost == 0 && sum.DuplicateReplies == 0
	if kind == hatest.Takeover {
		ok = ok && sum.HandledTwice == 0 && gaps[len(gaps)-1] <= 200*time.Millisecond
	}
	if !ok {
		fmt.Printf("%-8s MISSED TARGET (takeover: 0 lost, 0 handled twice, gap ≤ 200 ms; failover: 0 lost, 0 duplicate replies)\n", kind)
	}
	return ok
}

func maxTwice(figs []hatest.Figures) int {
	m := 0
	for _, f := range figs {
		m = max(m, f.HandledTwice)
	}
	return m
}
