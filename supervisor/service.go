package supervisor

import "context"

// Service is the unit of supervision.
//
// Serve runs the service until ctx is cancelled or the service exits on its own. It
// runs on a goroutine of its own, started by the supervisor; it should do its work in
// that goroutine and not return before every goroutine it started has stopped, so that
// "returned" means "stopped".
//
// Cancelling ctx asks the service to stop; it should return promptly afterwards, within
// its ChildSpec's Shutdown. Go cannot kill a goroutine: a service that does not return
// in time is abandoned (reported in an EventChildAbandoned) and may keep running, even
// while its replacement runs. Services that share state with their replacement must
// cope with that, or use Infinity as Shutdown.
//
// Returning is exiting. The exit is normal when the error is nil, wraps ErrShutdown, or
// is context.Canceled after ctx was cancelled; any other error is abnormal, and so is
// context.Canceled from some other context while ctx is live. A panic inside Serve is
// recovered by the supervisor into an abnormal exit with a *PanicError (value and
// stack). Whether the service is then restarted follows its RestartType, unless the
// error wraps ErrDoNotRestart.
//
// A Service value is used for one run only: the supervisor builds a new one through
// ChildSpec.Start for every restart.
type Service interface {
	Serve(ctx context.Context) error
}

// ServiceFunc adapts a plain function to the Service interface.
type ServiceFunc func(ctx context.Context) error

// Serve calls f(ctx).
func (f ServiceFunc) Serve(ctx context.Context) error { return f(ctx) }
