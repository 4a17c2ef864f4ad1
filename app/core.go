package app

// The pure decision core. One core per node holds, for every application, what this node
// knows (its own state, each peer's reported state, epochs, weights) and turns one event at a
// time into a new state and a list of actions. It has no goroutines, timers or I/O: the
// Controller feeds it events (API calls, instance results, node events, peer messages, timer
// expiries) and carries out the actions. Scenario scripts under testdata/ drive it directly.

import (
	"slices"
	"time"

	"github.com/gotp/gotp/dist"
)

// helloRetry is how long a node waits for a peer's hello before asking for it again.
const helloRetry = 2 * time.Second

// Infinity is the Timeout of a distributed entry that never fails over, and the StartWait that
// waits forever.
const Infinity time.Duration = -1

// Distributed is one entry of the kernel `distributed` parameter: App runs on the first
// available node of Nodes, a list of priority tiers (left = highest; nodes in one tier have
// equal priority). Timeout is how long survivors wait after the running node went down before
// restarting App elsewhere (0 = at once, Infinity = never).
type Distributed struct {
	App     string
	Timeout time.Duration
	Nodes   [][]dist.Node
}

// phase is one node's view of an application (OTP dist_ac's id, plus AC's started flag).
type phase int

const (
	phNone     phase = iota // not started here
	phIdle                  // started here; runs nowhere we know of; no decision pending
	phDeciding              // started here; waiting for the information a placement needs
	phStarting              // the local instance is starting (OTP run_waiting)
	phLocal                 // the local instance runs
	phStopping              // the local instance is stopping
	phRemote                // runs on node (OTP {distributed, N})
	phFailover              // node went down while running it; failover timer armed
)

var phaseNames = [...]string{"none", "idle", "deciding", "starting", "local", "stopping", "remote", "failover"}

func (p phase) String() string { return phaseNames[p] }

// reqID identifies an API call waiting for a reply.
type reqID uint64

// peerApp is what a peer last reported about one application.
type peerApp struct {
	status      appStatus
	weight      int
	weightEpoch uint64
	hasWeight   bool
}

// appState is one application as this node sees it.
type appState struct {
	name     string
	required []string
	dist     *Distributed // nil: a local application
	loaded   bool
	started  bool
	rt       RestartType
	permit   bool

	phase phase
	node  dist.Node // runner (remote), dead node (failover), target (stopping)
	epoch uint64    // highest epoch known for the application

	local      StartType // the local instance's start type (starting, local, stopping)
	stopReason StopReason
	runner     StartType // the runner's start type as it reported it (remote)
	since      time.Time
	decision   string
	reason     string

	peers    map[dist.Node]*peerApp
	excluded map[dist.Node]bool // up but never started: skipped after start_wait (deviation 7)
	mismatch map[dist.Node]bool

	myWeight      int
	myWeightEpoch uint64
	hasMyWeight   bool

	failFrom      dist.Node // the dead runner a pending decision fails over from
	waitKind      string    // what phDeciding waits for (for logs and Where)
	waitArmed     bool
	timerGen      uint64
	moveWaitArmed bool

	startReqs       []reqID // start calls blocked until the placement is known
	moveReqs        []reqID // takeover / permit calls waiting for a move to complete
	stopReqs        []reqID // stop calls waiting for the local instance to stop
	stopWhenStarted bool
}

// core is the decision state of one node.
type core struct {
	self      dist.Node
	startWait time.Duration // Infinity = wait forever
	now       time.Time
	apps      map[string]*appState
	up        map[dist.Node]bool                 // visible peers
	known     map[dist.Node]bool                 // peers whose hello arrived since they came up
	pending   map[string]map[dist.Node]appStatus // reports about apps not loaded here yet
	asked     map[dist.Node]time.Time            // when a hello was last asked of a peer
	acts      []action
	halted    bool
}

func newCore(self dist.Node, startWait time.Duration) *core {
	return &core{
		self:      self,
		startWait: startWait,
		apps:      map[string]*appState{},
		up:        map[dist.Node]bool{},
		known:     map[dist.Node]bool{},
		pending:   map[string]map[dist.Node]appStatus{},
		asked:     map[dist.Node]time.Time{},
	}
}

// event is the closed set of inputs of the core.
type event interface{ isEvent() }

type (
	evLoad struct {
		App      string
		Required []string
		Dist     *Distributed
		Permit   bool
	}
	evUnload struct {
		Req reqID
		App string
	}
	evStart struct {
		Req reqID
		App string
		RT  RestartType
	}
	evStop struct {
		Req reqID
		App string
	}
	evTakeover struct {
		Req reqID
		App string
		RT  RestartType
	}
	evPermit struct {
		Req    reqID
		App    string
		Permit bool
	}
	evLocalStarted struct {
		App   string
		Epoch uint64
		Err   error
	}
	evLocalStopped struct{ App string }
	evLocalExited  struct {
		App      string
		Abnormal bool
		Reason   string
	}
	evNodeUp   struct{ Node dist.Node }
	evNodeDown struct{ Node dist.Node }
	evPeer     struct {
		From dist.Node
		Msg  wireMsg
	}
	evTimer struct {
		App string
		Gen uint64
	}
	// evResync: ask again for the hello of every up peer that has not sent one (a hello
	// can be lost while links are set up); Full also sends this node's hello to every known
	// peer, so a report lost on a failing link is repaired.
	evResync struct{ Full bool }
)

func (evLoad) isEvent()         {}
func (evUnload) isEvent()       {}
func (evStart) isEvent()        {}
func (evStop) isEvent()         {}
func (evTakeover) isEvent()     {}
func (evPermit) isEvent()       {}
func (evLocalStarted) isEvent() {}
func (evLocalStopped) isEvent() {}
func (evLocalExited) isEvent()  {}
func (evNodeUp) isEvent()       {}
func (evNodeDown) isEvent()     {}
func (evPeer) isEvent()         {}
func (evTimer) isEvent()        {}
func (evResync) isEvent()       {}

// action is the closed set of outputs of the core.
type action interface{ isAction() }

type (
	actSend struct {
		To  dist.Node
		Msg wireMsg
	}
	actStartLocal struct {
		App string
		ST  StartType
		RT  RestartType
	}
	actStopLocal struct {
		App    string
		Reason StopReason
	}
	actAbortHandoff struct{ App string }
	actReply        struct {
		Req reqID
		Err error
	}
	actArm struct {
		App   string
		After time.Duration
		Gen   uint64
	}
	actLog struct {
		App      string
		Decision string
		Reason   string
		Epoch    uint64
		ST       string
		Warn     bool
	}
	actFatal struct {
		App    string
		Reason string
	}
)

func (actSend) isAction()         {}
func (actStartLocal) isAction()   {}
func (actStopLocal) isAction()    {}
func (actAbortHandoff) isAction() {}
func (actReply) isAction()        {}
func (actArm) isAction()          {}
func (actLog) isAction()          {}
func (actFatal) isAction()        {}

// step applies one event at time now and returns the actions to carry out, in order.
func (c *core) step(now time.Time, ev event) []action {
	c.now = now
	c.acts = nil
	if c.halted {
		if r, ok := reqOf(ev); ok {
			c.reply(r, ErrShutdown)
		}
		return c.acts
	}
	switch e := ev.(type) {
	case evLoad:
		c.load(e)
	case evUnload:
		c.unload(e)
	case evStart:
		c.start(e)
	case evStop:
		c.stop(e)
	case evTakeover:
		c.takeover(e)
	case evPermit:
		c.permitEv(e)
	case evLocalStarted:
		c.localStarted(e)
	case evLocalStopped:
		c.localStopped(e)
	case evLocalExited:
		c.localExited(e)
	case evNodeUp:
		c.nodeUp(e.Node)
	case evNodeDown:
		c.nodeDown(e.Node)
	case evPeer:
		c.peerMsg(e.From, e.Msg)
	case evTimer:
		c.timer(e)
	case evResync:
		for _, n := range sortedNodes(c.up) {
			if !c.known[n] {
				// Ask again only after a while: a busy peer's answer may just be queued.
				if c.now.Sub(c.asked[n]) >= helloRetry {
					c.asked[n] = c.now
					c.sendHello(n, true)
				}
			} else if e.Full {
				c.sendHello(n, false)
			}
		}
	}
	return c.acts
}

func reqOf(ev event) (reqID, bool) {
	switch e := ev.(type) {
	case evUnload:
		return e.Req, true
	case evStart:
		return e.Req, true
	case evStop:
		return e.Req, true
	case evTakeover:
		return e.Req, true
	case evPermit:
		return e.Req, true
	}
	return 0, false
}

func (c *core) emit(a action)                { c.acts = append(c.acts, a) }
func (c *core) reply(r reqID, err error)     { c.emit(actReply{Req: r, Err: err}) }
func (c *core) send(to dist.Node, m wireMsg) { c.emit(actSend{To: to, Msg: m}) }

func (c *core) replyAll(reqs *[]reqID, err error) {
	for _, r := range *reqs {
		c.reply(r, err)
	}
	*reqs = nil
}

// logDecision records a decision and its reason on the app and emits it for the log.
func (c *core) logDecision(a *appState, decision, reason string, st *StartType, warn bool) {
	a.decision, a.reason = decision, reason
	l := actLog{App: a.name, Decision: decision, Reason: reason, Epoch: a.epoch, Warn: warn}
	if st != nil {
		l.ST = st.String()
		l.Epoch = st.Epoch
	}
	c.emit(l)
}

// running counts the applications running on this node: the election weight (OTP: the
// length of which_applications()).
func (c *core) running() int {
	n := 0
	for _, a := range c.apps {
		if a.phase == phLocal || a.phase == phStopping {
			n++
		}
	}
	return n
}

// sortedApps returns the application names in order, for deterministic iteration.
func (c *core) sortedApps() []string {
	names := make([]string, 0, len(c.apps))
	for n := range c.apps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// flatNodes returns every node of the entry, in priority order.
func (d *Distributed) flatNodes() []dist.Node {
	var out []dist.Node
	for _, t := range d.Nodes {
		out = append(out, t...)
	}
	return out
}

// tierOf returns the tier index of n (len(Nodes) when n is not listed).
func (d *Distributed) tierOf(n dist.Node) int {
	for i, t := range d.Nodes {
		if slices.Contains(t, n) {
			return i
		}
	}
	return len(d.Nodes)
}
