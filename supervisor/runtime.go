package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ChildState says where a child is, in ChildInfo.
type ChildState int

// The states of a child.
const (
	// ChildStopped: the spec is kept but nothing runs (OTP's undefined pid).
	ChildStopped ChildState = iota
	// ChildRunning: its Serve runs.
	ChildRunning
	// ChildRestarting: waiting for a restart backoff to end (OTP's restarting).
	ChildRestarting
)

// String names the state.
func (st ChildState) String() string {
	switch st {
	case ChildStopped:
		return "stopped"
	case ChildRunning:
		return "running"
	case ChildRestarting:
		return "restarting"
	}
	return fmt.Sprintf("state(%d)", int(st))
}

// ChildInfo describes one child (OTP's which_children).
type ChildInfo struct {
	ID          string
	Type        ChildType
	Restart     RestartType
	Significant bool
	State       ChildState
}

// ChildCounts counts children (OTP's count_children).
type ChildCounts struct {
	// Specs is the number of children, running or not.
	Specs int
	// Active is the number of running children.
	Active int
	// Supervisors and Workers count the children of each Type.
	Supervisors int
	Workers     int
}

// request is a message to the supervisor's goroutine; the set is closed.
type request interface {
	handle(s *Supervisor)
}

// call sends req and waits for its reply on reply.
func call[T any](ctx context.Context, s *Supervisor, req request, reply chan T) (T, error) {
	var zero T
	select {
	case s.requests <- req:
	case <-s.done:
		return zero, fmt.Errorf("supervisor %q: %w", s.spec.Name, ErrNotRunning)
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case v := <-reply:
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

type startChildReq struct {
	ctx   context.Context
	spec  ChildSpec
	reply chan result
}

type result struct {
	id  string
	err error
}

// StartChild adds a child and starts it; ctx bounds the start. It returns the child's
// ID. On a SimpleOneForOne supervisor, spec is a child of the template: its Start
// (nil: the template's) and ID (empty: the template's ID, "-" and a sequence number)
// are used, every other field comes from the template; the usual Go way to give a
// dynamic child its arguments is a Start closure. On other strategies spec is a full
// spec; ErrChildExists if its ID is taken. A failed start returns a *StartError and
// adds nothing.
func (s *Supervisor) StartChild(ctx context.Context, spec ChildSpec) (string, error) {
	reply := make(chan result, 1)
	res, err := call(ctx, s, startChildReq{ctx: ctx, spec: spec, reply: reply}, reply)
	if err != nil {
		return "", err
	}
	return res.id, res.err
}

func (q startChildReq) handle(s *Supervisor) {
	spec := q.spec
	if s.spec.Strategy == SimpleOneForOne {
		spec = s.fromTemplate(spec)
	} else if err := spec.Validate(); err != nil {
		q.reply <- result{err: fmt.Errorf("supervisor %q: %w", s.spec.Name, err)}
		return
	} else if spec.Significant && s.spec.AutoShutdown == Never {
		q.reply <- result{err: s.childError(spec.ID, errors.New("significant, but auto shutdown is never"))}
		return
	}
	if _, ok := s.byID[spec.ID]; ok {
		q.reply <- result{err: s.childError(spec.ID, ErrChildExists)}
		return
	}
	c := &child{spec: spec}
	if err := s.startChild(q.ctx, c, false); err != nil {
		q.reply <- result{err: err}
		return
	}
	s.children = append(s.children, c)
	s.byID[spec.ID] = c
	q.reply <- result{id: spec.ID}
}

func (s *Supervisor) fromTemplate(spec ChildSpec) ChildSpec {
	t := s.template
	if spec.Start != nil {
		t.Start = spec.Start
	}
	t.ID = spec.ID
	if t.ID == "" {
		s.dynamicSeq++
		base := s.template.ID
		if base == "" {
			base = "child"
		}
		t.ID = base + "-" + strconv.FormatUint(s.dynamicSeq, 10)
	}
	return t
}

type idReq struct {
	ctx   context.Context
	op    func(s *Supervisor, ctx context.Context, id string) error
	id    string
	reply chan error
}

func (q idReq) handle(s *Supervisor) { q.reply <- q.op(s, q.ctx, q.id) }

func (s *Supervisor) idCall(ctx context.Context, id string, op func(*Supervisor, context.Context, string) error) error {
	reply := make(chan error, 1)
	err, cerr := call(ctx, s, idReq{ctx: ctx, op: op, id: id, reply: reply}, reply)
	if cerr != nil {
		return cerr
	}
	return err
}

// TerminateChild stops a child as its Shutdown says (OTP's terminate_child). The spec
// is kept (RestartChild starts it again), except for temporary children and
// SimpleOneForOne children, which are removed. The child is not restarted, and its
// exit does not count for AutoShutdown. If the child did not stop within its Shutdown
// timeout, it is abandoned (it may still be running) and a *StopError names it.
func (s *Supervisor) TerminateChild(ctx context.Context, id string) error {
	return s.idCall(ctx, id, (*Supervisor).terminate)
}

func (s *Supervisor) terminate(_ context.Context, id string) error {
	c, ok := s.byID[id]
	if !ok {
		return s.childError(id, ErrChildNotFound)
	}
	s.unschedule(c)
	abandoned := s.stopChild(c)
	if c.spec.Restart == Temporary || s.spec.Strategy == SimpleOneForOne {
		s.remove(c)
	}
	if abandoned && c.spec.shutdown() != BrutalKill {
		return &StopError{Supervisor: s.spec.Name, Unstopped: []string{id}}
	}
	return nil
}

// RestartChild starts a stopped child again from its spec (OTP's restart_child); ctx
// bounds the start.
// ErrChildRunning if it runs; ErrNotSupported on SimpleOneForOne.
func (s *Supervisor) RestartChild(ctx context.Context, id string) error {
	return s.idCall(ctx, id, (*Supervisor).restartByID)
}

func (s *Supervisor) restartByID(ctx context.Context, id string) error {
	c, err := s.stoppedChild(id)
	if err != nil {
		return err
	}
	return s.startChild(ctx, c, false)
}

// DeleteChild removes a stopped child's spec (OTP's delete_child). ErrChildRunning if
// it runs; ErrNotSupported on SimpleOneForOne.
func (s *Supervisor) DeleteChild(ctx context.Context, id string) error {
	return s.idCall(ctx, id, (*Supervisor).deleteByID)
}

func (s *Supervisor) deleteByID(_ context.Context, id string) error {
	c, err := s.stoppedChild(id)
	if err != nil {
		return err
	}
	s.remove(c)
	return nil
}

func (s *Supervisor) stoppedChild(id string) (*child, error) {
	if s.spec.Strategy == SimpleOneForOne {
		return nil, fmt.Errorf("supervisor %q: %w", s.spec.Name, ErrNotSupported)
	}
	c, ok := s.byID[id]
	if !ok {
		return nil, s.childError(id, ErrChildNotFound)
	}
	if c.state != stateStopped {
		return nil, s.childError(id, ErrChildRunning)
	}
	return c, nil
}

type whichReq struct{ reply chan []ChildInfo }

func (q whichReq) handle(s *Supervisor) {
	out := make([]ChildInfo, len(s.children))
	for i, c := range s.children {
		out[i] = ChildInfo{ID: c.spec.ID, Type: c.spec.Type, Restart: c.spec.Restart,
			Significant: c.spec.Significant, State: ChildState(c.state)}
	}
	q.reply <- out
}

// WhichChildren lists the children in start order (OTP's which_children).
func (s *Supervisor) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	reply := make(chan []ChildInfo, 1)
	return call(ctx, s, whichReq{reply: reply}, reply)
}

type countReq struct{ reply chan ChildCounts }

func (q countReq) handle(s *Supervisor) {
	var n ChildCounts
	for _, c := range s.children {
		n.Specs++
		if c.state == stateRunning {
			n.Active++
		}
		if c.spec.Type == SupervisorChild {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	q.reply <- n
}

// CountChildren counts the children (OTP's count_children).
func (s *Supervisor) CountChildren(ctx context.Context) (ChildCounts, error) {
	reply := make(chan ChildCounts, 1)
	return call(ctx, s, countReq{reply: reply}, reply)
}
