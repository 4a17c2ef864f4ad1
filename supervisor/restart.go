package supervisor

import (
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// intensity counts restarts within a sliding period (OTP's MaxR in MaxT).
type intensity struct {
	max    int
	period time.Duration
	times  []time.Time
}

// add records a restart at now and returns the number of restarts within the period,
// and whether that is still within the intensity. Restarts are recorded in time order,
// so the expired ones are at the front: amortised O(1).
func (in *intensity) add(now time.Time) (int, bool) {
	cut := now.Add(-in.period)
	i := 0
	for i < len(in.times) && in.times[i].Before(cut) {
		i++
	}
	in.times = append(in.times[i:], now)
	return len(in.times), len(in.times) <= in.max
}

// delay is the backoff before the n-th restart within the period.
func (b Backoff) delay(n int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	if b.Jitter > 0 {
		d += d * b.Jitter * rand.Float64()
	}
	return time.Duration(d)
}

// pendingRestart is a group restart waiting for its backoff to end, or (retry set) a
// restart to try again after a start failed.
type pendingRestart struct {
	cause *child   // the child whose exit caused it
	group []*child // to start, in order (not for a retry)
	retry error    // the failed start's error, for a retry
	due   time.Time
}

// handleExit handles a child's own exit (r from the exits channel). A non-nil error
// ends the supervisor.
func (s *Supervisor) handleExit(r *run) error {
	c := r.child
	if c.run != r {
		return nil // stale: the supervisor stopped or abandoned this run already
	}
	c.run, c.state = nil, stateStopped
	normal := isNormal(r)
	restart := shouldRestart(c.spec.Restart, normal, errors.Is(r.err, ErrDoNotRestart))
	if e := (EventChildExited{Supervisor: s.spec.Name, Child: c.spec.ID, Err: r.err, Normal: normal, Restart: restart}); s.wants(e.Level()) {
		s.emit(e)
	}
	if restart {
		return s.restart(c, r.err)
	}
	if c.spec.Restart == Temporary || s.spec.Strategy == SimpleOneForOne {
		s.remove(c)
	}
	if c.spec.Significant && s.autoShutdownDue() {
		s.emit(EventAutoShutdown{Supervisor: s.spec.Name, Child: c.spec.ID, Err: r.err, AutoShutdown: s.spec.AutoShutdown})
		return s.shutdown(&ExitError{Supervisor: s.spec.Name, Reason: ErrShutdown, Child: c.spec.ID, Cause: r.err})
	}
	return nil
}

// shouldRestart is OTP's restart decision, plus ErrDoNotRestart.
func shouldRestart(rt RestartType, normal, doNotRestart bool) bool {
	switch {
	case doNotRestart:
		return false
	case rt == Permanent:
		return true
	case rt == Transient:
		return !normal
	}
	return false
}

// autoShutdownDue: a significant child has just exited for good.
func (s *Supervisor) autoShutdownDue() bool {
	switch s.spec.AutoShutdown {
	case AnySignificant:
		return true
	case AllSignificant:
		for _, c := range s.children {
			if c.spec.Significant && c.state != stateStopped {
				return false
			}
		}
		return true
	}
	return false
}

// restart restarts c (and its group, by strategy) after it exited with cause. A start
// that fails is retried, as OTP does, through the loop (so that a stop or a request
// can come in between), each attempt counting as a restart.
func (s *Supervisor) restart(c *child, cause error) error {
	n, ok := s.intensity.add(s.spec.Clock.Now())
	if !ok {
		s.emit(EventIntensityReached{Supervisor: s.spec.Name, Child: c.spec.ID, Err: cause,
			MaxRestarts: s.spec.MaxRestarts, Period: s.spec.Period})
		return s.shutdown(&ExitError{Supervisor: s.spec.Name, Reason: ErrMaxRestartIntensity,
			Child: c.spec.ID, Cause: cause, Restarts: s.spec.MaxRestarts, Period: s.spec.Period})
	}
	group := s.group(c)
	delay := s.spec.Backoff.delay(n)
	if s.wants(slog.LevelInfo) {
		s.emit(EventChildRestarting{Supervisor: s.spec.Name, Child: c.spec.ID, Group: ids(group),
			Restarts: n, MaxRestarts: s.spec.MaxRestarts, Period: s.spec.Period, Delay: delay})
	}
	group = s.stopGroup(group)
	if delay > 0 {
		p := &pendingRestart{cause: c, group: group, due: s.spec.Clock.Now().Add(delay)}
		for _, g := range group {
			g.plan = p
		}
		s.schedule(p)
		return nil
	}
	if err := s.startGroup(group, nil); err != nil {
		s.retry(c, err)
	}
	return nil
}

// retry plans another restart of c, due at once, after a restart failed with err.
func (s *Supervisor) retry(c *child, err error) {
	p := &pendingRestart{cause: c, retry: err, due: s.spec.Clock.Now()}
	c.plan = p
	if c.run == nil {
		c.state = stateRestarting
	}
	s.schedule(p)
}

// group returns the children restarted with c, in start order.
func (s *Supervisor) group(c *child) []*child {
	switch s.spec.Strategy {
	case OneForAll:
		return append([]*child(nil), s.children...)
	case RestForOne:
		for i, x := range s.children {
			if x == c {
				return append([]*child(nil), s.children[i:]...)
			}
		}
	}
	return []*child{c}
}

// stopGroup stops the running members of group in reverse order, drops the temporary
// ones (they are never restarted) and returns what is left to start.
func (s *Supervisor) stopGroup(group []*child) []*child {
	for i := len(group) - 1; i >= 0; i-- {
		g := group[i]
		if g.run != nil {
			s.stopChild(g)
		}
		s.unschedule(g)
	}
	keep := group[:0]
	for _, g := range group {
		if g.spec.Restart == Temporary {
			s.remove(g)
			continue
		}
		g.state = stateRestarting
		keep = append(keep, g)
	}
	return keep
}

// startGroup starts the members of group that still wait for plan (nil: an immediate
// restart), in order; it stops at the first failure.
func (s *Supervisor) startGroup(group []*child, plan *pendingRestart) error {
	for _, g := range group {
		if g.state != stateRestarting || g.plan != plan {
			continue // terminated, deleted or re-planned while waiting
		}
		g.plan = nil
		if err := s.startChild(s.base, g, true); err != nil {
			for _, rest := range group {
				if rest.state == stateRestarting {
					rest.state = stateStopped
				}
			}
			return err
		}
	}
	return nil
}

// schedule queues p and arms the timer for the earliest pending restart.
func (s *Supervisor) schedule(p *pendingRestart) {
	s.pending = append(s.pending, p)
	s.arm()
}

func (s *Supervisor) arm() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if len(s.pending) == 0 {
		return
	}
	due := s.pending[0].due
	for _, p := range s.pending[1:] {
		if p.due.Before(due) {
			due = p.due
		}
	}
	s.timer = s.spec.Clock.NewTimer(due.Sub(s.spec.Clock.Now()))
}

func (s *Supervisor) timerChan() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C()
}

// restartDue runs the pending restarts that are due: starts after a backoff, and
// retries of failed restarts.
func (s *Supervisor) restartDue() error {
	s.timer = nil
	now := s.spec.Clock.Now()
	var due []*pendingRestart
	keep := s.pending[:0]
	for _, p := range s.pending {
		if p.due.After(now) {
			keep = append(keep, p)
		} else {
			due = append(due, p)
		}
	}
	clear(s.pending[len(keep):])
	s.pending = keep
	for _, p := range due {
		if p.retry != nil {
			c := p.cause
			if c.plan != p {
				continue // superseded: terminated, deleted, restarted meanwhile
			}
			c.plan = nil
			if c.state == stateRestarting {
				c.state = stateStopped
			}
			if err := s.restart(c, p.retry); err != nil {
				return err
			}
			continue
		}
		if err := s.startGroup(p.group, p); err != nil {
			s.retry(p.cause, err)
		}
	}
	s.arm()
	return nil
}

// unschedule takes c out of any pending restart or retry (a new restart plan, a
// terminate, a delete or a manual restart supersedes it).
func (s *Supervisor) unschedule(c *child) {
	if c.plan == nil {
		return
	}
	c.plan = nil
	if c.state == stateRestarting {
		c.state = stateStopped
	}
	keep := s.pending[:0]
	for _, p := range s.pending {
		if p.retry != nil {
			if p.cause != c {
				keep = append(keep, p)
			}
			continue
		}
		p.group = slices.DeleteFunc(p.group, func(g *child) bool { return g == c })
		if len(p.group) > 0 {
			keep = append(keep, p)
		}
	}
	clear(s.pending[len(keep):])
	s.pending = keep
}

func (s *Supervisor) dropPending() {
	for _, p := range s.pending {
		p.cause.plan = nil
		for _, g := range p.group {
			g.plan = nil
		}
	}
	for _, c := range s.children {
		if c.state == stateRestarting {
			c.state = stateStopped
		}
	}
	s.pending = nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// remove deletes c from the table.
func (s *Supervisor) remove(c *child) {
	s.unschedule(c)
	delete(s.byID, c.spec.ID)
	for i, x := range s.children {
		if x == c {
			s.children = slices.Delete(s.children, i, i+1)
			break
		}
	}
}

func ids(cs []*child) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.spec.ID
	}
	return out
}
