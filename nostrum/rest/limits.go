package rest

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// bucket is one rate-limit bucket. Requests in a bucket run one at a time (sem), so the
// remaining count from the last response is always current.
type bucket struct {
	sem chan struct{}

	mu        sync.Mutex
	remaining int // -1 = unknown
	resetAt   time.Time
	pausedTil time.Time // from a 429
}

func newBucket() *bucket { return &bucket{sem: make(chan struct{}, 1), remaining: -1} }

func (b *bucket) acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *bucket) release() { <-b.sem }

// waitReset waits while the bucket is exhausted or paused.
func (b *bucket) waitReset(ctx context.Context) error {
	for {
		b.mu.Lock()
		now := time.Now()
		var until time.Time
		if b.remaining == 0 && now.Before(b.resetAt) {
			until = b.resetAt
		}
		if now.Before(b.pausedTil) && b.pausedTil.After(until) {
			until = b.pausedTil
		}
		b.mu.Unlock()
		if until.IsZero() {
			return nil
		}
		if err := sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// update takes the bucket state from a response's headers.
func (b *bucket) update(h http.Header, now time.Time) {
	rem, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	after := parseSeconds(h.Get("X-RateLimit-Reset-After"))
	b.mu.Lock()
	b.remaining, b.resetAt = rem, now.Add(after)
	b.mu.Unlock()
}

func (b *bucket) pause(until time.Time) {
	b.mu.Lock()
	if until.After(b.pausedTil) {
		b.pausedTil = until
	}
	b.mu.Unlock()
}

// globalLimiter is the bot-wide limit: at most limit requests in any span of window
// (a sliding log), plus a pause after a global 429.
type globalLimiter struct {
	mu        sync.Mutex
	limit     int
	window    time.Duration
	sent      []time.Time
	pausedTil time.Time
}

func newGlobalLimiter(limit int, window time.Duration) *globalLimiter {
	return &globalLimiter{limit: limit, window: window}
}

func (g *globalLimiter) wait(ctx context.Context) error {
	for {
		d := g.reserve(time.Now())
		if d == 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// reserve records a request at now, or returns how long to wait.
func (g *globalLimiter) reserve(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.pausedTil) {
		return g.pausedTil.Sub(now)
	}
	cut := 0
	for cut < len(g.sent) && !g.sent[cut].After(now.Add(-g.window)) {
		cut++
	}
	g.sent = append(g.sent[:0], g.sent[cut:]...)
	if len(g.sent) < g.limit {
		g.sent = append(g.sent, now)
		return 0
	}
	return max(g.sent[0].Add(g.window).Sub(now), time.Millisecond)
}

func (g *globalLimiter) pause(until time.Time) {
	g.mu.Lock()
	if until.After(g.pausedTil) {
		g.pausedTil = until
	}
	g.mu.Unlock()
}
