package dist

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// mlTransport is memberlist's transport over the node's one port: gossip packets on the UDP
// socket, streams as TCP connections to the node's listener that start with streamMemberlist.
// Every socket comes from Config.Network.
type mlTransport struct {
	e        *Endpoint
	pc       net.PacketConn
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*mlTransport)(nil)

func newMLTransport(e *Endpoint, pc net.PacketConn) *mlTransport {
	t := &mlTransport{e: e, pc: pc, packetCh: make(chan *memberlist.Packet, 1024),
		streamCh: make(chan net.Conn), done: make(chan struct{})}
	t.wg.Add(1)
	go t.readPackets()
	return t
}

func (t *mlTransport) readPackets() {
	defer t.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := t.pc.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < 1 {
			continue
		}
		p := &memberlist.Packet{Buf: append([]byte(nil), buf[:n]...), From: from, Timestamp: now}
		select {
		case t.packetCh <- p:
		case <-t.done:
			return
		default: // queue full: drop, as a busy UDP socket would
		}
	}
}

// handStream gives an incoming memberlist stream to memberlist.
func (t *mlTransport) handStream(conn net.Conn) {
	select {
	case t.streamCh <- conn:
	case <-t.done:
		conn.Close()
	case <-time.After(5 * time.Second):
		conn.Close()
	}
}

// FinalAdvertiseAddr returns the node's advertised address and port.
func (t *mlTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.ParseIP(t.e.cfg.AdvertiseAddr), t.e.port, nil
}

// WriteTo sends a gossip packet.
func (t *mlTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends a gossip packet.
func (t *mlTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	host, port, err := net.SplitHostPort(a.Addr)
	if err != nil {
		return time.Time{}, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return time.Time{}, err
	}
	ua := &net.UDPAddr{IP: net.ParseIP(host), Port: p}
	if ua.IP == nil {
		r, err := net.ResolveUDPAddr("udp", a.Addr)
		if err != nil {
			return time.Time{}, err
		}
		ua = r
	}
	_, err = t.pc.WriteTo(b, ua)
	return time.Now(), err
}

// PacketCh returns incoming gossip packets.
func (t *mlTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// StreamCh returns incoming streams.
func (t *mlTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// DialTimeout opens a stream.
func (t *mlTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a stream to a node's port, announcing it with streamMemberlist
// (and securing it with TLS when configured).
func (t *mlTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(t.e.ctx, timeout)
	defer cancel()
	conn, err := t.e.cfg.Network.Dial(ctx, "tcp", a.Addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte{streamMemberlist}); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetWriteDeadline(time.Time{})
	if t.e.tlsClient != nil {
		host := ""
		if a.Name != "" {
			host = Node(a.Name).Host()
		}
		tc := tls.Client(conn, t.e.tlsClient(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
		}
		conn = tc
	}
	return conn, nil
}

// Shutdown stops the packet reader and closes the UDP socket.
func (t *mlTransport) Shutdown() error {
	t.once.Do(func() {
		close(t.done)
		_ = t.pc.Close()
	})
	t.wg.Wait()
	return nil
}
