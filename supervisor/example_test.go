package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/gotp/gotp/supervisor"
)

// A worker that crashes once is restarted; cancelling Serve's context stops the tree.
func Example() {
	crashed := false
	restarted := make(chan struct{})
	spec := supervisor.Spec{
		Name:     "top",
		Strategy: supervisor.OneForOne,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Children: []supervisor.ChildSpec{{
			ID: "worker",
			Start: func(context.Context) (supervisor.Service, error) {
				return supervisor.ServiceFunc(func(ctx context.Context) error {
					if !crashed {
						crashed = true
						return errors.New("boom")
					}
					close(restarted)
					<-ctx.Done()
					return ctx.Err()
				}), nil
			},
		}},
		EventHook: func(e supervisor.Event) { fmt.Println(e) },
	}
	sup, err := supervisor.New(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sup.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error)
	go func() { done <- sup.Serve(ctx) }()
	<-restarted
	cancel()
	fmt.Println("serve returned:", <-done)
	// Output:
	// supervisor "top": child "worker" started
	// supervisor "top": child "worker" exited (boom), restart: true
	// supervisor "top": restarting ["worker"] after child "worker" exited (1 of 1 restarts in 5s, delay 0s)
	// supervisor "top": child "worker" restarted
	// supervisor "top": child "worker" stopped (context canceled)
	// serve returned: <nil>
}
