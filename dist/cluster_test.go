package dist_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/dist/disttest"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitEvent waits for an event matching pred on ch.
func waitEvent(t *testing.T, ch <-chan dist.NodeEvent, d time.Duration, pred func(dist.NodeEvent) bool) dist.NodeEvent {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("monitor channel closed")
			}
			if pred(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no matching event within %v", d)
		}
	}
}

func TestJoinAndConverge(t *testing.T) {
	for _, n := range []int{3, 5, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := disttest.NewCluster(t, disttest.Options{N: n})
			if err := c.WaitConverged(ctxT(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCrashDetection kills one node of clusters of 3, 5 and 10 and checks that every
// survivor reports it down with reason closed (link lost, reconnect refused) for the killed
// instance, and that the survivors converge again.
func TestCrashDetection(t *testing.T) {
	for _, n := range []int{3, 5, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := disttest.NewCluster(t, disttest.Options{N: n})
			if err := c.WaitConverged(ctxT(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			victim := n - 1
			monitors := make([]<-chan dist.NodeEvent, victim)
			for i := range victim {
				_, ev, cancel := c.Node(i).Monitor()
				defer cancel()
				monitors[i] = ev
			}
			boot := c.Node(victim).BootID()
			c.Kill(victim)
			for i, ch := range monitors {
				ev := waitEvent(t, ch, 20*time.Second, func(e dist.NodeEvent) bool { return !e.Up && e.Node == c.Name(victim) })
				if ev.Reason != dist.DownClosed || ev.BootID != boot {
					t.Fatalf("node %d: nodedown %+v, want reason closed and boot %d", i, ev, boot)
				}
			}
			if err := c.WaitConverged(ctxT(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The app package consumes dist through this interface (CONTRACTS.md).
var _ interface {
	Self() dist.Node
	Nodes() []dist.Node
	Monitor() ([]dist.Node, <-chan dist.NodeEvent, func())
	Handle(service string, h dist.Handler)
	Send(ctx context.Context, to dist.Node, service string, payload []byte) error
	Request(ctx context.Context, to dist.Node, service string, payload []byte) ([]byte, error)
} = (*dist.Endpoint)(nil)
