package nostrum

import (
	"context"
	"errors"

	"github.com/gotp/gotp/nostrum/discord"
	"github.com/gotp/gotp/nostrum/dispatch"
	"github.com/gotp/gotp/nostrum/gateway"
)

// shardRun is a running shard, as Detach and Close see it.
type shardRun struct {
	id     int
	sess   *gateway.Session
	cancel context.CancelFunc
	done   chan struct{}
}

// shard is the supervised service of one shard.
type shard struct {
	b     *Bot
	gate  *identifyGate
	id    int
	count int
	url   string
	start ResumeInfo
}

// Start runs synchronously in the supervisor, in shard order: the shard queues for its
// IDENTIFY here, so buckets start in order.
func (s *shard) Start(context.Context) error {
	b := s.b
	b.mu.Lock()
	if ri, ok := b.resume[s.id]; ok {
		s.start = ri
		delete(b.resume, s.id)
	} else if ri, ok := b.final[s.id]; ok && ri.ShardCount == s.count {
		s.start = ri // a restart after a crash resumes the session it had
	}
	b.mu.Unlock()
	if s.start.SessionID == "" {
		s.gate.enqueue(s.id)
	}
	return nil
}

// Serve runs the shard's session until it stops, then drains its handler queue.
func (s *shard) Serve(ctx context.Context) error {
	b := s.b
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q, err := dispatch.New(dispatch.Config{
		Handler: b.opts.Handler, Concurrency: b.opts.Concurrency, Buffer: b.opts.QueueSize, Logger: b.log,
	})
	if err != nil {
		return err
	}
	sess, err := gateway.New(gateway.Config{
		Token: b.token, Intents: b.opts.Intents, Shard: s.id, ShardCount: s.count,
		GatewayURL: s.url, LargeThreshold: b.opts.LargeThreshold, Compress: b.opts.Compress,
		SendLimit: b.opts.SendLimit, SendWindow: b.opts.SendWindow,
		InvalidSessionMin: b.opts.InvalidSessionMin, InvalidSessionMax: b.opts.InvalidSessionMax,
		BackoffMin: b.opts.BackoffMin, BackoffMax: b.opts.BackoffMax,
		Gate: s.gate, Dispatch: s.dispatchTo(q), OnEvent: s.onEvent, Logger: b.log,
	})
	if err != nil {
		q.Close()
		return err
	}
	if s.start.SessionID != "" {
		sess.SetState(gateway.State{SessionID: s.start.SessionID, ResumeURL: s.start.ResumeURL, Seq: s.start.Seq})
		q.SetCommitted(s.start.Seq)
	}
	run := &shardRun{id: s.id, sess: sess, cancel: cancel, done: make(chan struct{})}
	b.mu.Lock()
	if b.detached || b.closing {
		b.mu.Unlock()
		q.Close()
		return nil
	}
	b.runs[s.id] = run
	b.mu.Unlock()

	runErr := sess.Run(ctx)
	s.finish(q, sess, run)
	if runErr == nil || errors.Is(runErr, gateway.ErrDetached) {
		return nil
	}
	return runErr
}

// finish drains the queue (bounded) and records the shard's resume state.
func (s *shard) finish(q *dispatch.Queue, sess *gateway.Session, run *shardRun) {
	b := s.b
	dctx, cancel := context.WithTimeout(context.Background(), b.opts.DrainTimeout)
	defer cancel()
	if err := q.Drain(dctx); err != nil {
		b.log.Warn("nostrum: handlers did not finish in time; the resume point is the low-watermark",
			"shard", s.id, "committed", q.Committed(), "err", err)
		go q.Close()
	} else {
		q.Close()
	}
	st := sess.State()
	info := ResumeInfo{ShardID: s.id, ShardCount: s.count, SessionID: st.SessionID,
		ResumeURL: st.ResumeURL, GatewayURL: s.url, Seq: q.Committed()}
	if st.SessionID == "" {
		info.Seq = 0
	}
	b.mu.Lock()
	b.final[s.id] = info
	if b.runs[s.id] == run {
		delete(b.runs, s.id)
	}
	b.mu.Unlock()
	close(run.done)
}

// dispatchTo is the hot path: decode, update the cache, publish, queue for the handler.
func (s *shard) dispatchTo(q *dispatch.Queue) func(context.Context, gateway.Dispatch) error {
	b := s.b
	return func(ctx context.Context, d gateway.Dispatch) error {
		ev := Event{Shard: s.id, ShardCount: s.count, Seq: d.Seq, Type: d.Type, Raw: d.Data}
		switch d.Type {
		case "MESSAGE_CREATE", "MESSAGE_UPDATE":
			m := new(discord.Message)
			if err := discord.DecodeMessage(d.Data, m); err != nil {
				b.log.Warn("nostrum: undecodable message", "shard", s.id, "seq", d.Seq, "err", err)
			} else {
				ev.Message = m
			}
		case "READY", "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "CHANNEL_CREATE", "CHANNEL_DELETE":
			if err := b.cache.Apply(s.id, d.Type, d.Data); err != nil {
				b.log.Warn("nostrum: cache update failed", "shard", s.id, "type", d.Type, "err", err)
			}
		}
		b.hub.Publish(ev)
		return q.Push(ctx, ev)
	}
}

func (s *shard) onEvent(e gateway.Event) {
	s.b.log.Debug("nostrum: gateway", "event", e.String())
	if h := s.b.opts.OnGatewayEvent; h != nil {
		h(e)
	}
}
