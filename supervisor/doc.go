// Package supervisor implements OTP's supervisors in Go: trees of services restarted by
// strategy (one_for_one, one_for_all, rest_for_one, simple_one_for_one) within a restart
// intensity.
//
// # Services and children
//
// A Service is anything with Serve(ctx) error: cancelling ctx stops it, returning is
// exiting (see Service for what a normal exit is). A ChildSpec says how to build a
// child's Service (Start), when to restart it (Permanent, Transient, Temporary), how
// long to wait for it to stop (Shutdown: BrutalKill, a timeout, Infinity; by default
// 5 s for workers and Infinity for supervisors), its Type, and whether it is
// Significant for AutoShutdown.
//
// # Starting synchronously
//
// A supervisor starts its children in order, each start finished before the next one
// begins, as OTP's init does. A plain Service is started when its goroutine is launched.
// A Service that also has Start(ctx) error (a Starter, like *Supervisor) is started by
// calling Start first; it counts as started when Start returns nil, and only then does
// its Serve run on its own goroutine. So a nested supervisor's children have all
// started before its parent starts the next child, and (*Supervisor).Start returns only
// when the whole tree is up: an application controller calls Start to learn that an
// application has started, then runs Serve in the application's long-lived context.
// If a child fails to start, the ones already started are stopped in reverse order and
// the start fails with a *StartError naming the child.
//
// # Restarting
//
// When a child exits and its restart type (or ErrDoNotRestart) says so, the supervisor
// restarts it, with its siblings for OneForAll (all) and RestForOne (those started
// after it): siblings are stopped in reverse order, temporary ones are dropped, and the
// rest start again in order. More than MaxRestarts restarts within Period (OTP's
// defaults: 1 in 5 s) stop the supervisor: its children are stopped in reverse and
// Serve returns an *ExitError matching ErrMaxRestartIntensity, so that its own parent
// can restart it, up the tree. A restart whose start fails is retried, each attempt
// counting as a restart. Backoff (off by default) delays restarts, with jitter.
//
// A child that is not restarted and is Significant may stop the supervisor
// (AutoShutdown AnySignificant or AllSignificant): Serve then returns an *ExitError
// matching ErrShutdown, a normal exit for its parent, with the child's exit error as
// Cause.
//
// # Stopping, and abandoned children
//
// Cancelling Serve's context stops the children in reverse start order (all at once
// for SimpleOneForOne), each as its Shutdown says. Go cannot kill a goroutine: a child
// that has not returned when BrutalKill stops waiting at once, or when its timeout runs
// out, is abandoned. An EventChildAbandoned reports it; after a timeout its ID is in
// the *StopError or *ExitError that Serve returns. An abandoned child may still be
// running when its replacement starts, or after its supervisor has returned.
//
// # Events and time
//
// Every start, exit, restart, abandonment, intensity stop and auto shutdown is a typed
// Event (String, Map, Attrs) sent to Spec.Logger at the event's level and to
// Spec.EventHook. Time comes from Spec.Clock, so tests of intensity and backoff inject
// a fake clock and never sleep.
//
// # Concurrency
//
// One goroutine owns a supervisor's state: the one running Start, then the one running
// Serve. Children's exits and the runtime API (StartChild, TerminateChild,
// RestartChild, DeleteChild, WhichChildren, CountChildren) reach it through channels,
// so the API is safe from any goroutine; each call takes a context that bounds its
// wait. A call made between Start and Serve waits for Serve. While the supervisor
// starts or stops a child it answers nothing else, as in OTP: a ChildSpec.Start must
// not call its own supervisor, and a child that calls it from Serve should pass its own
// context, which the supervisor cancels when it stops the child (so the call gives up
// instead of waiting for a supervisor that waits for it).
//
// Each supervisor logs to its own Spec.Logger and hook; a nested Spec does not inherit
// its parent's.
package supervisor
