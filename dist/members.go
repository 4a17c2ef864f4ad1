package dist

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/vmihailenco/msgpack/v5"
)

// nodeMeta is what a node gossips about itself (msgpack array, well under memberlist's 512 B).
type nodeMeta struct {
	_msgpack  struct{} `msgpack:",as_array"`
	BootID    uint64
	ClusterID uint64
	Hidden    bool
	Long      bool
}

func decodeMeta(b []byte) (nodeMeta, error) {
	var m nodeMeta
	if err := checkMsgpack(b); err != nil {
		return nodeMeta{}, fmt.Errorf("node meta: %w", err)
	}
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return nodeMeta{}, fmt.Errorf("%w: node meta: %w", ErrMalformed, err)
	}
	if m.BootID == 0 {
		return nodeMeta{}, fmt.Errorf("%w: node meta: zero boot id", ErrMalformed)
	}
	return m, nil
}

// startMesh creates this node's memberlist instance over its transport.
func (e *Endpoint) startMesh() error {
	c := e.cfg.Profile.memberlistConfig()
	c.Name = string(e.self)
	c.Transport = e.tr
	c.AdvertiseAddr = e.cfg.AdvertiseAddr
	c.AdvertisePort = e.port
	c.BindAddr = e.cfg.BindAddr
	c.BindPort = e.port
	c.SecretKey = e.sec.gossipKey
	c.Label = e.sec.label
	c.Logger = log.New(&slogWriter{log: e.log}, "", 0)
	meta, err := msgpack.Marshal(&nodeMeta{BootID: e.boot, ClusterID: e.sec.clusterID, Long: e.cfg.Kind == LongNames})
	if err != nil {
		return err
	}
	d := &meshDelegate{e: e, meta: meta}
	c.Delegate = d
	c.Alive = d
	c.Merge = d
	e.mlEvents = newEventQueue(e)
	c.Events = e.mlEvents
	ml, err := memberlist.Create(c)
	if err != nil {
		return fmt.Errorf("mesh for %s: %w", e.self, err)
	}
	e.ml = ml
	return nil
}

// slogWriter sends memberlist's log lines to slog at debug level: even its [ERR] lines are
// expected events here (dead peers, refused joins, re-joins of absent nodes), and what matters
// reaches the log as our own node up/down lines.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.log.Debug("memberlist: " + strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)

// meshDelegate gives memberlist this node's meta and refuses nodes of other clusters.
type meshDelegate struct {
	e    *Endpoint
	meta []byte
}

func (d *meshDelegate) NodeMeta(int) []byte                  { return d.meta }
func (d *meshDelegate) NotifyMsg([]byte)                     {}
func (d *meshDelegate) GetBroadcasts(int, int) [][]byte      { return nil }
func (d *meshDelegate) LocalState(bool) []byte               { return nil }
func (d *meshDelegate) MergeRemoteState([]byte, bool)        {}
func (d *meshDelegate) NotifyAlive(n *memberlist.Node) error { return d.check(n) }

func (d *meshDelegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		if err := d.check(n); err != nil {
			return err
		}
	}
	return nil
}

// check refuses nodes of another cluster, hidden nodes and nodes of the other name kind.
func (d *meshDelegate) check(n *memberlist.Node) error {
	m, err := decodeMeta(n.Meta)
	if err != nil {
		return err
	}
	if m.ClusterID != d.e.sec.clusterID {
		return fmt.Errorf("node %s belongs to another cluster", n.Name)
	}
	if m.Hidden {
		return fmt.Errorf("node %s is hidden", n.Name)
	}
	if m.Long != (d.e.cfg.Kind == LongNames) {
		return fmt.Errorf("node %s uses the other name kind", n.Name)
	}
	if _, err := ParseNode(n.Name); err != nil {
		return err
	}
	return nil
}

// meshEvent is one memberlist event, copied out of memberlist's lock.
type meshEvent struct {
	name  Node
	addr  string
	meta  []byte
	alive bool // join/update: true; leave: false
}

// eventQueue is memberlist's EventDelegate: it only queues (memberlist calls it under its
// node lock), and one goroutine applies the events.
type eventQueue struct {
	e     *Endpoint
	mu    sync.Mutex
	queue []meshEvent
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newEventQueue(e *Endpoint) *eventQueue {
	q := &eventQueue{e: e, wake: make(chan struct{}, 1), done: make(chan struct{})}
	e.wg.Add(1)
	go q.run()
	return q
}

func (q *eventQueue) push(n *memberlist.Node, alive bool) {
	ev := meshEvent{name: Node(n.Name), addr: net.JoinHostPort(n.Addr.String(), fmt.Sprint(n.Port)),
		meta: append([]byte(nil), n.Meta...), alive: alive}
	q.mu.Lock()
	q.queue = append(q.queue, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// NotifyJoin queues a join.
func (q *eventQueue) NotifyJoin(n *memberlist.Node) { q.push(n, true) }

// NotifyLeave queues a leave (dead or left).
func (q *eventQueue) NotifyLeave(n *memberlist.Node) { q.push(n, false) }

// NotifyUpdate queues a meta update (a restarted node's new boot id).
func (q *eventQueue) NotifyUpdate(n *memberlist.Node) { q.push(n, true) }

func (q *eventQueue) close() { q.once.Do(func() { close(q.done) }) }

func (q *eventQueue) run() {
	defer q.e.wg.Done()
	for {
		q.mu.Lock()
		evs := q.queue
		q.queue = nil
		q.mu.Unlock()
		for _, ev := range evs {
			q.e.applyMeshEvent(ev)
		}
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
	}
}

// applyMeshEvent updates the peer's membership and publishes what changed.
func (e *Endpoint) applyMeshEvent(ev meshEvent) {
	if ev.name == e.self {
		return
	}
	m, err := decodeMeta(ev.meta)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return
	}
	p := e.peerLocked(ev.name)
	p.mlAddr = ev.addr
	reason := DownClosed // a new boot id replacing an old one: the old process is gone
	if ev.alive {
		p.mlBoot = m.BootID
		e.targets["node:"+string(ev.name)] = true
	} else {
		if p.mlBoot != m.BootID && p.mlBoot != 0 {
			return // a stale leave of an older instance
		}
		p.mlBoot = 0
		reason = DownTimeout
	}
	e.publishLocked(p, p.decide(reason))
	// The lower name dials, so a new member gets one link (and crash detection) at once.
	if ev.alive && e.self < ev.name && p.link == nil && !p.dialing && !p.accepting {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.ensureLinkBG(ev.name)
		}()
	}
}

func (e *Endpoint) ensureLinkBG(n Node) {
	ctx, cancel := contextWithTimeout(e.ctx, e.tm.linkTimeout+time.Second)
	defer cancel()
	if _, err := e.ensureLink(ctx, n); err != nil {
		e.log.Debug("dist: link to member failed", "peer", string(n), "err", err)
	}
}

// rejoinLoop re-joins, every jittered re-join period, every configured node the mesh does not
// show alive (Seeds, nodes seen before, nodes named to Connect/SyncNodes), so a healed partition
// re-merges by itself; it also makes sure every member up has a link.
func (e *Endpoint) rejoinLoop() {
	defer e.wg.Done()
	for {
		span := e.tm.rejoinMax - e.tm.rejoinMin
		wait := e.tm.rejoinMin + time.Duration(rand.Int64N(int64(span)+1))
		t := time.NewTimer(wait)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		e.rejoinOnce()
	}
}

func (e *Endpoint) rejoinOnce() {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return
	}
	aliveAddr := map[string]bool{e.Addr(): true}
	var linkless []Node
	for _, p := range e.peers {
		if p.mlBoot != 0 {
			aliveAddr[p.mlAddr] = true
			if p.link == nil && !p.dialing && !p.accepting {
				linkless = append(linkless, p.node)
			}
		}
	}
	var addrs []string
	var names []Node
	for t := range e.targets {
		if n, ok := strings.CutPrefix(t, "node:"); ok {
			p := e.peers[Node(n)]
			if p == nil || p.mlBoot == 0 {
				names = append(names, Node(n))
			}
		} else if !aliveAddr[t] {
			addrs = append(addrs, t)
		}
	}
	e.mu.Unlock()
	for _, a := range addrs {
		e.joinAsync(a, "")
	}
	for _, n := range names {
		e.joinNodeAsync(n)
	}
	for _, n := range linkless {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.ensureLinkBG(n)
		}()
	}
}

// joinNodeAsync joins node n at its last known address, else through the port mapper.
func (e *Endpoint) joinNodeAsync(n Node) {
	e.mu.Lock()
	addr := ""
	if p := e.peers[n]; p != nil {
		addr = p.mlAddr
	}
	e.mu.Unlock()
	e.joinAsync(addr, n)
}

// joinAsync runs one memberlist Join in the background unless one to the same target runs.
func (e *Endpoint) joinAsync(addr string, n Node) {
	key := addr
	if n != "" {
		key = "node:" + string(n)
	}
	e.mu.Lock()
	if e.joining[key] || e.closing || e.ml == nil {
		e.mu.Unlock()
		return
	}
	e.joining[key] = true
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.joining, key)
			e.mu.Unlock()
		}()
		target := addr
		if n != "" {
			// Ask the port mapper first: the node may have come back on another port.
			a := ""
			if !e.cfg.NoMapper {
				ctx, cancel := contextWithTimeout(e.ctx, e.tm.linkTimeout)
				if port, err := e.mapper.lookup(ctx, n); err == nil {
					a = net.JoinHostPort(hostIP(n.Host()), fmt.Sprint(port))
				}
				cancel()
			}
			if a == "" {
				a = addr
			}
			if a == "" {
				return
			}
			target = string(n) + "/" + a
		}
		if _, err := e.ml.Join([]string{target}); err != nil {
			e.log.Debug("dist: join failed", "target", target, "err", err)
		}
	}()
}
