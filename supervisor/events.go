package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Event is something a supervisor reports: to its Logger (at the event's Level) and to
// its EventHook. The set of events is closed: the types in this file.
type Event interface {
	fmt.Stringer
	// Map returns the event's fields under stable snake_case keys, ready for JSON.
	Map() map[string]any
	// Attrs returns the same fields as slog attributes.
	Attrs() []slog.Attr
	// Level is the slog level the event is logged at.
	Level() slog.Level
	isEvent()
}

// EventChildStarted: a child started (its Start, and its Service's Start if any,
// returned nil).
type EventChildStarted struct {
	Supervisor string // the supervisor's name
	Child      string // the child's ID
	// Restart is true when this start is a restart.
	Restart bool
}

// EventChildStartFailed: a child's Start (or its Service's Start) failed.
type EventChildStartFailed struct {
	Supervisor string // the supervisor's name
	Child      string // the child's ID
	Err        error  // what its Start returned (a *PanicError if it panicked)
}

// EventChildExited: a child's Serve returned (or panicked).
type EventChildExited struct {
	Supervisor string // the supervisor's name
	Child      string // the child's ID
	// Err is the exit error: nil, the child's own error, or a *PanicError.
	Err error
	// Normal reports a normal exit (see RestartType).
	Normal bool
	// Stopped is true when the supervisor asked the child to stop (a shutdown, a
	// sibling's restart, TerminateChild), false when the child exited on its own.
	Stopped bool
	// Restart says whether the supervisor restarts it (after any backoff).
	Restart bool
}

// EventChildRestarting: the supervisor restarts a group of children after Child
// exited: Child alone (OneForOne, SimpleOneForOne) or with its siblings (OneForAll,
// RestForOne).
type EventChildRestarting struct {
	Supervisor string // the supervisor's name
	Child      string // the child whose exit (or failed restart) causes this one
	// Group are the children (re)started, in start order.
	Group []string
	// Restarts is the number of restarts within the period, this one included, of
	// MaxRestarts allowed within Period.
	Restarts    int
	MaxRestarts int
	Period      time.Duration
	// Delay is the backoff before the start (0 without backoff).
	Delay time.Duration
}

// EventChildAbandoned: a stopped child had not returned when the supervisor stopped
// waiting for it (BrutalKill: at once; a timeout: after it). Go cannot kill a
// goroutine: the child may still be running, even while its replacement runs.
type EventChildAbandoned struct {
	Supervisor string // the supervisor's name
	Child      string // the child's ID
	// Shutdown is the child's shutdown: BrutalKill or the timeout that ran out.
	Shutdown time.Duration
}

// EventIntensityReached: more than MaxRestarts restarts within Period; the supervisor
// stops all its children and exits with an error matching ErrMaxRestartIntensity.
type EventIntensityReached struct {
	Supervisor  string // the supervisor's name
	Child       string // the child whose exit was one restart too many
	Err         error  // that child's exit error
	MaxRestarts int    // the intensity: MaxRestarts within Period
	Period      time.Duration
}

// EventAutoShutdown: significant children exited, and AutoShutdown stops the
// supervisor (normally).
type EventAutoShutdown struct {
	Supervisor   string       // the supervisor's name
	Child        string       // the significant child whose exit stopped the supervisor
	Err          error        // that child's exit error
	AutoShutdown AutoShutdown // the setting that applied
}

func (EventChildStarted) isEvent()     {}
func (EventChildStartFailed) isEvent() {}
func (EventChildExited) isEvent()      {}
func (EventChildRestarting) isEvent()  {}
func (EventChildAbandoned) isEvent()   {}
func (EventIntensityReached) isEvent() {}
func (EventAutoShutdown) isEvent()     {}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func shutdownText(d time.Duration) string {
	switch d {
	case BrutalKill:
		return "brutal_kill"
	case Infinity:
		return "infinity"
	}
	return d.String()
}

// String describes the event.
func (e EventChildStarted) String() string {
	verb := "started"
	if e.Restart {
		verb = "restarted"
	}
	return fmt.Sprintf("supervisor %q: child %q %s", e.Supervisor, e.Child, verb)
}

// Map returns the event's fields.
func (e EventChildStarted) Map() map[string]any {
	return map[string]any{"event": "child_started", "supervisor": e.Supervisor, "child": e.Child, "restart": e.Restart}
}

// Attrs returns the event's fields as slog attributes.
func (e EventChildStarted) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is debug (OTP's progress reports).
func (EventChildStarted) Level() slog.Level { return slog.LevelDebug }

// String describes the event.
func (e EventChildStartFailed) String() string {
	return fmt.Sprintf("supervisor %q: child %q failed to start: %v", e.Supervisor, e.Child, e.Err)
}

// Map returns the event's fields.
func (e EventChildStartFailed) Map() map[string]any {
	return map[string]any{"event": "child_start_failed", "supervisor": e.Supervisor, "child": e.Child, "reason": errText(e.Err)}
}

// Attrs returns the event's fields as slog attributes.
func (e EventChildStartFailed) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is error.
func (EventChildStartFailed) Level() slog.Level { return slog.LevelError }

// String describes the event.
func (e EventChildExited) String() string {
	reason := "normal"
	if e.Err != nil {
		reason = e.Err.Error()
	}
	if e.Stopped {
		return fmt.Sprintf("supervisor %q: child %q stopped (%s)", e.Supervisor, e.Child, reason)
	}
	return fmt.Sprintf("supervisor %q: child %q exited (%s), restart: %t", e.Supervisor, e.Child, reason, e.Restart)
}

// Map returns the event's fields; a panic's stack is under "stack".
func (e EventChildExited) Map() map[string]any {
	m := map[string]any{"event": "child_exited", "supervisor": e.Supervisor, "child": e.Child,
		"reason": errText(e.Err), "normal": e.Normal, "stopped": e.Stopped, "restart": e.Restart}
	if p, ok := e.Err.(*PanicError); ok {
		m["stack"] = string(p.Stack)
	}
	return m
}

// Attrs returns the event's fields as slog attributes.
func (e EventChildExited) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is debug for a normal exit, warn for an abnormal one while the supervisor
// stopped the child (OTP's shutdown_error), error for an abnormal exit the child made on
// its own.
func (e EventChildExited) Level() slog.Level {
	switch {
	case e.Normal:
		return slog.LevelDebug
	case e.Stopped:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// String describes the event.
func (e EventChildRestarting) String() string {
	return fmt.Sprintf("supervisor %q: restarting %q after child %q exited (%d of %d restarts in %v, delay %v)",
		e.Supervisor, e.Group, e.Child, e.Restarts, e.MaxRestarts, e.Period, e.Delay)
}

// Map returns the event's fields.
func (e EventChildRestarting) Map() map[string]any {
	return map[string]any{"event": "child_restarting", "supervisor": e.Supervisor, "child": e.Child,
		"group": e.Group, "restarts": e.Restarts, "max_restarts": e.MaxRestarts,
		"period_ms": e.Period.Milliseconds(), "delay_ms": e.Delay.Milliseconds()}
}

// Attrs returns the event's fields as slog attributes.
func (e EventChildRestarting) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is info.
func (EventChildRestarting) Level() slog.Level { return slog.LevelInfo }

// String describes the event.
func (e EventChildAbandoned) String() string {
	if e.Shutdown == BrutalKill {
		return fmt.Sprintf("supervisor %q: child %q brutally killed before it returned; abandoned, it may still be running", e.Supervisor, e.Child)
	}
	return fmt.Sprintf("supervisor %q: child %q did not stop within %v; abandoned, it may still be running", e.Supervisor, e.Child, e.Shutdown)
}

// Map returns the event's fields.
func (e EventChildAbandoned) Map() map[string]any {
	return map[string]any{"event": "child_abandoned", "supervisor": e.Supervisor, "child": e.Child, "shutdown": shutdownText(e.Shutdown)}
}

// Attrs returns the event's fields as slog attributes.
func (e EventChildAbandoned) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is warn.
func (EventChildAbandoned) Level() slog.Level { return slog.LevelWarn }

// String describes the event.
func (e EventIntensityReached) String() string {
	return fmt.Sprintf("supervisor %q: more than %d restarts in %v, last child %q (%v); stopping",
		e.Supervisor, e.MaxRestarts, e.Period, e.Child, e.Err)
}

// Map returns the event's fields.
func (e EventIntensityReached) Map() map[string]any {
	return map[string]any{"event": "intensity_reached", "supervisor": e.Supervisor, "child": e.Child,
		"reason": errText(e.Err), "max_restarts": e.MaxRestarts, "period_ms": e.Period.Milliseconds()}
}

// Attrs returns the event's fields as slog attributes.
func (e EventIntensityReached) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is error.
func (EventIntensityReached) Level() slog.Level { return slog.LevelError }

// String describes the event.
func (e EventAutoShutdown) String() string {
	return fmt.Sprintf("supervisor %q: auto shutdown (%s) after significant child %q exited (%v)",
		e.Supervisor, e.AutoShutdown, e.Child, e.Err)
}

// Map returns the event's fields.
func (e EventAutoShutdown) Map() map[string]any {
	return map[string]any{"event": "auto_shutdown", "supervisor": e.Supervisor, "child": e.Child,
		"reason": errText(e.Err), "auto_shutdown": e.AutoShutdown.String()}
}

// Attrs returns the event's fields as slog attributes.
func (e EventAutoShutdown) Attrs() []slog.Attr { return attrs(e.Map()) }

// Level is info.
func (EventAutoShutdown) Level() slog.Level { return slog.LevelInfo }

// attrs turns a Map into slog attributes, leaving out the "event" key (the message).
func attrs(m map[string]any) []slog.Attr {
	out := make([]slog.Attr, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "event" {
			out = append(out, slog.Any(k, m[k]))
		}
	}
	return out
}

// wants reports whether an event at level goes anywhere, so that hot paths build
// events only when they are used.
func (s *Supervisor) wants(level slog.Level) bool {
	return s.spec.EventHook != nil || s.spec.Logger.Enabled(context.Background(), level)
}

// emit sends e to the logger (if its level is enabled) and the hook.
func (s *Supervisor) emit(e Event) {
	if s.spec.EventHook != nil {
		s.spec.EventHook(e)
	}
	lg := s.spec.Logger
	if lg.Enabled(context.Background(), e.Level()) {
		lg.LogAttrs(context.Background(), e.Level(), e.Map()["event"].(string), e.Attrs()...)
	}
}
