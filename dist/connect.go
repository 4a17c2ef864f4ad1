package dist

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// ensureLink returns the link to node n, dialing it when there is none. Simultaneous dials
// from both sides are resolved in the handshake: the link dialed by the node with the lower
// name wins, the other dial is answered "duplicate" and waits for the winning link.
func (e *Endpoint) ensureLink(ctx context.Context, n Node) (*link, error) {
	for {
		e.mu.Lock()
		if e.closing {
			e.mu.Unlock()
			return nil, ErrClosed
		}
		p := e.peerLocked(n)
		if p.link != nil && !p.link.isClosed() {
			l := p.link
			e.mu.Unlock()
			return l, nil
		}
		if p.dialing || p.accepting {
			ch := p.linkCh
			e.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("link to %s: %w", n, ctx.Err())
			}
		}
		p.dialing = true
		addr, boot := p.mlAddr, p.mlBoot
		e.mu.Unlock()

		l, err := e.dial(ctx, n, addr)

		e.mu.Lock()
		p.dialing = false
		if err == nil {
			e.installLocked(p, l)
		} else if isRefused(err) && addr != "" && boot != 0 && p.mlBoot == boot {
			// Nothing listens where the instance memberlist lists lives: it is gone.
			reason := DownClosed
			if p.leaving[boot] {
				reason = DownLeft
			}
			p.markDead(boot, reason)
			e.publishLocked(p, p.decide(reason))
		}
		ch := p.linkCh
		p.signal()
		e.mu.Unlock()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, errDuplicate) {
			return nil, err
		}
		// The peer is dialing us and its link wins: wait for it (or retry shortly).
		t := time.NewTimer(e.tm.heartbeat)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("link to %s: %w", n, ctx.Err())
		}
		t.Stop()
	}
}

// installLocked makes l the peer's link and starts it, superseding an older one.
func (e *Endpoint) installLocked(p *peer, l *link) {
	if old := p.link; old != nil && old != l {
		e.log.Debug("dist: link superseded", "peer", string(p.node), "old_dialed", old.dialed, "new_dialed", l.dialed)
		old.superseded.Store(true)
		go old.close()
	}
	p.link = l
	p.hidden = l.peer.Hidden
	p.linkBoot = l.peer.BootID
	l.start()
	// A new instance on the link means the old one is gone, whatever memberlist says yet.
	if p.up && l.peer.BootID != p.upBoot {
		p.markDead(p.upBoot, DownClosed)
	}
	e.publishLocked(p, p.decide(DownClosed))
}

// me returns this node's hello.
func (e *Endpoint) me() hello {
	return hello{Version: protocolVersion, Name: string(e.self), BootID: e.boot, Hidden: e.cfg.Hidden,
		Long: e.cfg.Kind == LongNames, Nonce: newNonce()}
}

// resolve finds node n's "ip:port": the memberlist address when known, else the port mapper
// on n's host.
func (e *Endpoint) resolve(ctx context.Context, n Node, known string) (string, error) {
	if known != "" {
		return known, nil
	}
	if e.cfg.NoMapper {
		return "", fmt.Errorf("%w: %s: not in the mesh and no port mapper", ErrUnreachable, n)
	}
	port, err := e.mapper.lookup(ctx, n)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, n, err)
	}
	return net.JoinHostPort(hostIP(n.Host()), fmt.Sprint(port)), nil
}

// dial opens and authenticates a link to n.
func (e *Endpoint) dial(ctx context.Context, n Node, addr string) (*link, error) {
	addr, err := e.resolve(ctx, n, addr)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, e.tm.linkTimeout+time.Second)
	defer cancel()
	conn, err := e.cfg.Network.Dial(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, n, addr, err)
	}
	deadline, _ := dctx.Deadline()
	_ = conn.SetWriteDeadline(deadline)
	if _, err := conn.Write([]byte{streamLink}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, n, addr, err)
	}
	if e.tlsClient != nil {
		tc := tls.Client(conn, e.tlsClient(n.Host()))
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: %s: tls: %w", ErrAuth, n, err)
		}
		conn = tc
	}
	fr := newFramer(conn, maxHandshakeFrame)
	peer, err := dialHandshake(fr, e.sec, e.me(), e.tlsClient == nil, deadline)
	if err != nil {
		conn.Close()
		if errors.Is(err, errDuplicate) {
			return nil, err
		}
		return nil, fmt.Errorf("link to %s: %w", n, err)
	}
	if Node(peer.Name) != n {
		conn.Close()
		return nil, fmt.Errorf("%w: dialed %s at %s but %s answered", ErrRefused, n, addr, peer.Name)
	}
	if err := e.checkPeer(peer); err != "" {
		conn.Close()
		return nil, fmt.Errorf("%w: %s: %s", ErrRefused, n, err)
	}
	return newLink(e, peer, true, fr, conn), nil
}

// checkPeer returns why a peer's hello is unacceptable, or "".
func (e *Endpoint) checkPeer(h hello) string {
	switch {
	case Node(h.Name) == e.self:
		return "the peer has this node's own name"
	case h.Long != (e.cfg.Kind == LongNames):
		return fmt.Sprintf("%s uses %s names and this node %s names: they do not mix",
			h.Name, map[bool]string{true: "long", false: "short"}[h.Long], e.cfg.Kind)
	case Node(h.Name).Kind() != e.cfg.Kind:
		return fmt.Sprintf("%s is not a valid %s name", h.Name, e.cfg.Kind)
	}
	return ""
}

// acceptLink runs the acceptor's side of a link on conn (after the first byte).
func (e *Endpoint) acceptLink(conn net.Conn) {
	deadline := time.Now().Add(e.tm.linkTimeout + time.Second)
	fr := newFramer(conn, maxHandshakeFrame)
	var p *peer
	decide := func(h hello) (uint8, string) {
		if why := e.checkPeer(h); why != "" {
			return statusRefused, why
		}
		if e.tlsClient != nil {
			if err := verifyPeerHost(conn, Node(h.Name)); err != nil {
				return statusRefused, err.Error()
			}
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.closing {
			return statusRefused, "node closing"
		}
		p = e.peerLocked(Node(h.Name))
		if p.dialing && !h.Hidden && e.self < Node(h.Name) {
			return statusDuplicate, ""
		}
		p.accepting = true
		return statusOK, ""
	}
	peer, err := acceptHandshake(fr, e.sec, e.me(), e.tlsClient == nil, deadline, decide)
	if err != nil {
		conn.Close()
		if p != nil && !errors.Is(err, errDuplicate) {
			e.mu.Lock()
			p.accepting = false
			p.signal()
			e.mu.Unlock()
		}
		if !errors.Is(err, errDuplicate) {
			e.log.Debug("dist: incoming link refused", "remote", conn.RemoteAddr().String(), "err", err)
		}
		return
	}
	e.mu.Lock()
	p.accepting = false
	if e.closing {
		e.mu.Unlock()
		conn.Close()
		return
	}
	l := newLink(e, peer, false, fr, conn)
	e.installLocked(p, l)
	p.signal()
	e.mu.Unlock()
}

// peerLeaving records a graceful-close announcement.
func (e *Endpoint) peerLeaving(n Node, boot uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.peerLocked(n).markLeaving(boot)
}

// linkLost reacts to a link's end. After a leaving announcement the node is down (left) at
// once. Otherwise one reconnect is tried: refused means the process is gone (closed, at once);
// a new instance answering means the old one is gone; a timeout is left to memberlist.
func (e *Endpoint) linkLost(l *link, cause error) {
	e.mu.Lock()
	p := e.peerLocked(l.node)
	if p.link == l {
		p.link = nil
		p.signal()
	}
	closing := e.closing
	if closing || l.superseded.Load() || l.peer.Hidden || e.cfg.Hidden {
		e.mu.Unlock()
		return
	}
	if l.leaving.Load() {
		p.markDead(l.peer.BootID, DownLeft)
		e.publishLocked(p, p.decide(DownLeft))
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	e.log.Debug("dist: link lost", "peer", string(l.node), "err", cause)
	// Called on the link's reader goroutine, which is ending anyway: no extra hand-off on
	// the crash-detection path.
	e.reconnectAfterLoss(l.node, l.peer.BootID)
}

func (e *Endpoint) reconnectAfterLoss(n Node, boot uint64) {
	ctx, cancel := context.WithTimeout(e.ctx, e.tm.linkTimeout)
	defer cancel()
	var nl *link
	var err error
	// A dying process closes its sockets one by one: right after the link's EOF its listener
	// may still accept and then reset. A reset or EOF during the reconnect is retried a few
	// times, quickly, until the port refuses (process gone) or answers (still alive).
	for backoff := 2 * time.Millisecond; ; backoff *= 2 {
		nl, err = e.ensureLink(ctx, n)
		if err == nil || isRefused(err) || !isReset(err) || backoff > 64*time.Millisecond {
			break
		}
		wait(ctx, backoff)
	}
	e.log.Debug("dist: reconnect after link loss", "peer", string(n), "err", err)
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.peerLocked(n)
	switch {
	case err == nil && nl.peer.BootID != boot:
		p.markDead(boot, DownClosed)
		e.publishLocked(p, p.decide(DownClosed))
	case err != nil && isRefused(err):
		reason := DownClosed
		if p.leaving[boot] {
			reason = DownLeft
		}
		p.markDead(boot, reason)
		e.publishLocked(p, p.decide(reason))
	}
}

// isReset reports whether err is a connection reset or an early EOF: the peer's socket went
// away mid-exchange.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE)
}

// isRefused reports whether err says the peer's port refused the connection: the process
// is gone while its host is up.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
