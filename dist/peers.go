package dist

// peer is what this node knows about one other node. It is guarded by Endpoint.mu.
type peer struct {
	node   Node
	hidden bool // the peer said "hidden" in its hello: never part of membership

	// membership, from memberlist
	mlBoot uint64 // boot id memberlist shows alive; 0 when not alive there
	mlAddr string // "ip:port" memberlist shows for it (its one port)

	// decided state (published through the node's inbox)
	up     bool
	upBoot uint64
	// dead holds instances known to be gone before memberlist noticed (link EOF plus a
	// refused reconnect, or a leaving announcement): memberlist may still list them alive.
	dead    map[uint64]DownReason
	leaving map[uint64]bool // instances that announced a graceful close

	// requireLink (mutual TLS on): a node is up only once a link to that very instance has
	// been authenticated, because memberlist's gossip carries no certificate.
	requireLink bool
	linkBoot    uint64 // boot id of the last link installed

	// the link
	link      *link
	dialing   bool          // an outgoing dial is in progress
	accepting bool          // an incoming handshake has been accepted, link not yet installed
	linkCh    chan struct{} // closed (and replaced) whenever link, dialing or accepting change

	inbox *inbox
}

func (p *peer) signal() {
	close(p.linkCh)
	p.linkCh = make(chan struct{})
}

// decide is the pure core of node monitoring: given the peer's state after a change, it
// returns the events to publish and updates up/upBoot. A node is up when memberlist lists an
// instance of it alive that is not known to be gone:
//
//	down(X) = memberlist says dead/left ∨ (link lost ∧ reconnect refused) ∨ X announced leaving
//
// reason is the cause of the change that triggered the call; a recorded reason for the
// instance (p.dead) wins over it.
func (p *peer) decide(reason DownReason) []NodeEvent {
	if p.hidden {
		return nil
	}
	wantUp := p.mlBoot != 0 && p.dead[p.mlBoot] == "" && (!p.requireLink || p.linkBoot == p.mlBoot)
	var evs []NodeEvent
	if p.up && (!wantUp || p.mlBoot != p.upBoot) {
		r := reason
		if d := p.dead[p.upBoot]; d != "" {
			r = d
		}
		if p.leaving[p.upBoot] {
			r = DownLeft // it said it was closing: whatever we saw next is its leave
		}
		evs = append(evs, NodeEvent{Node: p.node, Up: false, Reason: r, BootID: p.upBoot})
		p.up = false
	}
	if wantUp && !p.up {
		p.up, p.upBoot = true, p.mlBoot
		evs = append(evs, NodeEvent{Node: p.node, Up: true, BootID: p.upBoot})
	}
	p.gc()
	return evs
}

// gc forgets instances that can no longer matter: anything but the current memberlist
// instance and the one up.
func (p *peer) gc() {
	for b := range p.dead {
		if b != p.mlBoot && b != p.upBoot {
			delete(p.dead, b)
		}
	}
	for b := range p.leaving {
		if b != p.mlBoot && b != p.upBoot {
			delete(p.leaving, b)
		}
	}
}

// markDead records that instance boot of the peer is gone for reason.
func (p *peer) markDead(boot uint64, reason DownReason) {
	if p.dead == nil {
		p.dead = map[uint64]DownReason{}
	}
	if p.dead[boot] == "" {
		p.dead[boot] = reason
	}
}

func (p *peer) markLeaving(boot uint64) {
	if p.leaving == nil {
		p.leaving = map[uint64]bool{}
	}
	p.leaving[boot] = true
}
