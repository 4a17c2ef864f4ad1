package gateway

import "time"

// sendLimiter is a sliding-log limiter: at most limit sends in any span of window, which
// is safe whatever window shape the server counts with. Ordinary sends may use only
// limit-reserved slots; priority sends (heartbeat, IDENTIFY, RESUME) may use all, so
// they are never starved by a burst. It is pure: the caller passes the time.
type sendLimiter struct {
	limit    int
	reserved int
	window   time.Duration
	sent     []time.Time // ascending
}

func newSendLimiter(limit, reserved int, window time.Duration) *sendLimiter {
	if reserved >= limit {
		reserved = limit - 1
	}
	if reserved < 0 {
		reserved = 0
	}
	return &sendLimiter{limit: limit, reserved: reserved, window: window}
}

// reserve records a send at now and returns 0, or returns how long to wait before asking
// again.
func (l *sendLimiter) reserve(now time.Time, prio bool) time.Duration {
	cut := 0
	for cut < len(l.sent) && !l.sent[cut].After(now.Add(-l.window)) {
		cut++
	}
	l.sent = append(l.sent[:0], l.sent[cut:]...)
	capacity := l.limit
	if !prio {
		capacity -= l.reserved
	}
	if len(l.sent) < capacity {
		l.sent = append(l.sent, now)
		return 0
	}
	oldest := l.sent[len(l.sent)-capacity]
	wait := oldest.Add(l.window).Sub(now)
	if wait <= 0 {
		wait = time.Millisecond
	}
	return wait
}
