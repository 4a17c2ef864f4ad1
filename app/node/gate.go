package node

import (
	"context"
	"sync"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
)

// peerGate holds the controller's peer messages that arrive before the controller exists.
//
// The runtime builds the controller after the boot barrier, so that its first view holds
// every node the barrier saw. Peers that passed their barrier earlier already talk to this
// node's controller service (hellos, placement pings); dist drops a message for a service
// without a handler, and a lost ping would leave a peer's start waiting. The gate is the
// service's handler from the endpoint's start: it queues messages until the controller
// registers, hands them over in arrival order, then passes every later one straight through.
type peerGate struct {
	mu    sync.Mutex
	h     dist.Handler
	queue []queued
}

type queued struct {
	from    dist.Peer
	payload []byte
}

func (g *peerGate) serve(ctx context.Context, from dist.Peer, payload []byte) ([]byte, error) {
	g.mu.Lock()
	if g.h == nil {
		g.queue = append(g.queue, queued{from: from, payload: payload})
		g.mu.Unlock()
		return nil, nil
	}
	h := g.h
	g.mu.Unlock()
	return h(ctx, from, payload)
}

// set installs the controller's handler after handing it the queued messages (under the
// lock, so a message arriving meanwhile waits and keeps its order).
func (g *peerGate) set(h dist.Handler) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range g.queue {
		_, _ = h(context.Background(), q.from, q.payload)
	}
	g.queue, g.h = nil, h
}

// gatedNet is the endpoint as the controller sees it: its peer service goes through the gate.
type gatedNet struct {
	*dist.Endpoint
	gate *peerGate
}

func newGatedNet(ep *dist.Endpoint) *gatedNet {
	g := &gatedNet{Endpoint: ep, gate: &peerGate{}}
	ep.Handle(app.ServicePeer, g.gate.serve)
	return g
}

// Handle registers the controller's handlers; the peer service's goes to the gate.
func (g *gatedNet) Handle(service string, h dist.Handler) {
	if service == app.ServicePeer && h != nil {
		g.gate.set(h)
		return
	}
	g.Endpoint.Handle(service, h)
}
