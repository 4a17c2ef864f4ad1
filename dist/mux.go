package dist

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// firstByteTimeout bounds the wait for a new connection's first byte.
const firstByteTimeout = 2 * time.Second

// ErrNoPort is matched (errors.Is) when no port of the configured range could be bound.
var ErrNoPort = errors.New("no free port")

// startListening binds the node's one port: TCP for links and memberlist streams, UDP with
// the same number for gossip, the first free number in PortMin..PortMax (any when both are 0).
func (e *Endpoint) startListening() error {
	ports := []int{0}
	if e.cfg.PortMin != 0 {
		ports = ports[:0]
		for p := e.cfg.PortMin; p <= e.cfg.PortMax; p++ {
			ports = append(ports, p)
		}
	}
	var lastErr error
	for _, port := range ports {
		for attempt := 0; attempt < 8; attempt++ {
			ln, pc, err := e.bindPair(port)
			if err == nil {
				e.ln = ln
				e.port = ln.Addr().(*net.TCPAddr).Port
				e.tr = newMLTransport(e, pc)
				e.wg.Add(1)
				go e.acceptLoop()
				return nil
			}
			lastErr = err
			if port != 0 {
				break // a fixed port: one try
			}
		}
	}
	return fmt.Errorf("%w for %s in %d..%d: %w", ErrNoPort, e.self, e.cfg.PortMin, e.cfg.PortMax, lastErr)
}

func (e *Endpoint) bindPair(port int) (net.Listener, net.PacketConn, error) {
	ln, err := e.cfg.Network.Listen("tcp", net.JoinHostPort(e.cfg.BindAddr, strconv.Itoa(port)))
	if err != nil {
		return nil, nil, err
	}
	p := ln.Addr().(*net.TCPAddr).Port
	pc, err := e.cfg.Network.ListenPacket("udp", net.JoinHostPort(e.cfg.BindAddr, strconv.Itoa(p)))
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, pc, nil
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			if e.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.serveConn(conn)
		}()
	}
}

// serveConn reads the first byte and hands the connection to the link acceptor or memberlist.
func (e *Endpoint) serveConn(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(firstByteTimeout))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if e.tlsServer != nil && (b[0] == streamLink || b[0] == streamMemberlist) {
		tc := tls.Server(conn, e.tlsServer)
		_ = tc.SetDeadline(time.Now().Add(e.tm.linkTimeout + time.Second))
		if err := tc.Handshake(); err != nil {
			e.log.Debug("dist: tls handshake refused", "remote", conn.RemoteAddr().String(), "err", err)
			conn.Close()
			return
		}
		_ = tc.SetDeadline(time.Time{})
		conn = tc
	}
	switch b[0] {
	case streamLink:
		e.acceptLink(conn)
	case streamMemberlist:
		e.tr.handStream(conn)
	default:
		conn.Close()
	}
}
