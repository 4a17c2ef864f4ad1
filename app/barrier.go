package app

import (
	"context"
	"time"

	"github.com/gotp/gotp/dist"
)

// A barrier makes an API call that decides a placement (Start, Permit, Takeover of a
// distributed application) see what the application's peers had said before the call: it
// sends a Ping to each of them and waits for their Pongs. A peer answers after handling what
// it received before, and its messages arrive in order, so once its Pong is in, everything it
// sent earlier (say, that it now runs the application) has been applied here. OTP gets the
// same effect from the global lock its permit and takeover take over all nodes.
type barrier struct {
	waiting map[dist.Node]bool
	done    chan struct{}
}

func (c *Controller) barrier(ctx context.Context, app string) error {
	if c.dist[app] == nil || c.net == nil {
		return nil
	}
	done := make(chan struct{})
	var id uint64
	if !c.postFunc(func() {
		a := c.core.apps[app]
		if a == nil {
			close(done)
			return
		}
		peers := c.core.audience(a)
		if len(peers) == 0 {
			close(done)
			return
		}
		c.nextBar++
		id = c.nextBar
		b := &barrier{waiting: map[dist.Node]bool{}, done: done}
		c.bars[c.nextBar] = b
		for _, n := range peers {
			b.waiting[n] = true
			c.sender(n).push(wireMsg{Ping: c.nextBar})
		}
	}) {
		return ErrShutdown
	}
	// A ping can be lost (a peer whose controller is not listening yet drops it): ping the
	// silent peers again now and then, and go on without them after start_wait.
	every := barrierResend
	resend := time.NewTimer(every)
	defer resend.Stop()
	var giveUp <-chan time.Time
	if c.cfg.StartWait != Infinity {
		t := time.NewTimer(c.cfg.StartWait)
		defer t.Stop()
		giveUp = t.C
	}
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			c.dropBarrier(id)
			return ctx.Err()
		case <-c.done:
			return ErrShutdown
		case <-resend.C:
			every *= 2 // back off: at scale, thousands of calls may wait at once
			resend.Reset(every)
			c.postFunc(func() {
				if b := c.bars[id]; b != nil {
					for _, n := range sortedNodes(b.waiting) {
						c.sender(n).push(wireMsg{Ping: id})
					}
				}
			})
		case <-giveUp:
			c.log.Warn("barrier", "app", app, "reason", "peers did not answer within start_wait; deciding without them")
			c.dropBarrier(id)
			return nil
		}
	}
}

// barrierResend is when a barrier first pings again the peers that have not answered (then
// twice as long each time).
const barrierResend = time.Second

func (c *Controller) dropBarrier(id uint64) {
	c.postFunc(func() { delete(c.bars, id) })
}

// pong records n's answer to barrier id; id 0 means n went down (it answers no barrier).
func (c *Controller) pong(n dist.Node, id uint64) {
	for bid, b := range c.bars {
		if id != 0 && bid != id {
			continue
		}
		delete(b.waiting, n)
		if len(b.waiting) == 0 {
			close(b.done)
			delete(c.bars, bid)
		}
	}
}

// reping pings n again for every barrier still waiting on it (loop only).
func (c *Controller) reping(n dist.Node) {
	for id, b := range c.bars {
		if b.waiting[n] {
			c.sender(n).push(wireMsg{Ping: id})
		}
	}
}
