package app_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/supervisor"
)

// An application whose top service runs until the controller stops it, started on a node
// without distribution.
func Example() {
	c, err := app.New(app.Config{})
	if err != nil {
		panic(err)
	}
	defer c.Halt()
	hello := app.AppFunc(func(ctx context.Context, st app.StartType) (supervisor.Service, error) {
		fmt.Println("starting:", st)
		return supervisor.ServiceFunc(func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		}), nil
	})
	_ = c.Load(app.Spec{Name: "hello", App: hello, Env: map[string]any{"greeting": "hi"}})
	ctx := context.Background()
	if err := c.Start(ctx, "hello", app.Permanent); err != nil {
		panic(err)
	}
	for _, a := range c.WhichApplications() {
		fmt.Println("running:", a.Name)
	}
	err = c.Start(ctx, "hello", app.Permanent)
	fmt.Println(errors.Is(err, app.ErrAlreadyStarted), app.OTPName(err))
	_ = c.Stop(ctx, "hello")
	// Output:
	// starting: normal
	// running: hello
	// true already_started
}
