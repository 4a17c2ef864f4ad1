package supervisor

import "time"

// Clock is the supervisor's source of time: restart intensity reads Now, backoff and
// shutdown timeouts use timers. Tests inject a fake clock so that nothing sleeps.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a supervisor uses.
type Timer interface {
	// C returns the channel the timer fires on.
	C() <-chan time.Time
	// Stop stops the timer; it reports whether it was still pending.
	Stop() bool
}

// realClock is the Clock of the time package.
type realClock struct{}

// Now returns time.Now().
func (realClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// realTimer is a *time.Timer as a Timer.
type realTimer struct{ t *time.Timer }

// C returns the timer's channel.
func (t realTimer) C() <-chan time.Time { return t.t.C }

// Stop stops the timer.
func (t realTimer) Stop() bool { return t.t.Stop() }
