package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Strategy says which children a supervisor restarts when one of them must be restarted.
type Strategy int

// The restart strategies of OTP's supervisor.
const (
	// OneForOne restarts only the child that exited (OTP one_for_one, the default).
	OneForOne Strategy = iota
	// OneForAll stops every other child (in reverse start order) and then restarts them
	// all, in start order (OTP one_for_all).
	OneForAll
	// RestForOne stops the children started after the one that exited (in reverse) and
	// restarts it and them, in start order (OTP rest_for_one).
	RestForOne
	// SimpleOneForOne is OneForOne for children added at run time, all built from one
	// template: Spec.Children holds exactly that template and no child starts with the
	// supervisor (OTP simple_one_for_one).
	SimpleOneForOne
)

// String returns OTP's name for the strategy.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	case SimpleOneForOne:
		return "simple_one_for_one"
	}
	return fmt.Sprintf("strategy(%d)", int(s))
}

// RestartType says when an exited child is restarted. A normal exit (see Service) is a
// nil error, an error wrapping ErrShutdown, or context.Canceled once the child's own
// context is cancelled; anything else, panics included, is abnormal.
type RestartType int

// The restart types of OTP's child specifications.
const (
	// Permanent children are always restarted (the default).
	Permanent RestartType = iota
	// Transient children are restarted only after an abnormal exit.
	Transient
	// Temporary children are never restarted; their spec is dropped when they exit,
	// even when a sibling's restart stopped them.
	Temporary
)

// String returns OTP's name for the restart type.
func (r RestartType) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("restart(%d)", int(r))
}

// ChildType tells workers from supervisors; it sets the default Shutdown and what
// CountChildren reports.
type ChildType int

// The child types of OTP's child specifications.
const (
	// Worker is a leaf service (the default). Its default Shutdown is 5 s.
	Worker ChildType = iota
	// SupervisorChild is a nested supervisor. Its default Shutdown is Infinity, so that
	// it can stop its own children in its own time.
	SupervisorChild
)

// String returns OTP's name for the child type.
func (t ChildType) String() string {
	switch t {
	case Worker:
		return "worker"
	case SupervisorChild:
		return "supervisor"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// AutoShutdown says whether the exits of significant children stop the supervisor.
type AutoShutdown int

// The auto_shutdown settings of OTP's supervisor.
const (
	// Never: significant children are not allowed and nothing shuts down on its own
	// (the default).
	Never AutoShutdown = iota
	// AnySignificant: the supervisor stops (normally) as soon as a significant child
	// exits and is not restarted.
	AnySignificant
	// AllSignificant: the supervisor stops (normally) once every significant child has
	// exited and is not restarted.
	AllSignificant
)

// String returns OTP's name for the setting.
func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("auto_shutdown(%d)", int(a))
}

const (
	// BrutalKill as a Shutdown cancels the child's context and does not wait for it.
	// Go cannot kill a goroutine: a child that has not returned yet is abandoned (an
	// EventChildAbandoned says so) and may still run while its replacement starts.
	BrutalKill time.Duration = -1
	// Infinity as a Shutdown waits for the child however long it takes (OTP's
	// infinity).
	Infinity time.Duration = math.MaxInt64

	// DefaultWorkerShutdown is OTP's default shutdown for a worker: 5000 ms.
	DefaultWorkerShutdown = 5 * time.Second
	// DefaultMaxRestarts and DefaultPeriod are OTP's default intensity: 1 restart in 5 s.
	DefaultMaxRestarts = 1
	// DefaultPeriod is OTP's default intensity period (see DefaultMaxRestarts).
	DefaultPeriod = 5 * time.Second
)

// ChildSpec describes one child of a supervisor (OTP's child specification).
//
// Start builds the child's Service. It is called for the first start and for every
// restart, and must return a fresh value each time: a Service that was stopped may still
// be running (see BrutalKill) and must not be reused. Its context bounds the start only
// (it is the caller's context for Supervisor.Start, StartChild and RestartChild, and
// the supervisor's own context for restarts); a returned error fails the start. If the Service also has a
// method Start(ctx) error (as *Supervisor has), the supervisor calls it right after,
// synchronously, and the child counts as started when it returns nil (see Starter).
type ChildSpec struct {
	// ID names the child; unique within its supervisor. Required except for
	// SimpleOneForOne children, which are named after the template.
	ID string
	// Start builds the child's Service; see above. Required.
	Start func(ctx context.Context) (Service, error)
	// Restart says when the child is restarted. Default Permanent.
	Restart RestartType
	// Shutdown is how long the supervisor waits for the child after cancelling its
	// context: BrutalKill (do not wait), a positive duration, or Infinity.
	// 0 means OTP's default: 5 s for a Worker, Infinity for a SupervisorChild.
	Shutdown time.Duration
	// Type is Worker (default) or SupervisorChild.
	Type ChildType
	// Significant children drive the supervisor's AutoShutdown. Only Transient and
	// Temporary children may be significant, and only when AutoShutdown is not Never.
	Significant bool
}

// ChildSpecer is implemented by libraries that want to be a child in a supervision tree:
// they hand out their own ChildSpec, which the user may adjust and put in Spec.Children.
// Spec implements it, so a nested supervisor is one line.
type ChildSpecer interface {
	ChildSpec() ChildSpec
}

// shutdown returns the effective shutdown of c, resolving the OTP defaults.
func (c ChildSpec) shutdown() time.Duration {
	if c.Shutdown != 0 {
		return c.Shutdown
	}
	if c.Type == SupervisorChild {
		return Infinity
	}
	return DefaultWorkerShutdown
}

// Validate reports what is wrong with c, naming the child.
func (c ChildSpec) Validate() error {
	return c.validate(true)
}

func (c ChildSpec) validate(needID bool) error {
	name := c.ID
	if name == "" {
		if needID {
			return errors.New("supervisor: child spec has an empty ID")
		}
		name = "(template)"
	}
	var errs []error
	if c.Start == nil {
		errs = append(errs, fmt.Errorf("child %q: Start is nil", name))
	}
	if c.Restart < Permanent || c.Restart > Temporary {
		errs = append(errs, fmt.Errorf("child %q: unknown restart type %d", name, int(c.Restart)))
	}
	if c.Type < Worker || c.Type > SupervisorChild {
		errs = append(errs, fmt.Errorf("child %q: unknown child type %d", name, int(c.Type)))
	}
	if c.Shutdown < 0 && c.Shutdown != BrutalKill {
		errs = append(errs, fmt.Errorf("child %q: negative shutdown %v (use BrutalKill)", name, c.Shutdown))
	}
	if c.Significant && c.Restart == Permanent {
		errs = append(errs, fmt.Errorf("child %q: a permanent child cannot be significant", name))
	}
	return errors.Join(errs...)
}

// Backoff delays restarts. The delay before a restart is Initial × Multiplier^(n-1),
// where n is the number of restarts within the current Period (the intensity count),
// capped at Max, plus a random jitter of up to Jitter × that delay. The zero Backoff
// (Initial 0) restarts at once, as OTP does.
type Backoff struct {
	// Initial is the delay before the first restart of a burst; 0 disables backoff.
	Initial time.Duration
	// Max caps the delay; 0 means no cap.
	Max time.Duration
	// Multiplier grows the delay with each restart in the period; 0 means 2.
	Multiplier float64
	// Jitter adds up to this fraction of the delay at random, in [0, 1]; 0 means none.
	Jitter float64
}

// Spec configures a supervisor. The zero value of every field but Children is a usable
// default.
type Spec struct {
	// Name names the supervisor in errors, events and logs. Default "supervisor".
	Name string
	// Strategy is the restart strategy. Default OneForOne.
	Strategy Strategy
	// MaxRestarts is the restart intensity: more than MaxRestarts restarts within
	// Period stop the supervisor with an error matching ErrMaxRestartIntensity.
	// 0 means OTP's default of 1; a negative value allows no restart at all
	// (OTP intensity 0).
	MaxRestarts int
	// Period is the intensity window. 0 means OTP's default of 5 s.
	Period time.Duration
	// Children are started in order and stopped in reverse order. For SimpleOneForOne
	// it holds exactly one spec, the template for children added with StartChild.
	Children []ChildSpec
	// AutoShutdown says whether significant children stop the supervisor.
	// Default Never.
	AutoShutdown AutoShutdown
	// Backoff delays restarts; off by default.
	Backoff Backoff
	// Logger receives every event at its level (debug: started, normal exits; info:
	// restarting, auto shutdown; warn: abandoned, abnormal exit while stopped; error:
	// abnormal exit, failed start, intensity).
	// Default slog.Default().
	Logger *slog.Logger
	// EventHook, if set, receives every event, synchronously from the supervisor's
	// goroutine: it must not block or call the supervisor.
	EventHook func(Event)
	// Clock gives time to intensity, backoff and shutdown timeouts. Default the real
	// clock; tests inject a fake one.
	Clock Clock
}

// ChildSpec returns a spec for running a supervisor built from s as a child of another:
// ID s.Name, Type SupervisorChild, Permanent, Shutdown Infinity. Each start builds a
// new *Supervisor from s.
func (s Spec) ChildSpec() ChildSpec {
	spec := s
	return ChildSpec{
		ID:   s.Name,
		Type: SupervisorChild,
		Start: func(context.Context) (Service, error) {
			return New(spec)
		},
	}
}

// Validate reports what is wrong with s: unknown enum values, negative durations, bad
// or duplicate children, significant children without AutoShutdown.
func (s Spec) Validate() error {
	var errs []error
	if s.Strategy < OneForOne || s.Strategy > SimpleOneForOne {
		errs = append(errs, fmt.Errorf("unknown strategy %d", int(s.Strategy)))
	}
	if s.Period < 0 {
		errs = append(errs, fmt.Errorf("negative period %v", s.Period))
	}
	if s.AutoShutdown < Never || s.AutoShutdown > AllSignificant {
		errs = append(errs, fmt.Errorf("unknown auto shutdown %d", int(s.AutoShutdown)))
	}
	if s.Strategy == SimpleOneForOne && s.AutoShutdown != Never {
		errs = append(errs, errors.New("auto shutdown is not allowed with simple_one_for_one"))
	}
	if b := s.Backoff; b.Initial < 0 || b.Max < 0 || b.Multiplier < 0 || b.Jitter < 0 || b.Jitter > 1 {
		errs = append(errs, fmt.Errorf("bad backoff %+v", b))
	}
	if s.Strategy == SimpleOneForOne && len(s.Children) != 1 {
		errs = append(errs, fmt.Errorf("simple_one_for_one needs exactly one child spec (the template), got %d", len(s.Children)))
	}
	seen := make(map[string]bool, len(s.Children))
	for _, c := range s.Children {
		if err := c.validate(s.Strategy != SimpleOneForOne); err != nil {
			errs = append(errs, err)
		}
		if c.Significant && s.AutoShutdown == Never {
			errs = append(errs, fmt.Errorf("child %q: significant, but auto shutdown is never", c.ID))
		}
		if c.ID != "" && seen[c.ID] {
			errs = append(errs, fmt.Errorf("child %q: duplicate ID", c.ID))
		}
		seen[c.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("supervisor %q: invalid spec: %w", s.name(), err)
	}
	return nil
}

func (s Spec) name() string {
	if s.Name == "" {
		return "supervisor"
	}
	return s.Name
}

// withDefaults returns s with every zero default resolved. Children still shares the
// caller's array: New copies the specs into its table at once.
func (s Spec) withDefaults() Spec {
	s.Name = s.name()
	switch {
	case s.MaxRestarts == 0:
		s.MaxRestarts = DefaultMaxRestarts
	case s.MaxRestarts < 0:
		s.MaxRestarts = 0
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Clock == nil {
		s.Clock = realClock{}
	}
	if s.Backoff.Multiplier == 0 {
		s.Backoff.Multiplier = 2
	}
	return s
}
