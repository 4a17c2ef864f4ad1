package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrDoNotRestart, wrapped in a child's exit error, stops the child from being
	// restarted whatever its restart type. The exit's cause is kept in the
	// EventChildExited and, if the exit stops the supervisor (a significant child), in
	// the supervisor's *ExitError.
	ErrDoNotRestart = errors.New("do not restart")
	// ErrShutdown, wrapped in a child's exit error, makes the exit normal (OTP's
	// shutdown and {shutdown, Term}). A supervisor that shuts itself down because of
	// AutoShutdown returns an error wrapping it, so its parent sees a normal exit.
	ErrShutdown = errors.New("shutdown")
	// ErrMaxRestartIntensity is matched by the error a supervisor returns when more
	// than MaxRestarts restarts happened within Period.
	ErrMaxRestartIntensity = errors.New("reached max restart intensity")

	// ErrNotRunning is returned by the runtime API when the supervisor is not serving
	// (it stopped, or its start failed).
	ErrNotRunning = errors.New("supervisor not running")
	// ErrAlreadyStarted is returned by Start or Serve called a second time: a
	// Supervisor runs once; build a new one to run again.
	ErrAlreadyStarted = errors.New("supervisor already started")
	// ErrChildNotFound is returned for an ID the supervisor does not know.
	ErrChildNotFound = errors.New("child not found")
	// ErrChildRunning is returned by RestartChild and DeleteChild for a child that
	// is running (or waiting to be restarted).
	ErrChildRunning = errors.New("child is running")
	// ErrChildExists is returned by StartChild for an ID already in use.
	ErrChildExists = errors.New("child already exists")
	// ErrNotSupported is returned by RestartChild and DeleteChild on a
	// SimpleOneForOne supervisor, as in OTP.
	ErrNotSupported = errors.New("not supported by simple_one_for_one")
)

// PanicError is the exit error of a child whose Serve panicked.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

// Error returns the panic value, without the stack.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// StartError reports a child that failed to start. When a supervisor's start fails
// (Start, or a restart that gives up), the children started before it were stopped, in
// reverse order.
type StartError struct {
	// Supervisor is the name of the supervisor whose child failed.
	Supervisor string
	// Child is the ID of the child that failed to start.
	Child string
	// Err is the error from the child's Start (or from its Service's Start).
	Err error
}

// Error names the supervisor and the child.
func (e *StartError) Error() string {
	return fmt.Sprintf("supervisor %q: child %q failed to start: %v", e.Supervisor, e.Child, e.Err)
}

// Unwrap returns Err.
func (e *StartError) Unwrap() error { return e.Err }

// ExitError is what a supervisor's Serve returns when it stops on its own: restart
// intensity reached (matches ErrMaxRestartIntensity) or auto shutdown (matches
// ErrShutdown, a normal exit for its parent).
type ExitError struct {
	// Supervisor is the supervisor's name.
	Supervisor string
	// Reason is ErrMaxRestartIntensity or ErrShutdown.
	Reason error
	// Child is the ID of the child whose exit stopped the supervisor.
	Child string
	// Cause is that child's exit error (nil for a normal exit). It is kept for the
	// report but not unwrapped, so that e.g. a child's ErrDoNotRestart does not leak to
	// the parent's restart decision.
	Cause error
	// Restarts and Period give the intensity reached (Reason ErrMaxRestartIntensity).
	Restarts int
	Period   time.Duration
	// Unstopped names the children that did not stop within their Shutdown while the
	// supervisor stopped; they were abandoned and may still be running.
	Unstopped []string
}

// Error describes the stop, the child and its cause.
func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "supervisor %q: ", e.Supervisor)
	if errors.Is(e.Reason, ErrMaxRestartIntensity) {
		fmt.Fprintf(&b, "%v (more than %d restarts in %v)", e.Reason, e.Restarts, e.Period)
	} else {
		fmt.Fprintf(&b, "%v (auto shutdown)", e.Reason)
	}
	if e.Child != "" {
		fmt.Fprintf(&b, " after child %q exited", e.Child)
		if e.Cause != nil {
			fmt.Fprintf(&b, ": %v", e.Cause)
		}
	}
	if len(e.Unstopped) > 0 {
		fmt.Fprintf(&b, "; abandoned unstopped children %q", e.Unstopped)
	}
	return b.String()
}

// Unwrap returns Reason.
func (e *ExitError) Unwrap() error { return e.Reason }

// StopError is what Serve returns after its context was cancelled when some children
// did not stop within their Shutdown: they were abandoned and may still be running.
type StopError struct {
	// Supervisor is the supervisor's name.
	Supervisor string
	// Unstopped names the abandoned children, in the order they were stopped.
	Unstopped []string
}

// Error names the abandoned children.
func (e *StopError) Error() string {
	return fmt.Sprintf("supervisor %q: children %q did not stop in time and were abandoned", e.Supervisor, e.Unstopped)
}
