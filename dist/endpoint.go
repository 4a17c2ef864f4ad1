package dist

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Sentinel errors of the endpoint.
var (
	// ErrClosed: the endpoint is closed.
	ErrClosed = errors.New("dist endpoint closed")
	// ErrUnreachable: no link to the node could be made.
	ErrUnreachable = errors.New("node unreachable")
	// ErrNoHandler: no handler serves the service (as a remote error's text on the caller).
	ErrNoHandler = errors.New("no handler for service")
)

// Endpoint is a running node: its port, mesh membership, links and handlers. It is a
// long-running object: it keeps the context given to Start's internals until Close.
type Endpoint struct {
	cfg  Config
	log  *slog.Logger
	sec  *secrets
	tm   timings
	self Node
	boot uint64

	ctx    context.Context // lives until Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ln        net.Listener
	port      int
	tlsServer *tls.Config
	tlsClient func(host string) *tls.Config
	tr        *mlTransport
	ml        *memberlist.Memberlist
	mlEvents  *eventQueue
	mapper    *mapperClient

	handlersMu sync.RWMutex
	handlers   map[string]Handler

	mu      sync.Mutex
	peers   map[Node]*peer
	targets map[string]bool // rejoin targets: "host:port" and "node:<name>"
	joining map[string]bool // rejoins in flight
	closing bool
	// closeStarted: Close was called (leaving is being announced; closing follows).
	closeStarted bool

	mon    *monitor
	nextID atomic.Uint64
}

// Start starts a node: it resolves the cookie, binds the node's port (TCP and UDP), registers
// with the port mapper, joins the mesh through Seeds and begins serving links. A hidden node
// binds nothing and joins nothing. ctx bounds the start only.
func Start(ctx context.Context, cfg Config) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Cookie == "" {
		c, err := LoadCookie(cfg.Home)
		if err != nil {
			return nil, err
		}
		cfg.Cookie = c
	}
	sec, err := deriveSecrets(cfg.Cookie, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{cfg: cfg, log: cfg.Logger.With("node", string(cfg.Name)), sec: sec,
		tm: cfg.Profile.timings(), self: cfg.Name, boot: newBootID(),
		handlers: map[string]Handler{}, peers: map[Node]*peer{}, targets: map[string]bool{},
		joining: map[string]bool{}, mon: newMonitor()}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for _, s := range cfg.Seeds {
		e.targets[s] = true
	}
	if cfg.TLS != nil {
		if err := e.loadTLS(); err != nil {
			return nil, err
		}
	}
	e.mapper = &mapperClient{e: e}
	if cfg.Hidden {
		return e, nil
	}
	if err := e.startListening(); err != nil {
		e.cancel()
		return nil, err
	}
	if err := e.startMesh(); err != nil {
		e.shutdownSockets()
		return nil, err
	}
	if !cfg.NoMapper {
		if err := e.mapper.startKeeper(ctx); err != nil {
			e.shutdownSockets()
			return nil, err
		}
	}
	e.wg.Add(1)
	go e.rejoinLoop()
	e.rejoinOnce() // first join now, not after a period
	return e, nil
}

func newBootID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// Self returns this node's name.
func (e *Endpoint) Self() Node { return e.self }

// BootID returns this instance's boot id: random, fixed for the life of the endpoint.
func (e *Endpoint) BootID() uint64 { return e.boot }

// Port returns the node's one port (0 for a hidden node).
func (e *Endpoint) Port() int { return e.port }

// Addr returns the node's "ip:port" ("" for a hidden node).
func (e *Endpoint) Addr() string {
	if e.port == 0 {
		return ""
	}
	return net.JoinHostPort(e.cfg.AdvertiseAddr, fmt.Sprint(e.port))
}

// Nodes returns the visible peers that are up, sorted, self excluded (OTP's nodes()).
func (e *Endpoint) Nodes() []Node { return e.mon.nodes() }

// Monitor returns, atomically, the nodes up now and a channel of every later nodeup and
// nodedown. Events are never dropped (an unbounded queue per subscriber). cancel releases the
// subscription; the channel is closed after cancel or Close.
func (e *Endpoint) Monitor() (up []Node, events <-chan NodeEvent, cancel func()) {
	return e.mon.subscribe()
}

// Handle registers h for service, replacing any earlier handler; nil removes it.
func (e *Endpoint) Handle(service string, h Handler) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	if h == nil {
		delete(e.handlers, service)
		return
	}
	e.handlers[service] = h
}

// callHandler runs the handler for service; a panic becomes an error.
func (e *Endpoint) callHandler(ctx context.Context, from Peer, service string, payload []byte) (out []byte, err error) {
	e.handlersMu.RLock()
	h := e.handlers[service]
	e.handlersMu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("%w %q on %s", ErrNoHandler, service, e.self)
	}
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("dist: handler panicked", "service", service, "from", string(from.Node), "panic", r)
			out, err = nil, fmt.Errorf("handler for %q panicked: %v", service, r)
		}
	}()
	return h(ctx, from, payload)
}

// deliverSend queues a one-way message on the sender's inbox (in order per sender).
func (e *Endpoint) deliverSend(from Peer, service string, payload []byte) {
	e.mu.Lock()
	p := e.peerLocked(from.Node)
	e.mu.Unlock()
	p.inbox.push(func() {
		if _, err := e.callHandler(e.ctx, from, service, payload); err != nil && errors.Is(err, ErrNoHandler) {
			e.log.Debug("dist: message for a service without handler", "service", service, "from", string(from.Node))
		}
	})
}

// peerLocked returns the peer record, creating it. e.mu must be held.
func (e *Endpoint) peerLocked(n Node) *peer {
	p := e.peers[n]
	if p == nil {
		p = &peer{node: n, linkCh: make(chan struct{}), inbox: &inbox{wg: &e.wg}, requireLink: e.tlsClient != nil}
		e.peers[n] = p
	}
	return p
}

// publishLocked hands events to the peer's inbox, behind any message already queued there.
// e.mu must be held (so events of one peer are queued in decision order).
func (e *Endpoint) publishLocked(p *peer, evs []NodeEvent) {
	for _, ev := range evs {
		e.log.Info("dist: node "+map[bool]string{true: "up", false: "down"}[ev.Up],
			"peer", string(ev.Node), "boot_id", ev.BootID, "reason", string(ev.Reason))
		p.inbox.push(func() { e.mon.publish(ev) })
	}
}

// Send sends a one-way message to service on node to. Handlers of Send run one at a time per
// sending node, in the order sent. It returns once the message is written to the link.
func (e *Endpoint) Send(ctx context.Context, to Node, service string, payload []byte) error {
	if to == e.self {
		e.deliverSend(Peer{Node: e.self, Hidden: e.cfg.Hidden, BootID: e.boot}, service, payload)
		return nil
	}
	l, err := e.ensureLink(ctx, to)
	if err != nil {
		return err
	}
	return l.write(&frame{Kind: kindSend, Service: service, Data: payload}, l.writeDeadline(ctx))
}

// Request sends a request to service on node to and waits for the reply, the remote error
// (*RemoteError) or ctx. The remote handler runs on its own goroutine with ctx's deadline.
func (e *Endpoint) Request(ctx context.Context, to Node, service string, payload []byte) ([]byte, error) {
	if to == e.self {
		out, err := e.callHandler(ctx, Peer{Node: e.self, Hidden: e.cfg.Hidden, BootID: e.boot}, service, payload)
		if err != nil {
			return nil, &RemoteError{Node: e.self, Service: service, Message: err.Error()}
		}
		return out, nil
	}
	l, err := e.ensureLink(ctx, to)
	if err != nil {
		return nil, err
	}
	return l.request(ctx, service, payload)
}

// Connect makes sure a link to node to exists (like net_adm:ping) and, for a visible node,
// asks the mesh to join it. It also adds the node to the re-join targets.
func (e *Endpoint) Connect(ctx context.Context, to Node) error {
	if _, err := ParseNode(string(to)); err != nil {
		return err
	}
	if to == e.self {
		return nil
	}
	if !e.cfg.Hidden {
		e.mu.Lock()
		e.targets["node:"+string(to)] = true
		e.mu.Unlock()
	}
	_, err := e.ensureLink(ctx, to)
	if err == nil && !e.cfg.Hidden {
		e.joinNodeAsync(to)
	}
	return err
}

// Close leaves gracefully: peers see nodedown with reason left. It tells every linked peer it
// is leaving, leaves memberlist, then closes links and sockets. Monitor channels are closed.
func (e *Endpoint) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closeStarted {
		e.mu.Unlock()
		return nil
	}
	e.closeStarted = true
	e.mu.Unlock()
	deadline := time.Now().Add(e.tm.leaveWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	e.announceLeaving(deadline)
	e.mu.Lock()
	e.closing = true
	var links []*link
	for _, p := range e.peers {
		if p.link != nil {
			links = append(links, p.link)
		}
	}
	e.mu.Unlock()
	if e.ml != nil {
		if wait := time.Until(deadline); wait > 0 {
			_ = e.ml.Leave(wait)
		}
	}
	e.shutdownSockets()
	for _, l := range links {
		l.close()
	}
	e.mu.Lock()
	for _, p := range e.peers {
		if p.link != nil {
			p.link.close()
		}
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("close %s: %w", e.self, ctx.Err())
	}
	e.mon.close()
	return err
}

// announceLeaving tells every peer up (over its link, made if missing) that this node is
// closing, so they report it down with reason left as soon as its link closes (memberlist
// alone cannot tell a leave from a death).
func (e *Endpoint) announceLeaving(deadline time.Time) {
	ctx, cancel := context.WithDeadline(e.ctx, deadline.Add(-(time.Until(deadline) / 2)))
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range e.mon.nodes() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := e.ensureLink(ctx, n); err == nil {
				_ = l.write(&frame{Kind: kindLeaving}, deadline)
			}
		}()
	}
	wg.Wait()
}

// shutdownSockets stops everything that listens or runs in the background.
func (e *Endpoint) shutdownSockets() {
	e.cancel()
	if e.mapper != nil {
		e.mapper.stop()
	}
	if e.ml != nil {
		_ = e.ml.Shutdown()
	}
	if e.ln != nil {
		_ = e.ln.Close()
	}
	if e.mlEvents != nil {
		e.mlEvents.close()
	}
}

func (e *Endpoint) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}
