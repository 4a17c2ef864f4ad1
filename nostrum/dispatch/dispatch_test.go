package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

func TestOrderedDelivery(t *testing.T) {
	var mu sync.Mutex
	var got []int64
	q, err := New(Config{Logger: quiet, Handler: func(_ context.Context, ev Event) error {
		mu.Lock()
		got = append(got, ev.Seq)
		mu.Unlock()
		if ev.Seq == 5 {
			panic("boom") // recovered; later events still flow
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 100; i++ {
		if err := q.Push(context.Background(), Event{Seq: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if len(got) != 100 {
		t.Fatalf("got %d events", len(got))
	}
	for i, s := range got {
		if s != int64(i+1) {
			t.Fatalf("event %d has seq %d: out of order", i, s)
		}
	}
	if c := q.Committed(); c != 100 {
		t.Fatalf("committed = %d, want 100", c)
	}
	if err := q.Push(context.Background(), Event{Seq: 101}); err != ErrQueueClosed {
		t.Fatalf("push after close = %v", err)
	}
}

func TestCommittedIsLowWatermark(t *testing.T) {
	release := map[int64]chan struct{}{1: make(chan struct{}), 2: make(chan struct{}), 3: make(chan struct{})}
	started := make(chan int64, 3)
	q, _ := New(Config{Logger: quiet, Concurrency: 3, Handler: func(_ context.Context, ev Event) error {
		started <- ev.Seq
		<-release[ev.Seq]
		return nil
	}})
	defer q.Close()
	for i := int64(1); i <= 3; i++ {
		_ = q.Push(context.Background(), Event{Seq: i})
	}
	for range 3 {
		<-started
	}
	close(release[3])
	close(release[2])
	waitCommitted := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for q.Committed() != want {
			if time.Now().After(deadline) {
				t.Fatalf("committed = %d, want %d", q.Committed(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Drain(ctx); err == nil {
		t.Fatal("drain returned while event 1 is still running")
	}
	if c := q.Committed(); c != 0 {
		t.Fatalf("committed = %d while event 1 runs, want 0", c)
	}
	close(release[1])
	waitCommitted(3)
}

func TestPushBlocksWhenFullAndHonoursContext(t *testing.T) {
	block := make(chan struct{})
	started := make(chan struct{}, 10)
	q, _ := New(Config{Logger: quiet, Buffer: 1, Handler: func(context.Context, Event) error {
		started <- struct{}{}
		<-block
		return nil
	}})
	_ = q.Push(context.Background(), Event{Seq: 1})
	<-started                                       // the worker holds event 1
	_ = q.Push(context.Background(), Event{Seq: 2}) // fills the buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Push(ctx, Event{Seq: 3}); err == nil {
		t.Fatal("push into a full queue did not block")
	}
	close(block)
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if c := q.Committed(); c != 2 {
		t.Fatalf("committed = %d, want 2 (seq 3 was never queued)", c)
	}
}

func TestHub(t *testing.T) {
	var h Hub
	all, cancelAll := h.Subscribe(nil, 2)
	msgs, cancelMsgs := h.Subscribe(func(e Event) bool { return e.Type == "MESSAGE_CREATE" }, 10)
	h.Publish(Event{Type: "READY", Seq: 1})
	h.Publish(Event{Type: "MESSAGE_CREATE", Seq: 2})
	h.Publish(Event{Type: "MESSAGE_CREATE", Seq: 3}) // all's buffer (2) is full: dropped there
	if e := <-msgs; e.Seq != 2 {
		t.Fatalf("filtered subscriber got %d", e.Seq)
	}
	if e := <-all; e.Seq != 1 {
		t.Fatalf("subscriber got %d", e.Seq)
	}
	if h.Dropped() != 1 {
		t.Fatalf("dropped = %d, want 1", h.Dropped())
	}
	cancelAll()
	cancelAll()
	cancelMsgs()
	h.Publish(Event{Type: "MESSAGE_CREATE"})
}
