package app

import (
	"fmt"

	"github.com/gotp/gotp/dist"
)

// configure makes a distributed entry known before its application is loaded: as OTP's
// dist_ac controls every configured application from boot, peers learn this node's
// permission for it from the first hello.
func (c *core) configure(d *Distributed, permit bool) {
	if c.apps[d.App] != nil {
		return
	}
	c.apps[d.App] = &appState{name: d.App, dist: d, permit: permit, peers: map[dist.Node]*peerApp{}}
}

func (c *core) load(e evLoad) {
	a := c.apps[e.App]
	if a == nil {
		a = &appState{name: e.App, peers: map[dist.Node]*peerApp{}}
		c.apps[e.App] = a
	}
	a.loaded, a.required, a.dist, a.permit = true, e.Required, e.Dist, e.Permit
	pend := c.pending[e.App]
	delete(c.pending, e.App)
	if a.dist == nil {
		return
	}
	c.broadcast(a)
	for _, n := range sortedNodes(pend) {
		if c.up[n] {
			c.peerStatus(n, pend[n])
		}
	}
}

func (c *core) unload(e evUnload) {
	a := c.apps[e.App]
	switch {
	case a == nil || !a.loaded:
		c.reply(e.Req, appErr(ErrNotLoaded, e.App))
	case a.phase == phLocal || a.phase == phStarting || a.phase == phStopping:
		c.reply(e.Req, appErr(ErrRunning, e.App))
	default:
		a.loaded, a.started, a.phase = false, false, phNone
		c.broadcast(a)
		delete(c.apps, e.App)
		c.reply(e.Req, nil)
	}
}

func (c *core) start(e evStart) {
	a := c.apps[e.App]
	switch {
	case a == nil || !a.loaded:
		c.reply(e.Req, appErr(ErrNotLoaded, e.App))
		return
	case !e.RT.Valid():
		c.reply(e.Req, &InvalidRestartTypeError{Value: int(e.RT)})
		return
	case a.started && len(a.startReqs) > 0:
		// OTP-5606: a start while another start of the app is pending gets the same answer.
		a.startReqs = append(a.startReqs, e.Req)
		return
	case a.started:
		c.reply(e.Req, appErr(ErrAlreadyStarted, e.App))
		return
	}
	for _, r := range a.required {
		ra := c.apps[r]
		if ra == nil || !ra.started || !(ra.phase == phLocal || ra.phase == phRemote) {
			c.reply(e.Req, appErr(ErrNotStarted, r))
			return
		}
	}
	a.started, a.rt = true, e.RT
	a.startReqs = append(a.startReqs, e.Req)
	if a.dist == nil {
		if !a.permit {
			a.phase = phIdle
			c.logDecision(a, "not started", "permission is false", nil, false)
			c.replyAll(&a.startReqs, nil)
			return
		}
		c.startLocal(a, KindNormal, "", "local application")
		return
	}
	a.phase = phIdle
	c.broadcast(a)
	c.decide(a)
}

func (c *core) stop(e evStop) {
	a := c.apps[e.App]
	if a == nil || !a.loaded || !a.started {
		c.reply(e.Req, appErr(ErrNotStarted, e.App))
		return
	}
	a.started = false
	c.replyAll(&a.startReqs, appErr(ErrStopped, e.App))
	c.replyAll(&a.moveReqs, appErr(ErrStopped, e.App))
	switch a.phase {
	case phLocal:
		a.stopReqs = append(a.stopReqs, e.Req)
		c.stopLocal(a, Stopped, "stop requested")
	case phStarting:
		a.stopReqs = append(a.stopReqs, e.Req)
		a.stopWhenStarted = true
	case phStopping:
		a.stopReqs = append(a.stopReqs, e.Req)
	default:
		a.phase, a.node = phNone, ""
		a.timerGen++
		c.logDecision(a, "forgotten here", "stop requested on a node not running it", nil, false)
		c.broadcast(a)
		c.reply(e.Req, nil)
	}
}

func (c *core) takeover(e evTakeover) {
	a := c.apps[e.App]
	switch {
	case !e.RT.Valid():
		c.reply(e.Req, &InvalidRestartTypeError{Value: int(e.RT)})
	case a == nil || a.dist == nil || !a.started:
		c.reply(e.Req, appErr(ErrNotRunningDistributed, e.App))
	case a.phase == phLocal || a.phase == phStarting:
		c.reply(e.Req, appErr(ErrAlreadyRunningLocally, e.App))
	case a.phase == phRemote:
		a.rt = e.RT
		a.moveReqs = append(a.moveReqs, e.Req)
		c.startLocal(a, KindTakeover, a.node, "takeover requested")
	default:
		c.reply(e.Req, appErr(ErrNotRunningDistributed, e.App))
	}
}

func (c *core) permitEv(e evPermit) {
	a := c.apps[e.App]
	if a == nil || !a.loaded {
		c.reply(e.Req, appErr(ErrNotLoaded, e.App))
		return
	}
	a.permit = e.Permit
	if a.dist == nil {
		c.permitLocal(a, e)
		return
	}
	c.broadcast(a)
	if !a.started {
		c.reply(e.Req, nil)
		return
	}
	if !e.Permit {
		switch a.phase {
		case phLocal:
			a.moveReqs = append(a.moveReqs, e.Req)
			if c.othersPermitted(a) {
				c.logDecision(a, "wait", "permission withdrawn; waiting for a permitted node to take over", nil, false)
				c.armWait(a)
			} else {
				c.stopLocal(a, Stopped, "permission withdrawn and no other node is permitted")
			}
		case phDeciding:
			c.reply(e.Req, nil)
			c.decide(a)
		default:
			c.reply(e.Req, nil)
		}
		return
	}
	switch a.phase {
	case phLocal, phStarting, phStopping:
		c.reply(e.Req, nil)
	default:
		a.moveReqs = append(a.moveReqs, e.Req)
		a.excluded = nil
		c.decide(a)
		if a.phase != phStarting {
			c.replyAll(&a.moveReqs, nil)
		}
	}
}

func (c *core) permitLocal(a *appState, e evPermit) {
	switch {
	case !a.started:
		c.reply(e.Req, nil)
	case !e.Permit && a.phase == phLocal:
		a.moveReqs = append(a.moveReqs, e.Req)
		c.stopLocal(a, Stopped, "permission withdrawn")
	case e.Permit && a.phase == phIdle:
		a.moveReqs = append(a.moveReqs, e.Req)
		c.startLocal(a, KindNormal, "", "permission granted")
	default:
		c.reply(e.Req, nil)
	}
}

func (c *core) localStarted(e evLocalStarted) {
	a := c.apps[e.App]
	if a == nil || a.phase != phStarting || a.local.Epoch != e.Epoch {
		return
	}
	if e.Err != nil {
		c.localStartFailed(a, e.Err)
		return
	}
	a.phase, a.since, a.failFrom, a.excluded = phLocal, c.now, "", nil
	c.logDecision(a, "running here", "start returned", &a.local, false)
	c.broadcast(a)
	c.replyAll(&a.startReqs, nil)
	c.replyAll(&a.moveReqs, nil)
	if a.stopWhenStarted {
		a.stopWhenStarted = false
		c.stopLocal(a, Stopped, "stop requested while starting")
		return
	}
	if a.dist == nil {
		return
	}
	for _, n := range sortedNodes(a.peers) {
		p := a.peers[n]
		if !c.runsOn(a, n) {
			continue
		}
		pst := StartType{Kind: p.status.Kind, From: p.status.From, Epoch: p.status.IEpoch}
		if !wins(a.dist, c.self, a.local, n, pst) {
			c.stopLocal(a, Moved(n), fmt.Sprintf("%s also runs it and wins (epoch %d)", n, pst.Epoch))
			return
		}
	}
}

func (c *core) localStartFailed(a *appState, err error) {
	st := a.local
	werr := &Error{Err: ErrStartFailed, App: a.name, Cause: err}
	c.logDecision(a, "start failed", err.Error(), &st, true)
	a.stopWhenStarted = false
	stops, moves := a.stopReqs, a.moveReqs
	a.stopReqs, a.moveReqs = nil, nil
	defer c.replyAll(&stops, nil)
	defer c.replyAll(&moves, werr) // after the broadcast below
	if st.Kind == KindTakeover && c.runsOn(a, st.From) {
		// Deviation 3: the old instance keeps running.
		starts := a.startReqs
		a.startReqs = nil
		c.becomeRemote(a, st.From, "takeover failed; the old instance keeps running")
		c.broadcastFailed(a, st)
		c.replyAll(&starts, werr)
		return
	}
	if len(a.startReqs) > 0 || a.dist == nil {
		a.started, a.phase = false, phNone
		c.replyAll(&a.startReqs, werr)
	} else {
		a.phase = phIdle
	}
	c.broadcastFailed(a, st)
}

func (c *core) localStopped(e evLocalStopped) {
	a := c.apps[e.App]
	if a == nil || a.phase != phStopping {
		return
	}
	// Peers hear that the local instance stopped before the callers are answered.
	moves, stops := a.moveReqs, a.stopReqs
	a.moveReqs, a.stopReqs = nil, nil
	switch r := c.bestRunner(a); {
	case r != "":
		c.becomeRemote(a, r, "local instance stopped after the move")
	case a.stopReason.Kind == StopMoved && a.node != "" && !c.up[a.node]:
		// The node the application moved to went down while this instance was stopping:
		// its nodedown found this node stopping, not standing by, so fail over from it now.
		c.runnerDown(a, a.node)
	case !a.started:
		a.phase, a.node = phNone, ""
		c.logDecision(a, "stopped", "local instance stopped", nil, false)
	default:
		a.phase, a.node = phIdle, ""
		c.logDecision(a, "stopped", "local instance stopped; runs nowhere known", nil, false)
	}
	c.broadcast(a)
	c.replyAll(&stops, nil)
	c.replyAll(&moves, nil)
}

func (c *core) localExited(e evLocalExited) {
	a := c.apps[e.App]
	if a == nil || a.phase != phLocal {
		return
	}
	fatal := a.rt == Permanent || (a.rt == Transient && e.Abnormal)
	if fatal {
		// Deviation 4: the node stops without telling peers the app stopped, so they fail
		// over from it after Timeout.
		c.logDecision(a, "node stops", fmt.Sprintf("%s application exited: %s", a.rt, e.Reason), &a.local, true)
		c.emit(actFatal{App: a.name, Reason: e.Reason})
		c.halted = true
		return
	}
	a.started, a.phase, a.node = false, phNone, ""
	c.logDecision(a, "exited", fmt.Sprintf("%s application exited: %s; it runs nowhere", a.rt, e.Reason), &a.local, true)
	c.broadcast(a)
}
