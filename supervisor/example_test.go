package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

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

// A simple_one_for_one supervisor starts children from its template at run time; a
// Start closure gives each one its arguments.
func ExampleSupervisor_StartChild() {
	worker := func(name string) func(context.Context) (supervisor.Service, error) {
		return func(context.Context) (supervisor.Service, error) {
			return supervisor.ServiceFunc(func(ctx context.Context) error {
				<-ctx.Done() // serve name until stopped
				return nil
			}), nil
		}
	}
	sup, err := supervisor.New(supervisor.Spec{
		Name:     "pool",
		Strategy: supervisor.SimpleOneForOne,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Children: []supervisor.ChildSpec{{ID: "conn", Restart: supervisor.Transient, Shutdown: time.Second, Start: worker("default")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sup.Serve(ctx) }()

	for _, name := range []string{"alpha", "beta"} {
		id, err := sup.StartChild(ctx, supervisor.ChildSpec{Start: worker(name)})
		fmt.Println(id, err)
	}
	counts, _ := sup.CountChildren(ctx)
	fmt.Printf("%d children, %d running\n", counts.Specs, counts.Active)
	cancel()
	fmt.Println(<-done)
	// Output:
	// conn-1 <nil>
	// conn-2 <nil>
	// 2 children, 2 running
	// <nil>
}

// A nested supervisor is a child like any other: Spec.ChildSpec builds a fresh one for
// every (re)start, and the parent's Start returns once the whole tree is up.
func ExampleSpec_ChildSpec() {
	idle := supervisor.ChildSpec{ID: "db", Start: func(context.Context) (supervisor.Service, error) {
		return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
	}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	inner := supervisor.Spec{Name: "storage", Strategy: supervisor.RestForOne, Children: []supervisor.ChildSpec{idle}, Logger: quiet}
	top, err := supervisor.New(supervisor.Spec{Name: "app", Children: []supervisor.ChildSpec{inner.ChildSpec()}, Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := top.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- top.Serve(ctx) }()
	children, _ := top.WhichChildren(ctx)
	fmt.Println(children[0].ID, children[0].Type, children[0].State)
	cancel()
	fmt.Println(<-done)
	// Output:
	// storage supervisor running
	// <nil>
}
