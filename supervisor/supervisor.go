package supervisor

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Lifecycle phases of a Supervisor.
const (
	phaseIdle int32 = iota
	phaseStarting
	phaseStarted
	phaseServing
	phaseDone
)

// Supervisor supervises children by its Spec. Build it with New; run it with Start
// (optional) and then Serve, or as a child of another supervisor. A Supervisor runs
// once. Its runtime API (StartChild, TerminateChild, …) is safe from any goroutine.
//
// One goroutine owns a supervisor's state: the one running Start, and then the one
// running Serve. Everything else (children's exits, the runtime API) reaches it through
// channels, so a request made between Start and Serve waits for Serve (or its ctx).
type Supervisor struct {
	spec     Spec
	template ChildSpec // the SimpleOneForOne template

	phase     atomic.Int32
	startDone chan struct{} // closed when Start has finished (startErr set before)
	startErr  error
	done      chan struct{} // closed when the supervisor has stopped (exitErr set before)
	exitErr   error

	requests chan request
	exits    chan *run

	// Owned by the goroutine running Start, then Serve.
	base       *treeContext
	cancelBase context.CancelFunc
	children   []*child // start order
	byID       map[string]*child
	intensity  intensity
	backlog    []*run // exits read while waiting for another child, handled next
	pending    []*pendingRestart
	timer      Timer
	dynamicSeq uint64
}

// New checks spec (see Spec.Validate) and builds a supervisor from it.
func New(spec Spec) (*Supervisor, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	s := &Supervisor{
		spec:      spec,
		startDone: make(chan struct{}),
		done:      make(chan struct{}),
		requests:  make(chan request),
		exits:     make(chan *run),
		byID:      make(map[string]*child, len(spec.Children)),
		intensity: intensity{max: spec.MaxRestarts, period: spec.Period},
	}
	if spec.Strategy == SimpleOneForOne {
		s.template = spec.Children[0]
	} else {
		s.children = make([]*child, len(spec.Children))
		for i, cs := range spec.Children {
			s.children[i] = &child{spec: cs}
			s.byID[cs.ID] = s.children[i]
		}
	}
	s.spec.Children = nil // the table holds the specs from now on
	return s, nil
}

// Name returns the supervisor's name.
func (s *Supervisor) Name() string { return s.spec.Name }

// String returns the supervisor's name, for logs.
func (s *Supervisor) String() string { return s.spec.Name }

// Start starts the children in order, each start finished before the next one begins
// (nested supervisors' children included, see Starter), and returns when all have
// started. ctx bounds the start only: cancelling it later does not stop the children;
// Serve's context does. If a child fails to start, the children already started are
// stopped in reverse order and Start returns a *StartError naming the child; the
// supervisor is then done (Serve returns the same error).
//
// Start is optional: Serve starts the children itself when Start was not called.
func (s *Supervisor) Start(ctx context.Context) error {
	if !s.phase.CompareAndSwap(phaseIdle, phaseStarting) {
		return fmt.Errorf("supervisor %q: %w", s.spec.Name, ErrAlreadyStarted)
	}
	return s.start(ctx)
}

func (s *Supervisor) start(ctx context.Context) error {
	s.base, s.cancelBase = newTreeContext(ctx)
	err := s.startStatic(ctx)
	if err != nil {
		s.cancelBase()
		s.startErr = err
		s.finish(err)
	} else {
		s.phase.Store(phaseStarted)
	}
	close(s.startDone)
	return err
}

// Serve supervises the children until ctx is cancelled, then stops them in reverse
// order, each within its Shutdown, and returns nil (or a *StopError naming children
// that did not stop in time). It returns earlier with an *ExitError when the restart
// intensity is reached (matching ErrMaxRestartIntensity) or AutoShutdown stops the
// supervisor (matching ErrShutdown). If Start was not called, Serve calls it first
// with ctx; if the start failed, Serve returns its error.
//
// From Serve on, the children's contexts carry ctx's values (before, Start's).
func (s *Supervisor) Serve(ctx context.Context) error {
	for {
		switch s.phase.Load() {
		case phaseIdle:
			if !s.phase.CompareAndSwap(phaseIdle, phaseStarting) {
				continue
			}
			if err := s.start(ctx); err != nil {
				return err
			}
		case phaseStarting:
			<-s.startDone
			continue
		case phaseDone:
			if s.startErr != nil {
				return s.startErr
			}
			return fmt.Errorf("supervisor %q: %w", s.spec.Name, ErrAlreadyStarted)
		}
		if s.phase.CompareAndSwap(phaseStarted, phaseServing) {
			break
		}
		if s.phase.Load() == phaseServing {
			return fmt.Errorf("supervisor %q: %w", s.spec.Name, ErrAlreadyStarted)
		}
	}
	s.base.setValues(ctx)
	err := s.loop(ctx)
	s.finish(err)
	return err
}

// finish marks the supervisor done with err.
func (s *Supervisor) finish(err error) {
	s.exitErr = err
	s.phase.Store(phaseDone)
	close(s.done)
}

// Done returns a channel closed when the supervisor has stopped: Serve returned, or the
// start failed. Err then returns why.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err returns what Serve returned (or the start's error) once Done is closed, and nil
// before.
func (s *Supervisor) Err() error {
	select {
	case <-s.done:
		return s.exitErr
	default:
		return nil
	}
}

// loop is the supervisor's goroutine body while serving.
func (s *Supervisor) loop(ctx context.Context) error {
	for {
		for len(s.backlog) > 0 {
			r := s.backlog[0]
			s.backlog = s.backlog[1:]
			if err := s.handleExit(r); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return s.shutdown(nil)
		case r := <-s.exits:
			if err := s.handleExit(r); err != nil {
				return err
			}
		case req := <-s.requests:
			req.handle(s)
		case <-s.timerChan():
			if err := s.restartDue(); err != nil {
				return err
			}
		}
	}
}
