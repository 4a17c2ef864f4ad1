package app

import (
	"context"
	"sync"

	"github.com/gotp/gotp/dist"
)

// sender delivers the loop's messages to one peer in order without blocking the loop.
type sender struct {
	c     *Controller
	to    dist.Node
	mu    sync.Mutex
	queue [][]byte
	wake  chan struct{}
	stop  chan struct{}
	once  sync.Once
}

func (c *Controller) sender(to dist.Node) *sender {
	if s := c.senders[to]; s != nil {
		return s
	}
	s := &sender{c: c, to: to, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	c.senders[to] = s
	c.wg.Add(1)
	go s.run()
	return s
}

func (s *sender) push(b []byte) {
	s.mu.Lock()
	s.queue = append(s.queue, b)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) close() { s.once.Do(func() { close(s.stop) }) }

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
			for _, b := range batch {
				// A failed send means the link is gone; the nodedown that follows tells the
				// core, and the hello after the next nodeup resynchronises the peer.
				_ = s.c.net.Send(s.c.ctx, s.to, ServicePeer, b)
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
	b, err := encodeMsg(wireMsg{Checkpoint: &checkpointMsg{App: app, Epoch: epoch, Data: data}})
	if err != nil {
		return err
	}
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
