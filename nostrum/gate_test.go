package nostrum

import (
	"context"
	"testing"
	"time"
)

func TestGateRespectsSessionStartLimit(t *testing.T) {
	g := newIdentifyGate(time.Millisecond, 2, 1, 200*time.Millisecond) // one IDENTIFY left
	ctx := context.Background()
	start := time.Now()
	release, err := g.WaitIdentify(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release()                             // idempotent
	release, err = g.WaitIdentify(ctx, 1) // other bucket, but the budget is spent
	if err != nil {
		t.Fatal(err)
	}
	release()
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("second IDENTIFY after %v, before the budget reset", waited)
	}
}

func TestGateQueuesInOrderAndForgetsCancelled(t *testing.T) {
	g := newIdentifyGate(20*time.Millisecond, 1, -1, 0)
	g.enqueue(0)
	g.enqueue(1)
	g.enqueue(2)
	ctx := context.Background()
	// Shard 2 asks first but must wait for 0 and 1, which queued before it.
	got := make(chan int, 3)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		if _, err := g.WaitIdentify(cctx, 1); err == nil {
			got <- 1
		} else {
			got <- -1
		}
	}()
	go func() {
		rel, err := g.WaitIdentify(ctx, 2)
		if err == nil {
			rel()
			got <- 2
		}
	}()
	rel, err := g.WaitIdentify(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // shard 1 gives up while 0 holds the bucket
	if first := <-got; first != -1 {
		t.Fatalf("shard %d went while shard 0 held the bucket", first)
	}
	rel()
	if next := <-got; next != 2 {
		t.Fatalf("got shard %d, want 2 once the cancelled shard 1 left the line", next)
	}
}
