package app

import (
	"context"
	"sync"
	"time"

	"github.com/gotp/gotp/dist"
)

// sender delivers the loop's messages to one peer in order without blocking the loop.
type sender struct {
	c     *Controller
	to    dist.Node
	mu    sync.Mutex
	queue []wireMsg
	enq   uint64 // messages pushed
	done  uint64 // messages handed to the network
	flush *sync.Cond
	wake  chan struct{}
	stop  chan struct{}
	once  sync.Once
}

func (c *Controller) sender(to dist.Node) *sender {
	if s := c.senders[to]; s != nil {
		return s
	}
	s := &sender{c: c, to: to, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.flush = sync.NewCond(&s.mu)
	c.senders[to] = s
	c.wg.Add(1)
	go s.run()
	return s
}

func (s *sender) push(m wireMsg) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.enq++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Send retries.
const (
	sendTries = 3
	sendRetry = 100 * time.Millisecond
)

// sleep waits d unless the sender closes first (then it returns false).
func (s *sender) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	case <-s.c.ctx.Done():
		return false
	}
}

func (s *sender) close() {
	s.once.Do(func() {
		close(s.stop)
		s.mu.Lock()
		s.done = s.enq // nothing more will be sent: release waiters
		s.flush.Broadcast()
		s.mu.Unlock()
	})
}

// pending returns the count of pushed messages and whether some are not sent yet.
func (s *sender) pending() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enq, s.done < s.enq
}

// waitSent waits until the first mark messages are handed to the network.
func (s *sender) waitSent(mark uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.done < mark {
		s.flush.Wait()
	}
}

func (s *sender) run() {
	defer s.c.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.c.ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			// Everything queued goes in one frame (a batch), up to maxBatch messages each.
			for len(batch) > 0 {
				n := min(len(batch), maxBatch)
				b, err := encodeMsgs(batch[:n])
				batch = batch[n:]
				if err != nil {
					s.c.log.Error("cannot encode a peer message", "reason", err.Error())
					continue
				}
				// A failed send is retried a few times (a link being set up); after that the
				// link is gone: the nodedown that follows tells the core, and the hello after
				// the next nodeup resynchronises the peer.
				for try := 0; try < sendTries; try++ {
					if s.c.net.Send(s.c.ctx, s.to, ServicePeer, b) == nil || !s.sleep(sendRetry) {
						break
					}
				}
				s.mu.Lock()
				s.done += uint64(n)
				s.flush.Broadcast()
				s.mu.Unlock()
			}
		}
	}
}

// checkpoint replicates data to the application's other nodes that are up.
func (c *Controller) checkpoint(_ context.Context, app string, epoch uint64, data []byte) error {
	d := c.dist[app]
	if d == nil || c.net == nil {
		return nil
	}
	b := wireMsg{Checkpoint: &checkpointMsg{App: app, Epoch: epoch, Data: data}}
	if !c.postFunc(func() {
		for _, n := range d.flatNodes() {
			if n != c.self && c.core.up[n] {
				c.sender(n).push(b)
			}
		}
	}) {
		return ErrShutdown
	}
	return nil
}

func (c *Controller) storeCheckpoint(from dist.Node, m checkpointMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byNode := c.ckpts[m.App]
	if byNode == nil {
		byNode = map[dist.Node]checkpointMsg{}
		c.ckpts[m.App] = byNode
	}
	if old, ok := byNode[from]; ok && old.Epoch > m.Epoch {
		return
	}
	byNode[from] = m
}

func (c *Controller) lastCheckpoint(app string, from dist.Node) ([]byte, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.ckpts[app][from]
	if !ok {
		return nil, 0, false
	}
	return m.Data, m.Epoch, true
}
