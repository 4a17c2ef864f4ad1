package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gotp/gotp/dist"
)

func (c *core) nodeUp(n dist.Node) {
	if n == c.self || c.up[n] {
		return
	}
	c.up[n], c.known[n] = true, false
	c.asked[n] = c.now
	c.sendHello(n, true)
}

// sendHello sends this node's reports about its distributed applications to n; ask asks n
// to answer with its own (its hello may have arrived before this node listened).
func (c *core) sendHello(n dist.Node, ask bool) {
	var hello []appStatus
	for _, name := range c.sortedApps() {
		if a := c.apps[name]; a.dist != nil {
			hello = append(hello, c.status(a))
		}
	}
	c.send(n, wireMsg{IsHello: true, HelloAsk: ask, Hello: hello})
}

func (c *core) nodeDown(n dist.Node) {
	if !c.up[n] {
		return
	}
	delete(c.up, n)
	delete(c.known, n)
	for _, byNode := range c.pending {
		delete(byNode, n)
	}
	for _, name := range c.sortedApps() {
		a := c.apps[name]
		if a.dist == nil {
			continue
		}
		delete(a.peers, n)
		delete(a.excluded, n)
		delete(a.mismatch, n)
		switch {
		case a.phase == phRemote && a.node == n:
			c.runnerDown(a, n)
		case a.phase == phDeciding:
			c.decide(a)
		case a.phase == phLocal && !a.permit && len(a.moveReqs) > 0 && !c.othersPermitted(a):
			c.stopLocal(a, Stopped, "permission withdrawn and no permitted node is left")
		}
	}
}

// runnerDown starts a failover: arm Timeout (OTP §2.8 step 1).
func (c *core) runnerDown(a *appState, n dist.Node) {
	if !a.started || !a.permit {
		a.phase, a.node = phIdle, ""
		c.logDecision(a, "runs nowhere", string(n)+" went down and this node is not permitted", nil, false)
		return
	}
	a.phase, a.node, a.failFrom = phFailover, n, n
	a.timerGen++
	a.waitArmed = false
	if a.dist.Timeout == Infinity {
		c.logDecision(a, "failover pending", string(n)+" went down; Timeout is infinity: no automatic failover", nil, false)
		return
	}
	c.logDecision(a, "failover pending", fmt.Sprintf("%s went down; deciding after Timeout %v", n, a.dist.Timeout), nil, false)
	c.emit(actArm{App: a.name, After: a.dist.Timeout, Gen: a.timerGen})
}

func (c *core) timer(e evTimer) {
	a := c.apps[e.App]
	if a == nil || a.timerGen != e.Gen {
		return
	}
	switch {
	case a.phase == phFailover:
		c.decide(a)
	case a.phase == phDeciding:
		a.waitArmed = false
		c.expireWait(a)
	case a.phase == phLocal && !a.permit && len(a.moveReqs) > 0:
		a.waitArmed = false
		c.logDecision(a, "skip nodes", "no permitted node took over within start_wait", nil, true)
		c.stopLocal(a, Stopped, "permission withdrawn and no node took over within start_wait")
	}
}

// expireWait ends a wait that lasted start_wait: nodes that are up but have not started the
// application (or never said hello, or never sent a weight) are skipped from now on.
func (c *core) expireWait(a *appState) {
	var skipped []string
	for _, n := range a.dist.flatNodes() {
		if n == c.self || !c.up[n] || a.excluded[n] {
			continue
		}
		p := a.peers[n]
		lag := !c.known[n] || p == nil || !p.status.Started ||
			(strings.Contains(a.waitKind, "weights") && (!p.hasWeight || p.weightEpoch != a.epoch))
		if lag {
			if a.excluded == nil {
				a.excluded = map[dist.Node]bool{}
			}
			a.excluded[n] = true
			skipped = append(skipped, string(n))
		}
	}
	if len(skipped) > 0 {
		c.logDecision(a, "skip nodes", "up but not starting the application within start_wait: "+strings.Join(skipped, ","), nil, true)
	}
	c.decide(a)
	if a.phase == phDeciding && len(skipped) == 0 && len(a.startReqs) > 0 && !a.permit {
		// Nobody permitted has started it: answer the callers as OTP's not_started does.
		a.phase = phIdle
		c.replyAll(&a.startReqs, nil)
	}
}

func (c *core) peerMsg(from dist.Node, m wireMsg) {
	if from == c.self {
		return
	}
	if !c.up[from] {
		c.nodeUp(from)
	}
	switch {
	case m.IsHello:
		if m.HelloAsk {
			c.sendHello(from, false)
		}
		c.hello(from, m.Hello)
	case m.Status != nil:
		c.peerStatus(from, *m.Status)
	case m.Weight != nil:
		c.peerWeight(from, *m.Weight)
	}
}

func (c *core) hello(from dist.Node, sts []appStatus) {
	c.known[from] = true
	seen := map[string]bool{}
	for _, st := range sts {
		seen[st.App] = true
		c.peerStatus(from, st)
	}
	for _, name := range c.sortedApps() {
		a := c.apps[name]
		if a.dist == nil {
			continue
		}
		if !seen[name] {
			delete(a.peers, from)
		}
		if a.phase == phDeciding {
			c.decide(a)
		}
	}
}

func (c *core) peerStatus(from dist.Node, st appStatus) {
	a := c.apps[st.App]
	if a == nil {
		// Not loaded here yet: keep the latest report for the load (OTP's dist_loaded queue).
		if c.pending[st.App] == nil {
			c.pending[st.App] = map[dist.Node]appStatus{}
		}
		c.pending[st.App][from] = st
		return
	}
	if a.dist == nil {
		return
	}
	if !sameNodes(st.Nodes, a.dist.Nodes) {
		if !a.mismatch[from] {
			if a.mismatch == nil {
				a.mismatch = map[dist.Node]bool{}
			}
			a.mismatch[from] = true
			c.logDecision(a, "ignore peer", fmt.Sprintf("distribution mismatch for application %q on nodes %s and %s", a.name, c.self, from), nil, true)
		}
		delete(a.peers, from)
		return
	}
	delete(a.mismatch, from)
	prev := a.peers[from]
	p := &peerApp{status: st}
	if prev != nil {
		p.weight, p.weightEpoch, p.hasWeight = prev.weight, prev.weightEpoch, prev.hasWeight
	}
	a.peers[from] = p
	if st.Epoch > a.epoch {
		a.epoch = st.Epoch
	}
	if st.Started {
		delete(a.excluded, from)
		if (prev == nil || !prev.status.Started) && !slices.Contains(a.dist.flatNodes(), from) {
			// A node outside the list joined the audience: tell it where the app runs now.
			mine := c.status(a)
			c.send(from, wireMsg{Status: &mine})
		}
	}
	wasRunning := prev != nil && prev.status.Running
	switch {
	case st.Running && (!wasRunning || prev.status.IEpoch != st.IEpoch):
		c.peerRunning(a, from, st)
	case !st.Running && wasRunning:
		if a.phase == phRemote && a.node == from {
			a.phase, a.node = phIdle, ""
			c.logDecision(a, "runs nowhere", string(from)+" stopped it", nil, false)
		}
	case st.Failed && (prev == nil || !prev.status.Failed || prev.status.IEpoch != st.IEpoch):
		c.peerFailed(a, from, st)
	}
	if prev != nil && prev.status.Permit && !st.Permit && a.phase == phRemote && a.node == from && a.started && a.permit {
		c.decide(a)
		return
	}
	if a.phase == phLocal && !a.permit && len(a.moveReqs) > 0 && !c.othersPermitted(a) {
		c.stopLocal(a, Stopped, "permission withdrawn and no other node is permitted any more")
		return
	}
	if a.phase == phDeciding {
		c.decide(a)
	}
}

func (c *core) peerRunning(a *appState, from dist.Node, st appStatus) {
	pst := StartType{Kind: st.Kind, From: st.From, Epoch: st.IEpoch}
	switch a.phase {
	case phNone, phStarting, phStopping:
		// Recorded in peers; a start in progress is checked when it completes.
	case phLocal:
		if !wins(a.dist, c.self, a.local, from, pst) {
			c.stopLocal(a, Moved(from), fmt.Sprintf("%s runs it as %s (epoch %d)", from, pst, pst.Epoch))
		} else {
			c.logDecision(a, "keep running here", fmt.Sprintf("%s also runs it (epoch %d) but this instance wins", from, pst.Epoch), &a.local, true)
		}
	case phRemote:
		if a.node != from && c.runsOn(a, a.node) && wins(a.dist, a.node, a.runner, from, pst) {
			return
		}
		c.becomeRemote(a, from, fmt.Sprintf("%s announced it runs it as %s", from, pst))
	case phDeciding:
		// A pending placement walks again: from may be a lower-priority node we take over from.
		c.decide(a)
	default:
		c.becomeRemote(a, from, fmt.Sprintf("%s announced it runs it as %s", from, pst))
	}
}

func (c *core) peerFailed(a *appState, from dist.Node, st appStatus) {
	if st.Kind == KindTakeover && st.From == c.self && a.phase == phLocal {
		c.logDecision(a, "keep running here", "the takeover by "+string(from)+" failed", &a.local, true)
		c.emit(actAbortHandoff{App: a.name})
		return
	}
	if a.phase == phDeciding && a.node == from {
		a.phase, a.node = phIdle, ""
		a.timerGen++
		a.waitArmed = false
		c.logDecision(a, "runs nowhere", "the start on "+string(from)+" failed", nil, true)
		c.replyAll(&a.startReqs, &Error{Err: ErrStartFailed, App: a.name, Node: from})
	}
}

func (c *core) peerWeight(from dist.Node, w weightMsg) {
	a := c.apps[w.App]
	if a == nil || a.dist == nil {
		return
	}
	if w.Epoch > a.epoch {
		a.epoch = w.Epoch
	}
	p := a.peers[from]
	if p == nil {
		p = &peerApp{}
		a.peers[from] = p
	}
	p.weight, p.weightEpoch, p.hasWeight = w.Weight, w.Epoch, true
	if w.Ask && a.started && a.phase != phIdle && a.phase != phFailover && a.phase != phNone {
		if !a.hasMyWeight || a.myWeightEpoch != a.epoch {
			a.myWeight, a.myWeightEpoch, a.hasMyWeight = c.running(), a.epoch, true
		}
		c.send(from, wireMsg{Weight: &weightMsg{App: a.name, Weight: a.myWeight, Epoch: a.epoch}})
	}
	if a.phase == phDeciding {
		c.decide(a)
	}
}
