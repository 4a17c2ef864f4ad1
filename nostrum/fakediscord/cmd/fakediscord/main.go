// Command fakediscord runs the fake Discord server of package fakediscord:
//
//	go run ./nostrum/fakediscord/cmd/fakediscord -addr 127.0.0.1:PORT [-token T] [-intents N]
//
// It prints its base URL (REST under /api/v10, control API under /_fake/)
// and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gotp/gotp/nostrum/fakediscord"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakediscord:", err)
		os.Exit(1)
	}
}

// run parses args, starts the server, prints its URLs to out and serves
// until ctx is done.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("fakediscord", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("addr", "127.0.0.1:0", "listen address for REST, control API and gateway")
	resumeAddr := fs.String("resume-addr", "127.0.0.1:0", "listen address of the resume gateway")
	token := fs.String("token", "", "the only valid bot token (default: any non-empty token)")
	intents := fs.Uint64("intents", 0, "intents a bot may request (default 0: all)")
	shards := fs.Int("shards", 1, "recommended shard count")
	maxConc := fs.Int("max-concurrency", 1, "identify buckets (max_concurrency)")
	heartbeat := fs.Duration("heartbeat", 41250*time.Millisecond, "heartbeat interval sent in Hello")
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	srv, err := fakediscord.Start(fakediscord.Config{
		Addr: *addr, ResumeAddr: *resumeAddr, Token: *token, AllowedIntents: *intents,
		Shards: *shards, MaxConcurrency: *maxConc, HeartbeatInterval: *heartbeat,
		Logger: slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, srv.URL())
	fmt.Fprintf(errOut, "fakediscord: gateway %s, resume gateway %s, control API %s/_fake/\n",
		srv.GatewayURL(), srv.ResumeURL(), srv.URL())
	<-ctx.Done()
	return srv.Close()
}
