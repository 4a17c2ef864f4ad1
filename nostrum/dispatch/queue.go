// Package dispatch delivers a shard's gateway events to the bot's handler: in order per
// shard (or with bounded concurrency), with panics recovered, and with the committed
// sequence — the highest sequence whose event, and every one before it, has been handled —
// that a detached shard hands to the process resuming it.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/gotp/gotp/nostrum/discord"
)

// Event is one gateway dispatch as the bot's handler sees it.
type Event struct {
	Shard      int
	ShardCount int
	Seq        int64
	Type       string           // e.g. "MESSAGE_CREATE"
	Raw        string           // the raw JSON of "d"
	Message    *discord.Message // decoded for MESSAGE_CREATE (and MESSAGE_UPDATE), else nil
}

// Handler handles one event. Its error is logged; the event still counts as handled.
type Handler func(ctx context.Context, ev Event) error

// ErrQueueClosed is returned by Push after Close.
var ErrQueueClosed = errors.New("dispatch: queue closed")

// Config configures a Queue.
type Config struct {
	Handler     Handler      // required
	Concurrency int          // handlers running at once; default 1 (strict order)
	Buffer      int          // events queued before Push blocks; default 256
	Logger      *slog.Logger // default slog.Default()
}

// Queue runs a handler over one shard's events.
type Queue struct {
	cfg Config
	ch  chan item

	mu        sync.Mutex
	pending   []*slot // pushed and not finished, in push order
	committed int64
	idle      chan struct{} // closed when pending is empty; replaced when it fills
	closed    bool

	wg sync.WaitGroup
}

type item struct {
	ev   Event
	slot *slot
}

type slot struct {
	seq  int64
	done bool
}

// New starts a queue's workers; Close stops them.
func New(cfg Config) (*Queue, error) {
	if cfg.Handler == nil {
		return nil, errors.New("dispatch: Handler is nil")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	q := &Queue{cfg: cfg, ch: make(chan item, cfg.Buffer), idle: make(chan struct{})}
	close(q.idle)
	q.wg.Add(cfg.Concurrency)
	for range cfg.Concurrency {
		go q.work()
	}
	return q, nil
}

// SetCommitted sets the committed sequence, e.g. to a ResumeInfo's Seq before resuming.
func (q *Queue) SetCommitted(seq int64) {
	q.mu.Lock()
	q.committed = seq
	q.mu.Unlock()
}

// Committed returns the low-watermark: every event up to it has been handled.
func (q *Queue) Committed() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.committed
}

// Push queues ev, blocking while the queue is full (backpressure on the gateway reader).
// Events must be pushed from one goroutine, in sequence order.
func (q *Queue) Push(ctx context.Context, ev Event) error {
	s := &slot{seq: ev.Seq}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrQueueClosed
	}
	if len(q.pending) == 0 {
		q.idle = make(chan struct{})
	}
	q.pending = append(q.pending, s)
	q.mu.Unlock()
	select {
	case q.ch <- item{ev: ev, slot: s}:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		q.pending = q.pending[:len(q.pending)-1] // ours is last: one pusher
		q.markIdle()
		q.mu.Unlock()
		return ctx.Err()
	}
}

// Drain waits until every pushed event has been handled, or ctx is done.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dispatch: drain: %w", ctx.Err())
	}
}

// Close stops accepting events and waits for the workers to finish what was queued.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

func (q *Queue) work() {
	defer q.wg.Done()
	for it := range q.ch {
		q.handle(it.ev)
		q.finish(it.slot)
	}
}

func (q *Queue) handle(ev Event) {
	defer func() {
		if r := recover(); r != nil {
			q.cfg.Logger.Error("nostrum handler panicked", "shard", ev.Shard, "seq", ev.Seq,
				"type", ev.Type, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if err := q.cfg.Handler(context.Background(), ev); err != nil {
		q.cfg.Logger.Warn("nostrum handler failed", "shard", ev.Shard, "seq", ev.Seq, "type", ev.Type, "err", err)
	}
}

// finish marks s done and advances the watermark over the finished prefix.
func (q *Queue) finish(s *slot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s.done = true
	n := 0
	for n < len(q.pending) && q.pending[n].done {
		if q.pending[n].seq != 0 {
			q.committed = q.pending[n].seq
		}
		n++
	}
	if n > 0 {
		q.pending = append(q.pending[:0], q.pending[n:]...)
	}
	q.markIdle()
}

func (q *Queue) markIdle() {
	if len(q.pending) == 0 {
		select {
		case <-q.idle:
		default:
			close(q.idle)
		}
	}
}
