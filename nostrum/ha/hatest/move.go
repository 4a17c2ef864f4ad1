package hatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/nostrum/ha"
)

// MoveKind is how the bot moves.
type MoveKind int

// The moves.
const (
	// Takeover: the target calls app.Controller.Takeover; the runner hands its sessions off.
	Takeover MoveKind = iota
	// Failover: the runner is killed; the target fails over from its last checkpoint.
	Failover
)

// String returns "takeover" or "failover".
func (k MoveKind) String() string {
	if k == Failover {
		return "failover"
	}
	return "takeover"
}

// MoveSpec describes one measured move.
type MoveSpec struct {
	Kind     MoveKind
	From, To string  // short node names; From runs the bot
	Rate     float64 // posted messages per second during the move
	Warm     int     // messages From handles before the move (failover: then 1..Warm more after a checkpoint)
	After    int     // messages To handles after the move before the stream stops
}

// Move runs one move under a continuous stream of posted messages and measures it. It
// returns once every posted message was handled, or ctx ended (the rest count as lost).
func (c *Cluster) Move(ctx context.Context, m MoveSpec) (Figures, error) {
	w := Mark(c.Fake, c.Log)
	var anchor *Handled
	if w.Log > 0 {
		e := c.Log.Entries(w.Log - 1)[0]
		anchor = &e
	}
	ev0 := c.Events.Len()
	stop := c.Stream(m.Rate)
	defer stop()
	count := func(node string) func([]Handled) bool {
		want := m.Warm
		if node == m.To {
			want = m.After
		}
		return func(hs []Handled) bool {
			n := 0
			for _, h := range hs {
				if h.Node == node {
					n++
				}
			}
			return n >= want
		}
	}
	if err := c.Log.Wait(ctx, w.Log, count(m.From)); err != nil {
		return Figures{}, fmt.Errorf("%s handling before the move: %w", m.From, err)
	}
	moved := c.Log.Len()
	switch m.Kind {
	case Takeover:
		if err := c.Takeover(ctx, m.To); err != nil {
			return Figures{}, fmt.Errorf("takeover by %s: %w", m.To, err)
		}
	case Failover:
		// Fail over from a checkpoint: wait until From wrote two, so one is out on the mesh
		// (a kill may drop the one it queued last, as a crash would); then let a random
		// number of events pass, so the kill falls anywhere between two checkpoints.
		if err := c.WaitCheckpoints(ctx, m.From, 2); err != nil {
			return Figures{}, err
		}
		more, k := c.Log.Len(), rand.IntN(max(m.Warm, 1))+1
		if err := c.Log.Wait(ctx, more, func(hs []Handled) bool { return len(hs) >= k }); err != nil {
			return Figures{}, err
		}
		if err := c.Kill(ctx, m.From); err != nil {
			return Figures{}, err
		}
		_, err := c.Events.Wait(ctx, ev0, func(x NodeEvent) bool {
			s, ok := x.Event.(ha.Started)
			return ok && x.Node == m.To && s.Type.Kind == app.KindFailover
		})
		if err != nil {
			return Figures{}, err
		}
	}
	if err := c.Log.Wait(ctx, moved, count(m.To)); err != nil {
		return Figures{}, fmt.Errorf("%s handling after the move: %w", m.To, err)
	}
	stop()
	return c.Settle(ctx, m.From, m.To, w, anchor), nil
}

// Settle waits until every message posted since w was handled (or ctx ends) and computes
// the figures of a move from node from to node to.
func (c *Cluster) Settle(ctx context.Context, from, to string, w Window, anchor *Handled) Figures {
	injected := Injected(c.Fake, w)
	_ = c.Log.Wait(ctx, w.Log, func(hs []Handled) bool {
		seen := make(map[string]bool, len(hs))
		for _, h := range hs {
			seen[h.MessageID] = true
		}
		for _, id := range injected {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	return Compute(from, to, injected, c.Log.Entries(w.Log), anchor, ReplyTriggers(c.Fake, w))
}

// WaitCheckpoints waits until node wrote n more checkpoints.
func (c *Cluster) WaitCheckpoints(ctx context.Context, node string, n int) error {
	for range n {
		if _, err := c.Events.Wait(ctx, c.Events.Len(), func(x NodeEvent) bool {
			_, ok := x.Event.(ha.Checkpointed)
			return ok && x.Node == node
		}); err != nil {
			return err
		}
	}
	return nil
}

// Stream posts rate messages per second, spread over the shards' channels, until stop.
func (c *Cluster) Stream(rate float64) (stop func()) {
	var stops []func()
	for _, ch := range c.Channels {
		stops = append(stops, c.Fake.StartStream(rate/float64(len(c.Channels)), ch))
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// WaitTimeout is a generous bound for one move on a loaded machine.
const WaitTimeout = 30 * time.Second
