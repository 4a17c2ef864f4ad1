// Command gotp is the operator's tool for gotp nodes. Today it has one command:
//
//	gotp config check [--json] FILE...
//
// which merges and validates config files as a booting node would (exit 0 valid, 1 invalid,
// 2 usage error). Flags may come before or after the command words.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
