package gateway

import (
	"testing"
	"time"
)

func TestSendLimiterReservesPrioritySlots(t *testing.T) {
	l := newSendLimiter(5, 2, time.Second)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if w := l.reserve(t0, false); w != 0 {
			t.Fatalf("ordinary send %d waits %v", i, w)
		}
	}
	if w := l.reserve(t0, false); w != time.Second {
		t.Fatalf("4th ordinary send waits %v, want 1s", w)
	}
	for i := 0; i < 2; i++ {
		if w := l.reserve(t0.Add(100*time.Millisecond), true); w != 0 {
			t.Fatalf("heartbeat %d waits %v: starved by ordinary sends", i, w)
		}
	}
	if w := l.reserve(t0.Add(200*time.Millisecond), true); w != 800*time.Millisecond {
		t.Fatalf("6th send waits %v, want 800ms (the oldest leaves the window)", w)
	}
	if w := l.reserve(t0.Add(time.Second), false); w != 0 {
		t.Fatalf("after the window an ordinary send waits %v", w)
	}
	if l := newSendLimiter(2, 5, time.Second); l.reserved != 1 {
		t.Fatalf("reserved %d, want capped at limit-1", l.reserved)
	}
}

func TestClassifyClose(t *testing.T) {
	cases := map[int]CloseAction{
		4000: ActionResume, 4001: ActionResume, 4002: ActionResume, 4003: ActionResume, 4005: ActionResume,
		4008: ActionResume, 1000: ActionResume, 1006: ActionResume,
		4007: ActionReidentify, 4009: ActionReidentify,
		4004: ActionFatal, 4010: ActionFatal, 4011: ActionFatal, 4012: ActionFatal, 4013: ActionFatal, 4014: ActionFatal,
	}
	for code, want := range cases {
		if got := ClassifyClose(code); got != want {
			t.Errorf("ClassifyClose(%d) = %v, want %v", code, got, want)
		}
	}
}
