// Command gotp is the operator's tool for gotp nodes:
//
//	gotp config check [--json] FILE...
//	gotp nodes | apps | where APP | takeover APP [--restart-type T] | permit APP true|false
//	     [--node N] [--cookie C] [--epmd-port P] [--config F] [--json]
//
// config check merges and validates config files as a booting node would (exit 0 valid,
// 1 invalid, 2 usage error). The other commands ask the node named by --node, connecting as a
// hidden node (gotp_<pid>@<host of --node>) authenticated by the cookie. Flags may come
// before or after the command words.
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
