package app

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gotp/gotp/supervisor"
)

type ccApp struct {
	changed chan map[string]any
	exit    chan error
}

func (a *ccApp) Start(ctx context.Context, st StartType) (supervisor.Service, error) {
	return supervisor.ServiceFunc(func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case err := <-a.exit:
			return err
		}
	}), nil
}

func (a *ccApp) ConfigChange(ctx context.Context, changed map[string]any, removed []string) {
	if v, ok := Env(ctx, "k"); ok {
		changed = map[string]any{"k": v, "removed": removed}
	}
	a.changed <- changed
}

// Environment changes reach the running instance; restart types on exit as OTP.
func TestLocalConfigChangeAndRestartTypes(t *testing.T) {
	fatal := make(chan string, 1)
	c, err := New(Config{Env: map[string]map[string]any{"a": {"k": "config"}}, OnFatal: func(app, _ string) { fatal <- app }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Halt()
	a := &ccApp{changed: make(chan map[string]any, 1), exit: make(chan error, 1)}
	b := &ccApp{changed: make(chan map[string]any, 1), exit: make(chan error, 1)}
	if err := c.Load(Spec{Name: "a", App: a, Env: map[string]any{"k": "default", "x": 1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(Spec{Name: "b", App: b}); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Env("a", "k"); v != "config" {
		t.Fatalf("config file value should win over the default: %v", v)
	}
	ctx := context.Background()
	if err := c.Start(ctx, "a", Transient); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "b", Permanent); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigChange(ctx, "a", map[string]any{"k": "new"}, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	got := <-a.changed
	if got["k"] != "new" || !slices.Equal(got["removed"].([]string), []string{"x"}) {
		t.Fatalf("config change seen by the instance: %v", got)
	}
	if _, ok := c.Env("a", "x"); ok {
		t.Fatal("removed key still visible")
	}
	// A transient application that exits normally: the node keeps running, a is not running.
	a.exit <- nil
	waitCond(t, func() bool { return len(c.WhichApplications()) == 1 })
	if err := c.Stop(ctx, "a"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("stop after a normal transient exit: %v", err)
	}
	// A permanent application that exits: the node stops.
	b.exit <- errors.New("boom")
	if app := <-fatal; app != "b" {
		t.Fatalf("fatal for %s", app)
	}
	<-c.Done()
	if err := c.Start(ctx, "a", Temporary); !errors.Is(err, ErrShutdown) {
		t.Fatalf("start after the node stopped: %v", err)
	}
}
