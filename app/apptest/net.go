// Package apptest is an in-memory network for app.Controller tests: nodes in one process
// that can be killed, partitioned and healed. Messages between two nodes are delivered in
// order, and a node's nodedown reaches a peer after every message it sent before it.
package apptest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gotp/gotp/dist"
)

// ErrUnreachable is returned by Send and Request when the target is down or cut off.
var ErrUnreachable = errors.New("node unreachable")

// Net is an in-memory mesh.
type Net struct {
	mu     sync.Mutex
	eps    map[dist.Node]*Endpoint
	cut    map[[2]dist.Node]bool
	bootID uint64
}

// New returns an empty mesh.
func New() *Net {
	return &Net{eps: map[dist.Node]*Endpoint{}, cut: map[[2]dist.Node]bool{}}
}

// Endpoint is one node on the mesh; it satisfies app.Network. It becomes visible to its peers
// when Monitor is first called (after the controller registered its handlers).
type Endpoint struct {
	net      *Net
	name     dist.Node
	boot     uint64
	hidden   bool
	joined   bool
	dead     bool
	deadCh   chan struct{}
	handlers map[string]dist.Handler
	q        *queue
	subs     []*queue
}

// Add creates the endpoint of a node named name (a restarted node gets a new boot id). It
// fails if a live node of that name exists.
func (n *Net) Add(name dist.Node) (*Endpoint, error) { return n.add(name, false) }

// AddHidden creates a hidden endpoint (a tool such as the CLI): it can Request any node but
// never appears in Nodes or monitor events.
func (n *Net) AddHidden(name dist.Node) (*Endpoint, error) { return n.add(name, true) }

func (n *Net) add(name dist.Node, hidden bool) (*Endpoint, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.eps[name]; old != nil && !old.dead {
		return nil, fmt.Errorf("node %s is already up", name)
	}
	n.bootID++
	e := &Endpoint{net: n, name: name, boot: n.bootID, hidden: hidden, deadCh: make(chan struct{}),
		handlers: map[string]dist.Handler{}}
	e.q = newQueue(e.process)
	n.eps[name] = e
	return e, nil
}

func key(a, b dist.Node) [2]dist.Node {
	if a > b {
		a, b = b, a
	}
	return [2]dist.Node{a, b}
}

// connected reports whether a and b see each other (n.mu held).
func (n *Net) connected(a, b *Endpoint) bool {
	return a != nil && b != nil && a != b && !a.dead && !b.dead && a.joined && b.joined &&
		n.eps[a.name] == a && n.eps[b.name] == b && !n.cut[key(a.name, b.name)]
}

func (n *Net) visible(a, b *Endpoint) bool {
	return n.connected(a, b) && !a.hidden && !b.hidden
}

// Kill makes node name die: its peers get nodedown (reason closed) after its queued messages.
func (n *Net) Kill(name dist.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.eps[name]
	if e == nil || e.dead {
		return
	}
	for _, o := range n.sorted() {
		if n.visible(e, o) {
			o.q.push(item{ev: &dist.NodeEvent{Node: name, Up: false, Reason: dist.DownClosed, BootID: e.boot}})
		}
	}
	e.dead = true
	close(e.deadCh)
	e.q.close()
	for _, s := range e.subs {
		s.close()
	}
}

// Partition cuts every link between nodes of different groups (nodes in no group keep
// their links).
func (n *Net) Partition(groups ...[]dist.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	group := map[dist.Node]int{}
	for i, g := range groups {
		for _, x := range g {
			group[x] = i + 1
		}
	}
	for _, a := range n.sorted() {
		for _, b := range n.sorted() {
			ga, gb := group[a.name], group[b.name]
			if a.name >= b.name || ga == 0 || gb == 0 || ga == gb || n.cut[key(a.name, b.name)] {
				continue
			}
			wasVisible := n.visible(a, b)
			n.cut[key(a.name, b.name)] = true
			if wasVisible {
				a.q.push(item{ev: &dist.NodeEvent{Node: b.name, Reason: dist.DownTimeout, BootID: b.boot}})
				b.q.push(item{ev: &dist.NodeEvent{Node: a.name, Reason: dist.DownTimeout, BootID: a.boot}})
			}
		}
	}
}

// Heal restores every cut link; both ends get nodeup.
func (n *Net) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	cuts := n.cut
	n.cut = map[[2]dist.Node]bool{}
	for k := range cuts {
		a, b := n.eps[k[0]], n.eps[k[1]]
		if n.visible(a, b) {
			a.q.push(item{ev: &dist.NodeEvent{Node: b.name, Up: true, BootID: b.boot}})
			b.q.push(item{ev: &dist.NodeEvent{Node: a.name, Up: true, BootID: a.boot}})
		}
	}
}

func (n *Net) sorted() []*Endpoint {
	names := make([]dist.Node, 0, len(n.eps))
	for k := range n.eps {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]*Endpoint, 0, len(names))
	for _, k := range names {
		out = append(out, n.eps[k])
	}
	return out
}

// Self returns the node's name.
func (e *Endpoint) Self() dist.Node { return e.name }

// BootID returns the endpoint's instance id.
func (e *Endpoint) BootID() uint64 { return e.boot }

// Nodes returns the visible peers that are up, sorted.
func (e *Endpoint) Nodes() []dist.Node {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	var out []dist.Node
	for _, o := range e.net.sorted() {
		if e.net.visible(e, o) {
			out = append(out, o.name)
		}
	}
	return out
}

// Monitor returns the peers up now and a channel of later nodeup/nodedown events; the first
// call makes the endpoint visible to its peers.
func (e *Endpoint) Monitor() ([]dist.Node, <-chan dist.NodeEvent, func()) {
	n := e.net
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan dist.NodeEvent)
	var sub *queue
	sub = newQueue(func(it item) {
		select {
		case ch <- *it.ev:
		case <-sub.done:
		}
	})
	if e.dead {
		sub.close()
		return nil, ch, func() {}
	}
	e.subs = append(e.subs, sub)
	if !e.joined {
		e.joined = true
		if !e.hidden {
			for _, o := range n.sorted() {
				if n.visible(e, o) {
					o.q.push(item{ev: &dist.NodeEvent{Node: e.name, Up: true, BootID: e.boot}})
				}
			}
		}
	}
	var up []dist.Node
	for _, o := range n.sorted() {
		if n.visible(e, o) {
			up = append(up, o.name)
		}
	}
	return up, ch, sub.close
}

// Handle registers the handler of a service.
func (e *Endpoint) Handle(service string, h dist.Handler) {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.handlers[service] = h
}

// Send delivers payload to the peer's handler of service, in order per sender.
func (e *Endpoint) Send(ctx context.Context, to dist.Node, service string, payload []byte) error {
	n := e.net
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.eps[to]
	if !n.connected(e, t) {
		return fmt.Errorf("send to %s: %w", to, ErrUnreachable)
	}
	t.q.push(item{from: dist.Peer{Node: e.name, Hidden: e.hidden, BootID: e.boot}, service: service,
		payload: slices.Clone(payload)})
	return nil
}

// Request runs the peer's handler of service on its own goroutine and returns its reply.
func (e *Endpoint) Request(ctx context.Context, to dist.Node, service string, payload []byte) ([]byte, error) {
	n := e.net
	n.mu.Lock()
	t := n.eps[to]
	if !n.connected(e, t) {
		n.mu.Unlock()
		return nil, fmt.Errorf("request to %s: %w", to, ErrUnreachable)
	}
	h := t.handlers[service]
	from := dist.Peer{Node: e.name, Hidden: e.hidden, BootID: e.boot}
	n.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("request to %s: no service %q", to, service)
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := h(ctx, from, slices.Clone(payload))
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("request to %s: remote error: %w", to, r.err)
		}
		return r.b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.deadCh:
		return nil, fmt.Errorf("request to %s: %w", to, ErrUnreachable)
	case <-e.deadCh:
		return nil, fmt.Errorf("request to %s: %w", to, ErrUnreachable)
	}
}

// process handles one inbound item on the endpoint's delivery goroutine.
func (e *Endpoint) process(it item) {
	if it.ev != nil {
		e.net.mu.Lock()
		subs := slices.Clone(e.subs)
		e.net.mu.Unlock()
		for _, s := range subs {
			s.push(it)
		}
		return
	}
	e.net.mu.Lock()
	h := e.handlers[it.service]
	e.net.mu.Unlock()
	if h != nil {
		_, _ = h(context.Background(), it.from, it.payload)
	}
}

type item struct {
	from    dist.Peer
	service string
	payload []byte
	ev      *dist.NodeEvent
}

// queue is an unbounded FIFO processed by one goroutine.
type queue struct {
	mu    sync.Mutex
	items []item
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
	fn    func(item)
}

func newQueue(fn func(item)) *queue {
	q := &queue{wake: make(chan struct{}, 1), done: make(chan struct{}), fn: fn}
	go q.run()
	return q
}

func (q *queue) push(it item) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) close() { q.once.Do(func() { close(q.done) }) }

func (q *queue) run() {
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				q.mu.Unlock()
				break
			}
			it := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			select {
			case <-q.done:
				return
			default:
			}
			q.fn(it)
		}
	}
}

// Close kills every node of the mesh, ending its goroutines.
func (n *Net) Close() {
	n.mu.Lock()
	names := make([]dist.Node, 0, len(n.eps))
	for k := range n.eps {
		names = append(names, k)
	}
	n.mu.Unlock()
	for _, k := range names {
		n.Kill(k)
	}
}
