package dist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLinkLost is matched (errors.Is) when a link closes while a request waits for its reply.
var ErrLinkLost = errors.New("link lost")

// RemoteError is a request's error returned by the peer's handler (or by the peer itself,
// e.g. when no handler serves the service).
type RemoteError struct {
	Node    Node
	Service string
	Message string
}

// Error names the remote node, the service and the handler's message.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("remote error from %s (service %q): %s", e.Node, e.Service, e.Message)
}

type reply struct {
	data []byte
	err  error
}

// link is one authenticated, encrypted connection to a peer.
type link struct {
	e      *Endpoint
	peer   hello // the peer's hello
	node   Node
	dialed bool // this side dialed
	fr     *framer
	conn   net.Conn

	mu      sync.Mutex
	pending map[uint64]chan reply
	closed  bool

	superseded atomic.Bool // replaced by a newer link: its loss means nothing
	leaving    atomic.Bool // the peer announced a graceful close
	done       chan struct{}
}

func newLink(e *Endpoint, peer hello, dialed bool, fr *framer, conn net.Conn) *link {
	fr.maxWire = e.cfg.MaxFrame + frameOverhead
	return &link{e: e, peer: peer, node: Node(peer.Name), dialed: dialed, fr: fr, conn: conn,
		pending: map[uint64]chan reply{}, done: make(chan struct{})}
}

// start runs the link's reader and heartbeat goroutines.
func (l *link) start() {
	l.e.wg.Add(2)
	go l.readLoop()
	go l.heartbeatLoop()
}

func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	close(l.done)
	_ = l.conn.Close()
	for _, ch := range pending {
		ch <- reply{err: fmt.Errorf("%w to %s", ErrLinkLost, l.node)}
	}
}

func (l *link) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *link) write(f *frame, deadline time.Time) error {
	body, err := encodeFrame(f)
	if err != nil {
		return err
	}
	if len(f.Data) > l.e.cfg.MaxFrame {
		return fmt.Errorf("payload of %d bytes over the frame cap of %d", len(f.Data), l.e.cfg.MaxFrame)
	}
	if err := l.fr.writeFrame(body, deadline); err != nil {
		l.fr.wmu.Lock()
		broken := l.fr.broken
		l.fr.wmu.Unlock()
		if broken || !isTimeout(err) {
			l.close() // a partial frame corrupts the stream; other errors end it
		}
		return fmt.Errorf("link to %s: %w", l.node, err)
	}
	return nil
}

// writeDeadline bounds a write by ctx and by a generous default, so a hung peer cannot block
// the writer for ever.
func (l *link) writeDeadline(ctx context.Context) time.Time {
	d := time.Now().Add(l.e.tm.linkTimeout + 10*time.Second)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

func (l *link) heartbeatLoop() {
	defer l.e.wg.Done()
	t := time.NewTicker(l.e.tm.heartbeat)
	defer t.Stop()
	hb := &frame{Kind: kindHeartbeat}
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			if err := l.write(hb, time.Now().Add(l.e.tm.linkTimeout)); err != nil {
				return
			}
		}
	}
}

func (l *link) readLoop() {
	defer l.e.wg.Done()
	var err error
	for {
		var body []byte
		body, err = l.fr.readFrame(time.Now().Add(l.e.tm.linkTimeout))
		if err != nil {
			break
		}
		var f frame
		f, err = decodeFrame(body)
		if err != nil {
			break
		}
		l.dispatch(f)
	}
	if errors.Is(err, ErrMalformed) {
		l.e.log.Warn("dist: closing link after a malformed frame", "node", string(l.node), "err", err)
	}
	l.close()
	l.e.linkLost(l, err)
}

// dispatch handles one frame from the peer.
func (l *link) dispatch(f frame) {
	from := Peer{Node: l.node, Hidden: l.peer.Hidden, BootID: l.peer.BootID}
	switch f.Kind {
	case kindHeartbeat:
	case kindSend:
		l.e.deliverSend(from, f.Service, f.Data)
	case kindRequest:
		l.e.wg.Add(1)
		go l.serveRequest(from, f)
	case kindReply, kindError:
		l.mu.Lock()
		ch := l.pending[f.ID]
		delete(l.pending, f.ID)
		l.mu.Unlock()
		if ch == nil {
			return // the caller gave up
		}
		if f.Kind == kindReply {
			ch <- reply{data: f.Data}
		} else {
			ch <- reply{err: &RemoteError{Node: l.node, Service: f.Service, Message: f.Err}}
		}
	case kindLeaving:
		l.leaving.Store(true)
		l.e.peerLeaving(l.node, l.peer.BootID)
	}
}

func (l *link) serveRequest(from Peer, f frame) {
	defer l.e.wg.Done()
	ctx, cancel := context.WithCancel(l.e.ctx)
	if f.TimeoutMS > 0 {
		ctx, cancel = context.WithTimeout(l.e.ctx, time.Duration(f.TimeoutMS)*time.Millisecond)
	}
	defer cancel()
	data, err := l.e.callHandler(ctx, from, f.Service, f.Data)
	out := &frame{Kind: kindReply, ID: f.ID, Service: f.Service, Data: data}
	if err == nil && len(data) > l.e.cfg.MaxFrame {
		err = fmt.Errorf("reply of %d bytes over the frame cap", len(data))
	}
	if err != nil {
		out = &frame{Kind: kindError, ID: f.ID, Service: f.Service, Err: err.Error()}
	}
	// The reply gets its own deadline: the handler's may have passed already.
	_ = l.write(out, l.writeDeadline(l.e.ctx))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// request sends a request and waits for its reply.
func (l *link) request(ctx context.Context, service string, payload []byte) ([]byte, error) {
	id := l.e.nextID.Add(1)
	ch := make(chan reply, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("%w to %s", ErrLinkLost, l.node)
	}
	l.pending[id] = ch
	l.mu.Unlock()
	f := &frame{Kind: kindRequest, ID: id, Service: service, Data: payload}
	if d, ok := ctx.Deadline(); ok {
		// The handler's deadline ends a little after the caller's (rounded up, plus 10 ms), so
		// the caller sees its own context error rather than the handler's.
		f.TimeoutMS = max(1, int64((time.Until(d)+time.Millisecond-1)/time.Millisecond)+10)
	}
	if err := l.write(f, l.writeDeadline(ctx)); err != nil {
		l.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil && ctx.Err() != nil {
			return nil, ctx.Err() // both were ready: the caller's deadline wins over a late error
		}
		return r.data, r.err
	case <-ctx.Done():
		l.forget(id)
		return nil, ctx.Err()
	}
}

func (l *link) forget(id uint64) {
	l.mu.Lock()
	if l.pending != nil {
		delete(l.pending, id)
	}
	l.mu.Unlock()
}
