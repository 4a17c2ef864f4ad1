package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gotp/gotp/dist"
)

// outcome kinds of the placement walk (otp-dist-ac.md §2.6).
type outcomeKind int

const (
	oSelf         outcomeKind = iota // start it here
	oOther                           // node should start it: wait for it
	oAlready                         // it runs on node
	oNotStarted                      // nobody suitable has started it yet: wait
	oNoPermission                    // nobody is permitted: it runs nowhere
	oWait                            // information missing (hello, weights): wait
)

type outcome struct {
	kind   outcomeKind
	node   dist.Node
	reason string
}

// permitted reports whether n may run the application (OTP: its run entry is true).
func (c *core) permitted(a *appState, n dist.Node) bool {
	if n == c.self {
		return a.permit && a.loaded && slices.Contains(a.dist.flatNodes(), n)
	}
	if !c.up[n] || !c.known[n] || a.excluded[n] || a.mismatch[n] {
		return false
	}
	p := a.peers[n]
	return p != nil && p.status.Permit
}

// runsOn reports whether n runs the application, as far as this node knows.
func (c *core) runsOn(a *appState, n dist.Node) bool {
	if n == c.self {
		return a.phase == phLocal
	}
	p := a.peers[n]
	return c.up[n] && p != nil && p.status.Running
}

// anyRunner returns a node running the application (listed nodes first, in priority order).
func (c *core) anyRunner(a *appState) dist.Node {
	for _, n := range a.dist.flatNodes() {
		if c.runsOn(a, n) {
			return n
		}
	}
	for _, n := range sortedNodes(a.peers) {
		if c.runsOn(a, n) {
			return n
		}
	}
	return ""
}

func sortedNodes[V any](m map[dist.Node]V) []dist.Node {
	out := make([]dist.Node, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// place is the placement walk: where should the application run, given what we know?
func (c *core) place(a *appState) outcome {
	d := a.dist
	for _, n := range d.flatNodes() {
		if n != c.self && c.up[n] && !c.known[n] && !a.excluded[n] {
			return outcome{kind: oWait, node: n, reason: "waiting for the hello of " + string(n)}
		}
	}
	if !c.permitted(a, c.self) {
		if r := c.anyRunner(a); r != "" {
			return outcome{kind: oAlready, node: r, reason: "runs on " + string(r)}
		}
		for _, n := range d.flatNodes() {
			if c.permitted(a, n) {
				return outcome{kind: oNotStarted, reason: "not permitted here; waiting for a permitted node to start it"}
			}
		}
		return outcome{kind: oNoPermission, reason: "no node is permitted to run it"}
	}
	for ti, tier := range d.Nodes {
		var members []dist.Node
		for _, n := range tier {
			if c.permitted(a, n) {
				members = append(members, n)
			}
		}
		if len(members) == 0 {
			continue
		}
		for _, m := range members {
			if c.runsOn(a, m) {
				return outcome{kind: oAlready, node: m, reason: fmt.Sprintf("runs on %s (tier %d)", m, ti+1)}
			}
		}
		if len(members) == 1 {
			return c.chosen(members[0], fmt.Sprintf("first permitted node in priority order (tier %d)", ti+1))
		}
		return c.elect(a, ti, members)
	}
	return outcome{kind: oNotStarted, reason: "no listed node can run it now"}
}

func (c *core) chosen(n dist.Node, reason string) outcome {
	if n == c.self {
		return outcome{kind: oSelf, node: n, reason: reason}
	}
	return outcome{kind: oOther, node: n, reason: reason}
}

// elect runs the equal-priority election: fewest running applications, then lowest name.
func (c *core) elect(a *appState, ti int, members []dist.Node) outcome {
	c.ensureWeightSent(a)
	type cand struct {
		w int
		n dist.Node
	}
	var cands []cand
	var missing []string
	for _, m := range members {
		if m == c.self {
			cands = append(cands, cand{a.myWeight, m})
			continue
		}
		p := a.peers[m]
		if p == nil || !p.hasWeight || p.weightEpoch != a.epoch {
			missing = append(missing, string(m))
			continue
		}
		cands = append(cands, cand{p.weight, m})
	}
	if len(missing) > 0 {
		return outcome{kind: oWait, reason: "election in tier " + fmt.Sprint(ti+1) + ": waiting for the weights of " + strings.Join(missing, ",")}
	}
	slices.SortFunc(cands, func(x, y cand) int {
		if x.w != y.w {
			return x.w - y.w
		}
		return strings.Compare(string(x.n), string(y.n))
	})
	var parts []string
	for _, cd := range cands {
		parts = append(parts, fmt.Sprintf("%s=%d", cd.n, cd.w))
	}
	return c.chosen(cands[0].n, fmt.Sprintf("won the election in tier %d (running apps %s)", ti+1, strings.Join(parts, " ")))
}

// ensureWeightSent caches this node's weight for the current epoch and sends it, asking for
// theirs, to the permitted peers of the application.
func (c *core) ensureWeightSent(a *appState) {
	if a.hasMyWeight && a.myWeightEpoch == a.epoch {
		return
	}
	a.myWeight, a.myWeightEpoch, a.hasMyWeight = c.running(), a.epoch, true
	for _, n := range a.dist.flatNodes() {
		if n != c.self && c.permitted(a, n) {
			c.send(n, wireMsg{Weight: &weightMsg{App: a.name, Weight: a.myWeight, Epoch: a.epoch, Ask: true}})
		}
	}
}

// decide runs the walk and acts on it; the application is started here and not running here.
func (c *core) decide(a *appState) {
	o := c.place(a)
	switch o.kind {
	case oSelf:
		kind, from := KindNormal, dist.Node("")
		if r := c.anyRunner(a); r != "" {
			kind, from = KindTakeover, r
		} else if a.failFrom != "" {
			kind, from = KindFailover, a.failFrom
		}
		c.startLocal(a, kind, from, o.reason)
	case oAlready:
		c.becomeRemote(a, o.node, o.reason)
	case oNoPermission:
		a.phase, a.node = phIdle, ""
		a.timerGen++
		a.waitArmed = false
		c.logDecision(a, "runs nowhere", o.reason, nil, false)
		c.replyAll(&a.startReqs, nil)
		c.replyAll(&a.moveReqs, nil)
	default: // oOther, oNotStarted, oWait
		wait := o.reason
		if o.kind == oOther {
			wait = "waiting for " + string(o.node) + " to start it: " + o.reason
		}
		if a.phase != phDeciding || a.waitKind != wait {
			a.phase, a.waitKind = phDeciding, wait
			if o.kind == oOther {
				a.node = o.node
			} else {
				a.node = ""
			}
			c.logDecision(a, "wait", wait, nil, false)
		}
		c.armWait(a)
	}
}

// armWait bounds the current wait by start_wait (deviation 7).
func (c *core) armWait(a *appState) {
	if a.waitArmed || c.startWait == Infinity {
		return
	}
	a.waitArmed = true
	a.timerGen++
	c.emit(actArm{App: a.name, After: c.startWait, Gen: a.timerGen})
}

// becomeRemote records that node n runs the application.
func (c *core) becomeRemote(a *appState, n dist.Node, reason string) {
	a.phase, a.node = phRemote, n
	if p := a.peers[n]; p != nil {
		a.runner = StartType{Kind: p.status.Kind, From: p.status.From, Epoch: p.status.IEpoch}
	}
	a.since = c.now
	a.failFrom = ""
	a.timerGen++
	a.waitArmed = false
	a.excluded = nil
	c.logDecision(a, "runs on "+string(n), reason, &a.runner, false)
	c.replyAll(&a.startReqs, nil)
	c.replyAll(&a.moveReqs, nil)
}

// startLocal claims the next epoch and starts the local instance.
func (c *core) startLocal(a *appState, kind StartKind, from dist.Node, reason string) {
	st := StartType{Kind: kind, From: from}
	if a.dist != nil {
		a.epoch++
		st.Epoch = a.epoch
	}
	a.local = st
	a.phase, a.node = phStarting, ""
	a.timerGen++
	a.waitArmed = false
	c.logDecision(a, "start here", reason, &st, false)
	c.emit(actStartLocal{App: a.name, ST: st, RT: a.rt})
}

// stopLocal stops the local instance.
func (c *core) stopLocal(a *appState, r StopReason, reason string) {
	a.phase, a.stopReason = phStopping, r
	a.node = r.To
	a.timerGen++
	a.waitArmed = false
	c.logDecision(a, "stop here: "+r.String(), reason, &a.local, false)
	c.emit(actStopLocal{App: a.name, Reason: r})
}

// wins reports whether the instance (na, sa) beats (nb, sb) when both run: a takeover beats
// the instance it took over from; otherwise the higher-priority node, then the higher epoch,
// then the lower node name keeps it (deviation 5).
func wins(d *Distributed, na dist.Node, sa StartType, nb dist.Node, sb StartType) bool {
	if sa.Kind == KindTakeover && sa.From == nb && sa.Epoch > sb.Epoch {
		return true
	}
	if sb.Kind == KindTakeover && sb.From == na && sb.Epoch > sa.Epoch {
		return false
	}
	if ta, tb := d.tierOf(na), d.tierOf(nb); ta != tb {
		return ta < tb
	}
	if sa.Epoch != sb.Epoch {
		return sa.Epoch > sb.Epoch
	}
	return na < nb
}

// status is this node's report about a.
func (c *core) status(a *appState) appStatus {
	st := appStatus{App: a.name, Nodes: a.dist.Nodes, Started: a.started, Permit: a.permit, Epoch: a.epoch}
	if a.phase == phLocal {
		st.Running = true
		st.Kind, st.From, st.IEpoch = a.local.Kind, a.local.From, a.local.Epoch
	}
	return st
}

// broadcast tells the peers that care about a change of a: the nodes of its list and the
// peers that started it (OTP sends to all known nodes; the others never need it).
func (c *core) broadcast(a *appState) {
	if a.dist == nil {
		return
	}
	st := c.status(a)
	for _, n := range c.audience(a) {
		s := st
		c.send(n, wireMsg{Status: &s})
	}
}

// audience returns the up peers in a's list or known to have started a, sorted.
func (c *core) audience(a *appState) []dist.Node {
	var out []dist.Node
	for _, n := range sortedNodes(c.up) {
		if p := a.peers[n]; (p != nil && p.status.Started) || slices.Contains(a.dist.flatNodes(), n) {
			out = append(out, n)
		}
	}
	return out
}

// broadcastFailed tells peers that the local start at epoch st.Epoch failed.
func (c *core) broadcastFailed(a *appState, st StartType) {
	if a.dist == nil {
		return
	}
	s := c.status(a)
	s.Failed, s.Kind, s.From, s.IEpoch = true, st.Kind, st.From, st.Epoch
	for _, n := range c.audience(a) {
		m := s
		c.send(n, wireMsg{Status: &m})
	}
}

// othersPermitted reports whether a peer that is up and permitted could take a over (OTP:
// another run entry is true; a peer that never starts it is skipped after start_wait).
func (c *core) othersPermitted(a *appState) bool {
	for _, n := range a.dist.flatNodes() {
		if n != c.self && c.permitted(a, n) {
			return true
		}
	}
	return false
}

// bestRunner returns, among the peers running the application, the one whose instance wins
// against all the others; "" when no peer runs it.
func (c *core) bestRunner(a *appState) dist.Node {
	if a.dist == nil {
		return ""
	}
	var best dist.Node
	var bst StartType
	for _, n := range sortedNodes(a.peers) {
		if !c.runsOn(a, n) {
			continue
		}
		p := a.peers[n].status
		st := StartType{Kind: p.Kind, From: p.From, Epoch: p.IEpoch}
		if best == "" || wins(a.dist, n, st, best, bst) {
			best, bst = n, st
		}
	}
	return best
}
