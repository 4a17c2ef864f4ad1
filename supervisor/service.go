// Package supervisor implements OTP's supervisors in Go: trees of services restarted by
// strategy (one_for_one, one_for_all, rest_for_one, simple_one_for_one) within a restart
// intensity.
package supervisor

import "context"

// Service is the unit of supervision.
//
// Serve runs the service until ctx is cancelled or the service exits on its own. Cancelling
// ctx asks the service to stop; it should return promptly afterwards. Returning is exiting:
// a nil error, or an error wrapping ErrShutdown, or ctx.Err() after ctx was cancelled, is a
// normal exit; any other error is an abnormal exit. A panic inside Serve is recovered by the
// supervisor and treated as an abnormal exit.
type Service interface {
	Serve(ctx context.Context) error
}

// ServiceFunc adapts a plain function to the Service interface.
type ServiceFunc func(ctx context.Context) error

// Serve calls f(ctx).
func (f ServiceFunc) Serve(ctx context.Context) error { return f(ctx) }
