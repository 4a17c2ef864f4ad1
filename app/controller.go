package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gotp/gotp/dist"
)

// Spec describes an application to load.
type Spec struct {
	Name        string
	Description string
	App         App
	// Env is the application's default environment; Config.Env overrides it key by key.
	Env map[string]any
	// Applications must run (here or, if distributed, anywhere) before this one starts.
	Applications []string
	// Included applications are bundled: they must be loaded, and their environment is
	// visible through this application (Env).
	Included []string
}

// Config configures a Controller.
type Config struct {
	// Network connects the node to its peers; nil runs every application locally.
	Network Network
	// Self names the node when Network is nil (default "nonode@nohost").
	Self dist.Node
	// Distributed is the kernel `distributed` parameter.
	Distributed []Distributed
	// Permissions is the kernel `permissions` parameter (absent = true).
	Permissions map[string]bool
	// Env overrides applications' environments (from the config file), per application.
	Env map[string]map[string]any
	// StartWait bounds how long a placement waits for a node that is up but does not start
	// the application (deviation 7). Default 30 s; Infinity waits forever (OTP).
	StartWait time.Duration
	// HandoverOnShutdown moves every distributed application this node runs to another node
	// (takeover path) before Shutdown stops them.
	HandoverOnShutdown bool
	// OnFatal is called once when a permanent (or abnormally exiting transient) application
	// exits: the node must stop (the runtime exits with status 1). The controller has already
	// shut itself down when it is called.
	OnFatal func(app string, reason string)
	// Logger receives every decision (keys app, node, epoch, start_type, reason). Default
	// slog.Default().
	Logger *slog.Logger
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	seen := map[string]bool{}
	for _, d := range cfg.Distributed {
		if d.App == "" {
			return errors.New("distributed entry with an empty application name")
		}
		if seen[d.App] {
			return fmt.Errorf("distributed entry for application %s given twice", d.App)
		}
		seen[d.App] = true
		if d.Timeout < 0 && d.Timeout != Infinity {
			return fmt.Errorf("distributed entry for application %s: negative timeout %v", d.App, d.Timeout)
		}
		for _, t := range d.Nodes {
			if len(t) == 0 {
				return fmt.Errorf("distributed entry for application %s: empty node tier", d.App)
			}
			for _, n := range t {
				if n == "" {
					return fmt.Errorf("distributed entry for application %s: empty node name", d.App)
				}
			}
		}
	}
	if cfg.StartWait < 0 && cfg.StartWait != Infinity {
		return fmt.Errorf("start_wait %v is negative", cfg.StartWait)
	}
	return nil
}

// Controller is a node's application controller. All methods are safe for concurrent use.
type Controller struct {
	cfg  Config
	log  *slog.Logger
	self dist.Node
	net  Network
	dist map[string]*Distributed

	mu       sync.Mutex
	inbox    []func()
	wake     chan struct{}
	closed   bool
	specs    map[string]*Spec
	insts    map[string]*instance
	ckpts    map[string]map[dist.Node]checkpointMsg
	fatalErr error
	seq      uint64

	// owned by the loop goroutine
	core    *core
	waiters map[reqID]chan error
	nextReq reqID
	timers  map[string]*time.Timer
	senders map[dist.Node]*sender
	boots   map[dist.Node]uint64
	bars    map[uint64]*barrier
	nextBar uint64

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	wg        sync.WaitGroup
	stopMon   func()
	fatalOnce sync.Once
}

// New starts a controller: it registers its services on the network and follows nodeups
// and nodedowns.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.StartWait == 0 {
		cfg.StartWait = 30 * time.Second
	}
	c := &Controller{
		cfg: cfg, log: cfg.Logger, net: cfg.Network, self: cfg.Self,
		dist:    map[string]*Distributed{},
		wake:    make(chan struct{}, 1),
		specs:   map[string]*Spec{},
		insts:   map[string]*instance{},
		ckpts:   map[string]map[dist.Node]checkpointMsg{},
		waiters: map[reqID]chan error{},
		timers:  map[string]*time.Timer{},
		senders: map[dist.Node]*sender{},
		boots:   map[dist.Node]uint64{},
		bars:    map[uint64]*barrier{},
		done:    make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.net != nil {
		c.self = c.net.Self()
	}
	if c.self == "" {
		c.self = "nonode@nohost"
	}
	for i := range cfg.Distributed {
		d := cfg.Distributed[i]
		c.dist[d.App] = &d
	}
	c.log = c.log.With("node", string(c.self))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.core = newCore(c.self, cfg.StartWait)
	for _, d := range c.dist {
		permit := true
		if p, ok := cfg.Permissions[d.App]; ok {
			permit = p
		}
		c.core.configure(d, permit)
	}
	if c.net != nil {
		c.net.Handle(ServicePeer, c.servePeer)
		c.net.Handle(ServiceHandoff, c.serveHandoff)
		c.net.Handle(ServiceControl, c.serveControl)
		up, events, stop := c.net.Monitor()
		c.stopMon = stop
		c.postFunc(func() {
			for _, n := range up {
				c.boots[n] = 0 // its boot id is learned from its first message or event
				c.apply(evNodeUp{Node: n})
			}
		})
		c.wg.Add(1)
		go c.monitor(events)
	}
	c.wg.Add(1)
	go c.loop()
	if c.net != nil {
		c.wg.Add(1)
		go c.resync()
	}
	return c, nil
}

// Self returns the node's name.
func (c *Controller) Self() dist.Node { return c.self }

// Done is closed when the controller has stopped (Shutdown, Halt, or a fatal application exit).
func (c *Controller) Done() <-chan struct{} { return c.done }

// Err returns the reason a fatal application exit stopped the node, or nil.
func (c *Controller) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatalErr
}

// resyncEvery is how often the controller asks again for missing hellos; every
// fullResyncTicks-th time it also repeats its own hello to every peer (every 60 s: at
// 1,000 apps a full hello costs the peers real work).
const (
	resyncEvery     = 500 * time.Millisecond
	fullResyncTicks = 120
)

func (c *Controller) resync() {
	defer c.wg.Done()
	t := time.NewTicker(resyncEvery)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.post(evResync{Full: i%fullResyncTicks == 0})
		}
	}
}

func (c *Controller) monitor(events <-chan dist.NodeEvent) {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			c.postFunc(func() { c.nodeEvent(ev.Node, ev.Up, ev.BootID) })
		}
	}
}

func (c *Controller) servePeer(ctx context.Context, from dist.Peer, payload []byte) ([]byte, error) {
	if from.Hidden {
		return nil, errors.New("controller messages from a hidden node are refused")
	}
	msgs, err := decodeMsgs(payload)
	if err != nil {
		c.log.Warn("dropped a peer message", "from", string(from.Node), "reason", err.Error())
		return nil, err
	}
	var forLoop []wireMsg
	for _, m := range msgs {
		if m.Checkpoint != nil {
			c.storeCheckpoint(from.Node, *m.Checkpoint)
		} else {
			forLoop = append(forLoop, m)
		}
	}
	if len(forLoop) > 0 {
		c.postFunc(func() {
			c.nodeEvent(from.Node, true, from.BootID)
			for _, m := range forLoop {
				switch {
				case m.Ping != 0:
					c.sender(from.Node).push(wireMsg{Pong: m.Ping})
				case m.Pong != 0:
					c.pong(from.Node, m.Pong)
				default:
					c.apply(evPeer{From: from.Node, Msg: m})
					if m.IsHello && m.HelloAsk {
						// Its controller just started listening: pings sent before were lost.
						c.reping(from.Node)
					}
				}
			}
		})
	}
	return nil, nil
}

// nodeEvent feeds nodeups and nodedowns to the core by boot id: monitor events and messages
// reach the loop on different paths, so a message from a node's new instance can overtake the
// nodedown of its old one. A new boot id means the old instance went down; a nodedown for an
// instance that is already replaced is stale (loop only).
func (c *Controller) nodeEvent(n dist.Node, up bool, boot uint64) {
	cur, known := c.boots[n]
	switch {
	case up && known && (cur == boot || cur == 0):
		c.boots[n] = boot
		return
	case up:
		c.log.Debug("nodeup", "peer", string(n), "boot", boot, "replaces", cur, "known", known)
		if known {
			c.apply(evNodeDown{Node: n})
			c.pong(n, 0)
		}
		c.boots[n] = boot
		c.apply(evNodeUp{Node: n})
	case known && boot != 0 && cur != 0 && cur != boot:
		return // stale: that instance was already replaced
	default:
		c.log.Debug("nodedown", "peer", string(n), "boot", boot, "known", known, "cur", cur)
		delete(c.boots, n)
		c.apply(evNodeDown{Node: n})
		c.pong(n, 0)
	}
}

// post queues an event for the loop (never blocks).
func (c *Controller) post(ev event) { c.postFunc(func() { c.apply(ev) }) }

func (c *Controller) postFunc(f func()) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.inbox = append(c.inbox, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *Controller) loop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			batch := c.inbox
			c.inbox = nil
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, f := range batch {
				if c.ctx.Err() != nil {
					return
				}
				f()
			}
		}
	}
}

// call runs an API event through the loop and waits for its reply.
func (c *Controller) call(ctx context.Context, mk func(reqID) event) error {
	ch := make(chan error, 1)
	ok := c.postFunc(func() {
		c.nextReq++
		id := c.nextReq
		c.waiters[id] = ch
		c.apply(mk(id))
	})
	if !ok {
		return ErrShutdown
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrShutdown
	}
}

// query runs f on the loop and waits for it.
func (c *Controller) query(f func()) error {
	ch := make(chan struct{})
	if !c.postFunc(func() { f(); close(ch) }) {
		return ErrShutdown
	}
	select {
	case <-ch:
		return nil
	case <-c.done:
		return ErrShutdown
	}
}

// apply steps the core and carries out its actions (loop only).
func (c *Controller) apply(ev event) {
	for _, a := range c.core.step(time.Now(), ev) {
		c.act(a)
	}
}

func (c *Controller) act(a action) {
	switch x := a.(type) {
	case actSend:
		c.sender(x.To).push(x.Msg)
	case actStartLocal:
		c.startInstance(x)
	case actStopLocal:
		if in := c.instance(x.App); in != nil {
			c.wg.Add(1)
			go func() { defer c.wg.Done(); in.shutdown(x.Reason, true) }()
		} else {
			c.post(evLocalStopped{App: x.App})
		}
	case actAbortHandoff:
		if in := c.instance(x.App); in != nil {
			if h, ok := in.app.(HandoffAborter); ok {
				c.wg.Add(1)
				go func() { defer c.wg.Done(); safeCall(func() { h.HandoffAborted(in.runCtx) }) }()
			}
		}
	case actReply:
		if ch := c.waiters[x.Req]; ch != nil {
			delete(c.waiters, x.Req)
			c.replyAfterSends(ch, x.Err)
		}
	case actArm:
		if t := c.timers[x.App]; t != nil {
			t.Stop()
		}
		app, gen := x.App, x.Gen
		c.timers[x.App] = time.AfterFunc(x.After, func() { c.post(evTimer{App: app, Gen: gen}) })
	case actLog:
		attrs := []any{"app", x.App, "epoch", x.Epoch, "reason", x.Reason}
		if x.ST != "" {
			attrs = append(attrs, "start_type", x.ST)
		}
		if x.Warn {
			c.log.Warn(x.Decision, attrs...)
		} else {
			c.log.Info(x.Decision, attrs...)
		}
	case actFatal:
		c.fatal(x.App, x.Reason)
	}
}

// replyAfterSends answers an API call once the messages queued before the answer are handed
// to the network, so a caller that next asks another node finds it told (as far as the
// network goes).
func (c *Controller) replyAfterSends(ch chan error, err error) {
	type mark struct {
		s *sender
		n uint64
	}
	var marks []mark
	for _, s := range c.senders {
		if n, busy := s.pending(); busy {
			marks = append(marks, mark{s, n})
		}
	}
	if len(marks) == 0 {
		ch <- err
		return
	}
	go func() {
		for _, m := range marks {
			m.s.waitSent(m.n)
		}
		ch <- err
	}()
}

func (c *Controller) startInstance(x actStartLocal) {
	c.mu.Lock()
	spec := c.specs[x.App]
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	if spec == nil {
		c.post(evLocalStarted{App: x.App, Epoch: x.ST.Epoch, Err: appErr(ErrNotLoaded, x.App)})
		return
	}
	info := &instInfo{c: c, app: x.App, st: x.ST}
	info.starting.Store(true)
	runCtx, cancel := context.WithCancel(withInst(c.ctx, info))
	in := &instance{c: c, name: x.App, app: spec.App, info: info, runCtx: runCtx, cancel: cancel,
		seq: seq, serveDone: make(chan struct{}), exitDone: make(chan struct{})}
	c.mu.Lock()
	c.insts[x.App] = in
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		in.run(withInst(c.ctx, info))
	}()
}

func (c *Controller) instance(name string) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.insts[name]
}

func (c *Controller) forget(in *instance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.insts[in.name] == in {
		delete(c.insts, in.name)
	}
}

// fatal handles a permanent application's exit: stop the node (deviation 4 keeps OTP's halt,
// and peers fail over because nothing told them the application stopped).
func (c *Controller) fatal(app, reason string) {
	c.fatalOnce.Do(func() {
		c.mu.Lock()
		c.fatalErr = fmt.Errorf("application %s exited: %s", app, reason)
		c.mu.Unlock()
		go func() {
			c.stopAll(context.Background(), Shutdown)
			c.close()
			if c.cfg.OnFatal != nil {
				c.cfg.OnFatal(app, reason)
			}
		}()
	})
}

// stopAll stops every running instance in reverse start order, without telling the core.
func (c *Controller) stopAll(ctx context.Context, r StopReason) {
	c.mu.Lock()
	insts := slices.Collect(maps.Values(c.insts))
	c.mu.Unlock()
	slices.SortFunc(insts, func(a, b *instance) int { return int(b.seq) - int(a.seq) })
	for _, in := range insts {
		done := make(chan struct{})
		go func() { in.shutdown(r, false); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			in.halt()
		}
	}
}

// close stops the loop, the timers and the senders.
func (c *Controller) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	if c.stopMon != nil {
		c.stopMon()
	}
	_ = c.query // the loop may be mid-step; cancelling ends it after the current function
	c.cancel()
	c.wg.Wait()
	for _, t := range c.timers {
		t.Stop()
	}
	for _, s := range c.senders {
		s.close()
	}
	close(c.done)
}

// Shutdown stops the node's applications in reverse start order (after moving distributed
// ones away when HandoverOnShutdown is set) and stops the controller. Peers are not told the
// applications stopped: they fail over from this node once it leaves the mesh, as in OTP.
func (c *Controller) Shutdown(ctx context.Context) error {
	if c.cfg.HandoverOnShutdown {
		c.handover(ctx)
	}
	c.postFunc(func() { c.core.halted = true })
	c.stopAll(ctx, Shutdown)
	c.close()
	return nil
}

// Halt stops everything at once without calling PrepStop or Stop, as if the process died (for
// tests that kill a node).
func (c *Controller) Halt() {
	c.mu.Lock()
	insts := slices.Collect(maps.Values(c.insts))
	c.mu.Unlock()
	for _, in := range insts {
		in.halt()
	}
	c.close()
}

// handover moves every distributed application running here to its next node: a
// permit(false) per application, whose winner starts it with Takeover from this node.
func (c *Controller) handover(ctx context.Context) {
	var names []string
	_ = c.query(func() {
		for _, n := range c.core.sortedApps() {
			if a := c.core.apps[n]; a.dist != nil && a.phase == phLocal {
				names = append(names, n)
			}
		}
	})
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Permit(ctx, n, false); err != nil {
				c.log.Warn("handover failed", "app", n, "reason", err.Error())
			}
		}()
	}
	wg.Wait()
}
