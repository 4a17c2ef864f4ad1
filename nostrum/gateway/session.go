package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one gateway shard. Run it once; Detach or cancel its context to stop it.
type Session struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	sessionID string
	resumeURL string
	cur       *wsConn       // the connection that finished READY/RESUMED, or nil
	ready     chan struct{} // closed when cur is set; replaced when it is cleared
	stopped   bool

	seq        atomic.Int64 // last sequence received and handed to Dispatch
	release    func()       // identify grant to release after IDENTIFY; Run's goroutine only
	detach     chan struct{}
	detachOnce sync.Once
}

// New checks cfg and returns a session that will IDENTIFY when run.
func New(cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Session{
		cfg:    cfg,
		log:    cfg.Logger.With("shard", cfg.Shard, "shard_count", cfg.ShardCount),
		ready:  make(chan struct{}),
		detach: make(chan struct{}),
	}, nil
}

// SetState makes the next connection RESUME st (call before Run). An empty SessionID
// means IDENTIFY.
func (s *Session) SetState(st State) {
	s.mu.Lock()
	s.sessionID, s.resumeURL = st.SessionID, st.ResumeURL
	s.mu.Unlock()
	s.seq.Store(st.Seq)
}

// State returns what a RESUME needs now; Seq is the last sequence handed to Dispatch.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return State{SessionID: s.sessionID, ResumeURL: s.resumeURL, Seq: s.seq.Load()}
}

// Detach makes Run drop the socket without a close frame (the session stays resumable)
// and return ErrDetached. Safe to call any time, more than once.
func (s *Session) Detach() { s.detachOnce.Do(func() { close(s.detach) }) }

// outcome is why a connection ended.
type outcome struct {
	reason  string
	code    int  // close code from the gateway, 0 if none
	healthy bool // the connection reached READY or RESUMED
	action  CloseAction
	wait    bool // op 9 false: wait InvalidSessionMin..Max before IDENTIFY
	stop    bool // ctx cancelled: the session was ended with 1000
	detach  bool
}

// Run connects and keeps the session alive until ctx is cancelled (the session is ended
// with close 1000 and Run returns nil), Detach is called (ErrDetached), or the gateway
// closes with a fatal code (*CloseError, which matches supervisor.ErrDoNotRestart).
func (s *Session) Run(ctx context.Context) error {
	defer s.markStopped()
	failures := 0
	for {
		if done, err := s.finished(ctx); done {
			return err
		}
		st := s.State()
		resume := st.SessionID != ""
		target := s.cfg.GatewayURL
		if resume && st.ResumeURL != "" {
			target = st.ResumeURL
		}
		if !resume && s.cfg.Gate != nil {
			release, err := s.waitGate(ctx)
			if err != nil {
				if done, derr := s.finished(ctx); done {
					return derr
				}
				return fmt.Errorf("gateway: shard %d identify gate: %w", s.cfg.Shard, err)
			}
			s.release = release
		}
		out, err := s.connect(ctx, target, resume)
		s.releaseGate()
		if err != nil {
			failures++
			s.log.Warn("gateway connect failed", "url", target, "err", err, "attempt", failures)
			if done, err := s.sleep(ctx, s.backoff(failures)); done {
				return err
			}
			continue
		}
		s.cfg.OnEvent(Disconnected{Shard: s.cfg.Shard, Reason: out.reason, Code: out.code})
		switch {
		case out.stop:
			return nil
		case out.detach:
			return ErrDetached
		case out.action == ActionFatal:
			s.log.Error("gateway closed with a fatal code; shard stops", "code", out.code)
			return &CloseError{Shard: s.cfg.Shard, Code: out.code}
		case out.action == ActionReidentify:
			s.loseSession(out.reason)
		}
		s.log.Info("gateway disconnected", "reason", out.reason, "code", out.code)
		if out.healthy {
			failures = 0
		} else {
			failures++
		}
		delay := s.backoff(failures)
		if out.wait {
			delay = max(delay, s.jitter(s.cfg.InvalidSessionMin, s.cfg.InvalidSessionMax))
		}
		if done, err := s.sleep(ctx, delay); done {
			return err
		}
	}
}

func (s *Session) markStopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		close(s.ready) // wake waiting senders; they see stopped
	}
	s.stopped, s.cur = true, nil
}

// finished reports whether Run must return, and with what.
func (s *Session) finished(ctx context.Context) (bool, error) {
	select {
	case <-s.detach:
		return true, ErrDetached
	default:
	}
	if ctx.Err() != nil {
		return true, nil // ended by the owner: a normal stop
	}
	return false, nil
}

func (s *Session) releaseGate() {
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

func (s *Session) waitGate(ctx context.Context) (func(), error) {
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.detach:
			cancel()
		case <-gctx.Done():
		}
	}()
	release, err := s.cfg.Gate.WaitIdentify(gctx, s.cfg.Shard)
	if err == nil && release == nil {
		release = func() {}
	}
	return release, err
}

// sleep waits d; it reports whether Run must return, and with what.
func (s *Session) sleep(ctx context.Context, d time.Duration) (bool, error) {
	if done, err := s.finished(ctx); done || d <= 0 {
		return done, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.detach:
	}
	return s.finished(ctx)
}

// backoff is 0 for the first attempt, then BackoffMin·2^(n-1) capped at BackoffMax, with
// jitter in [50%, 100%].
func (s *Session) backoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := s.cfg.BackoffMin
	for i := 1; i < failures && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	return s.jitter(d/2, d)
}

func (s *Session) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(s.cfg.Rand()*float64(hi-lo))
}

func (s *Session) loseSession(reason string) {
	s.mu.Lock()
	had := s.sessionID != ""
	s.sessionID, s.resumeURL = "", ""
	s.mu.Unlock()
	last := s.seq.Swap(0)
	if had {
		s.log.Warn("gateway session lost; identifying afresh", "reason", reason, "last_seq", last)
		s.cfg.OnEvent(SessionLost{Shard: s.cfg.Shard, LastSeq: last, Reason: reason})
	}
}

func (s *Session) setReady(c *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil && !s.stopped {
		s.cur = c
		close(s.ready)
	}
}

func (s *Session) clearReady(c *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == c && c != nil && !s.stopped {
		s.cur = nil
		s.ready = make(chan struct{})
	}
}

// Send sends op with data d on the current connection, waiting for a connection that is
// ready and for the send limit. Payloads over MaxPayload are refused locally.
func (s *Session) Send(ctx context.Context, op int, d any) error {
	b, err := json.Marshal(struct {
		Op int `json:"op"`
		D  any `json:"d"`
	}{op, d})
	if err != nil {
		return fmt.Errorf("gateway: encoding op %d: %w", op, err)
	}
	if len(b) > MaxPayload {
		return fmt.Errorf("%w: op %d is %d bytes", ErrPayloadTooLarge, op, len(b))
	}
	for {
		s.mu.Lock()
		c, ready, stopped := s.cur, s.ready, s.stopped
		s.mu.Unlock()
		if stopped {
			return ErrClosed
		}
		if c != nil {
			err := c.write(ctx, b, false)
			if err == errConnGone {
				s.clearReady(c)
				continue
			}
			return err
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.detach:
			return ErrDetached
		}
	}
}
