package nostrum

import (
	"context"
	"slices"
	"sync"
	"time"
)

// identifyGate paces IDENTIFYs: shard s is in bucket s % maxConcurrency; a bucket lets
// one IDENTIFY through at a time, at least window after the previous one was sent;
// waiting shards go in the order they queued (shards queue in start order, so buckets
// start in order); and the session_start_limit budget is respected.
type identifyGate struct {
	mu        sync.Mutex
	window    time.Duration
	maxConc   int
	queues    map[int][]int // bucket → waiting shards, FIFO
	busy      map[int]bool  // bucket → a grant is out (IDENTIFY not sent yet)
	last      map[int]time.Time
	remaining int // -1 = unknown (no limit known)
	resetAt   time.Time
	changed   chan struct{}
	onGrant   func(shard int, at time.Time)
}

func newIdentifyGate(window time.Duration, maxConc, remaining int, resetAfter time.Duration) *identifyGate {
	if maxConc < 1 {
		maxConc = 1
	}
	return &identifyGate{
		window: window, maxConc: maxConc,
		queues: map[int][]int{}, busy: map[int]bool{}, last: map[int]time.Time{},
		remaining: remaining, resetAt: time.Now().Add(resetAfter),
		changed: make(chan struct{}),
	}
}

// enqueue puts shard in its bucket's line if it is not there yet.
func (g *identifyGate) enqueue(shard int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.enqueueLocked(shard)
}

func (g *identifyGate) enqueueLocked(shard int) {
	b := shard % g.maxConc
	if !slices.Contains(g.queues[b], shard) {
		g.queues[b] = append(g.queues[b], shard)
	}
}

func (g *identifyGate) broadcastLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// WaitIdentify implements gateway.IdentifyGate.
func (g *identifyGate) WaitIdentify(ctx context.Context, shard int) (func(), error) {
	b := shard % g.maxConc
	g.mu.Lock()
	g.enqueueLocked(shard)
	for {
		wait, ok := g.tryLocked(b, shard, time.Now())
		if ok {
			g.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { g.release(b) }) }, nil
		}
		changed := g.changed
		g.mu.Unlock()
		var timer <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
		case <-ctx.Done():
			g.mu.Lock()
			g.queues[b] = slices.DeleteFunc(g.queues[b], func(s int) bool { return s == shard })
			g.broadcastLocked()
			g.mu.Unlock()
			return nil, ctx.Err()
		}
		g.mu.Lock()
	}
}

// tryLocked grants shard if it heads its bucket's line and the bucket and budget allow;
// otherwise it returns how long to wait (0 = until something changes).
func (g *identifyGate) tryLocked(b, shard int, now time.Time) (time.Duration, bool) {
	q := g.queues[b]
	if len(q) == 0 || q[0] != shard || g.busy[b] {
		return 0, false
	}
	if next := g.last[b].Add(g.window); now.Before(next) {
		return next.Sub(now), false
	}
	if g.remaining == 0 {
		if now.Before(g.resetAt) {
			return g.resetAt.Sub(now), false
		}
		g.remaining = -1 // a new budget period; its size is unknown until /gateway/bot
	}
	if g.remaining > 0 {
		g.remaining--
	}
	g.queues[b] = q[1:]
	g.busy[b] = true
	if g.onGrant != nil {
		g.onGrant(shard, now)
	}
	return 0, true
}

func (g *identifyGate) release(b int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy[b] = false
	g.last[b] = time.Now()
	g.broadcastLocked()
}
