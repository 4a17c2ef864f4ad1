// Package disttest builds clusters of gotp nodes inside one test process, on loopback, with a
// fault-injecting network that wraps every socket the nodes use (links, memberlist gossip and
// streams, the port mapper): Kill, Pause, Partition, Heal, Restart.
package disttest

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gotp/gotp/dist"
)

// FaultNet is a dist.Network over real loopback sockets that can cut nodes off. Each node
// uses its own view (For). Cuts are enforced on the dialing side of every connection (both
// directions) and on the sending side of every datagram:
//   - Kill(i): every socket of node i closes at once (peers see EOF, later dials are refused),
//     as when the process dies.
//   - Pause(i): node i is a black hole, as when the process hangs: dials to or from it hang
//     until their deadline, bytes and datagrams stop flowing both ways (held bytes flow again
//     after Resume, as TCP retransmits them), its sockets stay open.
//   - Partition(groups…): traffic between groups is black-holed; Heal lifts it.
type FaultNet struct {
	mu      sync.Mutex
	owner   map[string]int // "ip:port" (listeners, datagram sockets, dialed local ends) → node
	killed  map[int]bool
	paused  map[int]bool
	group   map[int]int // partition group of each node; nil = no partition
	sockets map[int]map[any]struct{}
	changed chan struct{} // closed and replaced on every change of the cuts

	tapFn func(from int, datagram bool, b []byte)
}

// NewFaultNet returns a network with no faults.
func NewFaultNet() *FaultNet {
	return &FaultNet{owner: map[string]int{}, killed: map[int]bool{}, paused: map[int]bool{},
		sockets: map[int]map[any]struct{}{}, changed: make(chan struct{})}
}

// For returns node i's view of the network.
func (f *FaultNet) For(i int) dist.Network { return &view{f: f, i: i} }

func (f *FaultNet) bump() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Kill closes every socket of node i and refuses its later dials and sockets until Revive.
func (f *FaultNet) Kill(i int) {
	f.mu.Lock()
	f.killed[i] = true
	socks := f.sockets[i]
	delete(f.sockets, i)
	for a, o := range f.owner {
		if o == i {
			delete(f.owner, a)
		}
	}
	f.bump()
	f.mu.Unlock()
	for s := range socks {
		if c, ok := s.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// Revive lets a killed node i open sockets again (a restart).
func (f *FaultNet) Revive(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.killed, i)
	f.bump()
}

// Pause black-holes node i (a hang). Resume undoes it.
func (f *FaultNet) Pause(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused[i] = true
	f.bump()
}

// Resume ends Pause(i).
func (f *FaultNet) Resume(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.paused, i)
	f.bump()
}

// Partition splits the nodes into groups; traffic between groups is black-holed. Nodes in no
// group form one more group.
func (f *FaultNet) Partition(groups ...[]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.group = map[int]int{}
	for g, members := range groups {
		for _, i := range members {
			f.group[i] = g + 1
		}
	}
	f.bump()
}

// Heal ends a partition.
func (f *FaultNet) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.group = nil
	f.bump()
}

// cutLocked reports whether traffic between nodes a and b is black-holed (b < 0: unknown
// owner, never cut unless a is paused).
func (f *FaultNet) cutLocked(a, b int) bool {
	if f.paused[a] || (b >= 0 && f.paused[b]) {
		return true
	}
	if f.group != nil && b >= 0 && f.group[a] != f.group[b] {
		return true
	}
	return false
}

// waitUncut blocks while a and b are cut, until deadline (zero: none) or done. It returns
// false when the deadline passed or done fired while still cut.
func (f *FaultNet) waitUncut(a, b int, deadline time.Time, done <-chan struct{}) bool {
	for {
		f.mu.Lock()
		if !f.cutLocked(a, b) {
			f.mu.Unlock()
			return true
		}
		ch := f.changed
		f.mu.Unlock()
		var timer <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return false
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
		case <-timer:
			return false
		case <-done:
			return false
		}
	}
}

func (f *FaultNet) track(i int, s any, addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.killed[i] {
		return false
	}
	if f.sockets[i] == nil {
		f.sockets[i] = map[any]struct{}{}
	}
	f.sockets[i][s] = struct{}{}
	if addr != "" {
		f.owner[addr] = i
	}
	return true
}

func (f *FaultNet) untrack(i int, s any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sockets[i], s)
}

func (f *FaultNet) ownerOf(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.owner[addr]; ok {
		return o
	}
	return -1
}

func (f *FaultNet) isKilled(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.killed[i]
}

// SetTap installs fn to see every byte written on a stream (datagram false) and every
// datagram sent (datagram true), with the writing node's index; nil removes it. Tests use it
// to check that no plaintext crosses the wire. fn must not block or keep b.
func (f *FaultNet) SetTap(fn func(from int, datagram bool, b []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tapFn = fn
}

func (f *FaultNet) tap(i int, datagram bool, b []byte) {
	f.mu.Lock()
	fn := f.tapFn
	f.mu.Unlock()
	if fn != nil {
		fn(i, datagram, b)
	}
}

func refused(op, addr string) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED),
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout (black hole)" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// view is one node's Network.
type view struct {
	f *FaultNet
	i int
}

func (v *view) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if v.f.isKilled(v.i) {
		return nil, refused("dial", addr)
	}
	target := v.f.ownerOf(addr)
	if !v.f.waitUncut(v.i, target, deadlineOf(ctx), ctx.Done()) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutErr{}}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	fc := &conn{Conn: c, f: v.f, owner: v.i, peer: target, closed: make(chan struct{})}
	if !v.f.track(v.i, fc, c.LocalAddr().String()) {
		c.Close()
		return nil, refused("dial", addr)
	}
	return fc, nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func (v *view) Listen(network, addr string) (net.Listener, error) {
	if v.f.isKilled(v.i) {
		return nil, errors.New("disttest: node is killed")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	fl := &listener{Listener: ln, f: v.f, i: v.i}
	if !v.f.track(v.i, fl, ln.Addr().String()) {
		ln.Close()
		return nil, errors.New("disttest: node is killed")
	}
	return fl, nil
}

func (v *view) ListenPacket(network, addr string) (net.PacketConn, error) {
	if v.f.isKilled(v.i) {
		return nil, errors.New("disttest: node is killed")
	}
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, err
	}
	fp := &packetConn{PacketConn: pc, f: v.f, i: v.i}
	if !v.f.track(v.i, fp, pc.LocalAddr().String()) {
		pc.Close()
		return nil, errors.New("disttest: node is killed")
	}
	return fp, nil
}

type listener struct {
	net.Listener
	f *FaultNet
	i int
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &conn{Conn: c, f: l.f, owner: l.i, peer: -1, closed: make(chan struct{})}
	if !l.f.track(l.i, fc, "") {
		c.Close()
		return nil, net.ErrClosed
	}
	return fc, nil
}

func (l *listener) Close() error {
	l.f.untrack(l.i, l)
	return l.Listener.Close()
}

type packetConn struct {
	net.PacketConn
	f *FaultNet
	i int
}

func (p *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if p.f.isKilled(p.i) {
		return 0, net.ErrClosed
	}
	target := p.f.ownerOf(addr.String())
	p.f.mu.Lock()
	cut := p.f.cutLocked(p.i, target)
	p.f.mu.Unlock()
	if cut {
		return len(b), nil // dropped, as a black hole drops datagrams
	}
	p.f.tap(p.i, true, b)
	return p.PacketConn.WriteTo(b, addr)
}

func (p *packetConn) Close() error {
	p.f.untrack(p.i, p)
	return p.PacketConn.Close()
}

// conn is a stream socket of node owner. When peer ≥ 0 (the dialing side) it enforces cuts
// both ways: writes wait, read bytes are held back.
type conn struct {
	net.Conn
	f     *FaultNet
	owner int
	peer  int

	mu            sync.Mutex
	readDeadline  time.Time
	writeDeadline time.Time
	pending       []byte
	closeOnce     sync.Once
	closed        chan struct{}
}

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline, c.writeDeadline = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) Write(b []byte) (int, error) {
	if c.peer >= 0 {
		c.mu.Lock()
		d := c.writeDeadline
		c.mu.Unlock()
		if !c.f.waitUncut(c.owner, c.peer, d, c.closed) {
			return 0, &net.OpError{Op: "write", Net: "tcp", Err: timeoutErr{}}
		}
	}
	c.f.tap(c.owner, false, b)
	return c.Conn.Write(b)
}

func (c *conn) Read(b []byte) (int, error) {
	if c.peer < 0 {
		return c.Conn.Read(b)
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		n, err := c.Conn.Read(b)
		if n == 0 {
			return n, err
		}
		// Hold the bytes until the cut (if any) is lifted; an error comes again with the
		// next read.
		c.mu.Lock()
		c.pending = append(c.pending, b[:n]...)
	}
	d := c.readDeadline
	c.mu.Unlock()
	if !c.f.waitUncut(c.owner, c.peer, d, c.closed) {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}
	}
	c.mu.Lock()
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	c.mu.Unlock()
	return n, nil
}

func (c *conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	c.f.untrack(c.owner, c)
	return c.Conn.Close()
}
