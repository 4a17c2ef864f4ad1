// Command playtest plays the seed's story with real processes, on this host, with only Go
// installed:
//
//	go run ./examples/playtest
//
// It builds mybot and the gotp CLI, starts an embedded fake Discord and picks a private port
// mapper port, starts joe, robert and mike as separate OS processes with the seed's configs
// (HOSTNAME replaced by this host's name, files in a temporary folder), and shows step by
// step: mybot on joe (normal); joe killed with SIGKILL; the failover after 5 s to mike or
// robert (failover from joe, with the measured delay); joe started again taking the app back
// (takeover); a takeover to robert through the CLI; a !ping answered at each stage; for each
// move the Discord events lost and handled twice and the duplicate replies. It ends with a
// table and exits 0 only if every step happened as expected. Every process it started is
// stopped, by pid.
//
// Flags: -keep keeps the work folder (configs, traces, events, logs); -timeout sets mybot's
// failover Timeout (default 5000 ms, the seed's).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	keep := flag.Bool("keep", false, "keep the work folder")
	timeout := flag.Duration("timeout", 5000*time.Millisecond, "mybot's failover Timeout")
	flag.Parse()
	os.Exit(run(*keep, *timeout))
}

func run(keep bool, timeout time.Duration) int {
	began := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "gotp-playtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "playtest:", err)
		return 1
	}
	if keep {
		fmt.Printf("work folder: %s (kept)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	fmt.Println("building mybot and gotp …")
	mybot, gotp, err := Build(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "playtest:", err)
		return 1
	}
	fmt.Printf("built in %v\n", time.Since(began).Round(time.Millisecond))
	c, err := NewCluster(Options{Dir: dir, MyBot: mybot, Gotp: gotp, Timeout: timeout, Out: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "playtest:", err)
		return 1
	}
	fmt.Printf("fake Discord at %s, port mapper port %d, nodes joe@%s robert@%s mike@%s\n",
		c.Fake.URL(), c.MapperPort, c.opts.Host, c.opts.Host, c.opts.Host)
	rep, err := Run(ctx, c, os.Stdout)
	if err != nil && os.Getenv("PLAYTEST_DUMP") != "" {
		c.Dump()
		time.Sleep(time.Second)
	}
	c.Close(20 * time.Second)
	fmt.Println()
	PrintTable(os.Stdout, rep)
	fmt.Printf("\ntotal %v (build included)\n", time.Since(began).Round(time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "playtest:", err)
		for _, n := range Names {
			fmt.Fprintf(os.Stderr, "--- %s log (tail) ---\n%s\n", n, c.LogTail(n, 15))
		}
		return 1
	}
	if !rep.OK() {
		fmt.Println("playtest: FAILED")
		return 1
	}
	fmt.Println("playtest: every step happened as expected")
	return 0
}
