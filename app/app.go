// Package app is gotp's application controller: it loads, starts and stops applications on a
// node, and — for applications listed in the kernel `distributed` parameter — decides with its
// peers which node runs each one, as OTP's application_controller and dist_ac do.
//
// # The App contract
//
// An application is a value implementing App. Start builds the application's top service
// (usually a *supervisor.Supervisor) for a StartType that says why it starts here: KindNormal (the
// first placement), KindFailover (the node that ran it died; From names it) or KindTakeover (it moves
// here from a running instance on From). Every placement carries an epoch, strictly increasing
// per application across the cluster.
//
// Start's context serves the start only. If the returned Service also has a method
// Start(ctx) error, the controller calls it; the application counts as started when it returns
// (OTP: after the top supervisor's init). The controller then runs Serve in the application's
// own long-lived context, which it cancels when the application must stop; StopReasonFrom reads
// why from that context.
//
// Optional interfaces: PrepStopper, Stopper, StartPhaser, ConfigChanger, HandoffGiver,
// HandoffAborter. During Start, HandoffFrom (takeover) and LastCheckpoint (failover) read state
// passed on by the previous instance; a running instance calls Checkpoint to replicate state to
// the application's other nodes.
package app

import (
	"context"
	"fmt"

	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/supervisor"
)

// StartKind says why an application instance starts.
type StartKind int

// The start kinds (OTP: normal, {failover, Node}, {takeover, Node}).
const (
	// KindNormal: the application runs nowhere else (initial placement, permit).
	KindNormal StartKind = iota
	// KindFailover: the node that ran it went down; StartType.From names it.
	KindFailover
	// KindTakeover: it moves here from the instance running on StartType.From.
	KindTakeover
)

// String returns "normal", "failover" or "takeover".
func (k StartKind) String() string {
	switch k {
	case KindNormal:
		return "normal"
	case KindFailover:
		return "failover"
	case KindTakeover:
		return "takeover"
	}
	return fmt.Sprintf("StartKind(%d)", int(k))
}

// StartType tells an instance why and where from it starts, and its placement epoch.
type StartType struct {
	Kind  StartKind
	From  dist.Node // the dead node (KindFailover) or the previous runner (KindTakeover); "" for KindNormal
	Epoch uint64    // the placement's epoch (0 for applications that are not distributed)
}

// String renders the start type as OTP writes it: normal, {failover,joe@h}, {takeover,joe@h}.
func (st StartType) String() string {
	if st.Kind == KindNormal {
		return "normal"
	}
	return "{" + st.Kind.String() + "," + string(st.From) + "}"
}

// App is an application. Start builds its top service for the given start type; an error
// fails the start. The context serves the start only: do not keep it.
type App interface {
	Start(ctx context.Context, st StartType) (supervisor.Service, error)
}

// AppFunc adapts a function to the App interface.
type AppFunc func(ctx context.Context, st StartType) (supervisor.Service, error)

// Start calls f(ctx, st).
func (f AppFunc) Start(ctx context.Context, st StartType) (supervisor.Service, error) {
	return f(ctx, st)
}

// Starter is implemented by services that start their whole tree synchronously
// (*supervisor.Supervisor does); the controller calls it before Serve.
type Starter interface {
	Start(ctx context.Context) error
}

// PrepStopper is called before an instance's tree is stopped (OTP prep_stop/1).
type PrepStopper interface {
	PrepStop(ctx context.Context, reason StopReason)
}

// Stopper is called after an instance's tree has stopped (OTP stop/1).
type Stopper interface {
	Stop(ctx context.Context, reason StopReason)
}

// StartPhaser runs start phases after Start, in the order StartPhases lists them, with the
// same start type (OTP start_phase/3). Phases run only for applications that declare them.
type StartPhaser interface {
	StartPhases() []string
	StartPhase(ctx context.Context, phase string, st StartType) error
}

// ConfigChanger is told about environment changes (OTP config_change/3).
type ConfigChanger interface {
	ConfigChange(ctx context.Context, changed map[string]any, removed []string)
}

// HandoffGiver is implemented by a running instance that hands state to the instance taking
// it over; it is called when the new instance calls HandoffFrom during its Start.
type HandoffGiver interface {
	Handoff(ctx context.Context, to dist.Node) ([]byte, error)
}

// HandoffAborter is told that a takeover from this instance failed; the instance keeps
// running (deviation 3 of design.md).
type HandoffAborter interface {
	HandoffAborted(ctx context.Context)
}

// StopKind says why an instance stops.
type StopKind int

// The stop kinds.
const (
	// StopShutdown: the node is shutting down.
	StopShutdown StopKind = iota
	// StopMoved: the application moved to another node (StopReason.To).
	StopMoved
	// StopStopped: the application was stopped (Stop, or Permit false with no other node).
	StopStopped
	// StopCrashed: the application's top service exited on its own.
	StopCrashed
)

// StopReason says why an instance stops.
type StopReason struct {
	Kind StopKind
	To   dist.Node // the node the application moved to (StopMoved)
}

// The stop reasons without a node.
var (
	Shutdown = StopReason{Kind: StopShutdown}
	Stopped  = StopReason{Kind: StopStopped}
	Crashed  = StopReason{Kind: StopCrashed}
)

// Moved is the stop reason of an instance whose application moved to node to.
func Moved(to dist.Node) StopReason { return StopReason{Kind: StopMoved, To: to} }

// String returns "shutdown", "moved(node)", "stopped" or "crashed".
func (r StopReason) String() string {
	switch r.Kind {
	case StopShutdown:
		return "shutdown"
	case StopMoved:
		return "moved(" + string(r.To) + ")"
	case StopStopped:
		return "stopped"
	case StopCrashed:
		return "crashed"
	}
	return fmt.Sprintf("StopReason(%d)", int(r.Kind))
}

// RestartType says what happens when an application's top service exits (OTP meaning).
type RestartType int

// The restart types.
const (
	// Temporary: an exit is logged; the node keeps running and the application stays down.
	Temporary RestartType = iota
	// Transient: a normal exit is like Temporary; an abnormal one stops the node.
	Transient
	// Permanent: any exit stops the node.
	Permanent
)

// String returns "temporary", "transient" or "permanent".
func (rt RestartType) String() string {
	switch rt {
	case Temporary:
		return "temporary"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("RestartType(%d)", int(rt))
}

// Valid reports whether rt is one of the three restart types.
func (rt RestartType) Valid() bool { return rt >= Temporary && rt <= Permanent }

// ParseRestartType parses "permanent", "transient" or "temporary".
func ParseRestartType(s string) (RestartType, error) {
	switch s {
	case "permanent":
		return Permanent, nil
	case "transient":
		return Transient, nil
	case "temporary":
		return Temporary, nil
	}
	return 0, &InvalidRestartTypeError{Value: s}
}
