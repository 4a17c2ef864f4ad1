package dist

import (
	"context"
	"net"
)

// Network opens every socket a node uses: links, memberlist streams and gossip, and the port
// mapper. The default is the real network; tests plug in a fault-injecting one
// (dist/disttest) so that a partition or a crash cuts all of a node's traffic at once.
type Network interface {
	// Dial connects to addr ("host:port") on network "tcp".
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
	// Listen opens a stream listener on network "tcp".
	Listen(network, addr string) (net.Listener, error)
	// ListenPacket opens a datagram socket on network "udp".
	ListenPacket(network, addr string) (net.PacketConn, error)
}

// RealNetwork is the operating system's network.
type RealNetwork struct{}

// Dial connects with a net.Dialer.
func (RealNetwork) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Listen calls net.Listen.
func (RealNetwork) Listen(network, addr string) (net.Listener, error) {
	return net.Listen(network, addr)
}

// ListenPacket calls net.ListenPacket.
func (RealNetwork) ListenPacket(network, addr string) (net.PacketConn, error) {
	return net.ListenPacket(network, addr)
}
