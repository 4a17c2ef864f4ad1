package dist

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gotp/gotp/dist/epmd"
)

// mapperClient registers the node with its host's port mapper (embedding one when none runs)
// and resolves other nodes' ports through theirs. Every connection goes through
// Config.Network.
type mapperClient struct {
	e      *Endpoint
	keeper *epmd.Keeper
}

func (m *mapperClient) client() *epmd.Client {
	return &epmd.Client{Dial: m.e.cfg.Network.Dial}
}

// addr returns the port mapper's address on host.
func (m *mapperClient) addr(host string) string {
	return net.JoinHostPort(host, strconv.Itoa(m.e.cfg.MapperPort))
}

// lookup returns node n's port from the mapper on n's host.
func (m *mapperClient) lookup(ctx context.Context, n Node) (int, error) {
	info, err := m.client().PortPlease(ctx, m.addr(hostIP(n.Host())), n.Name())
	if err != nil {
		return 0, err
	}
	return info.Port, nil
}

// startKeeper registers the node with its host's port mapper (embedding one when none
// runs, epmd.Keep) and keeps it registered for the node's life. ctx bounds the first
// registration; a name held by a live node fails the start, as in OTP.
func (m *mapperClient) startKeeper(ctx context.Context) error {
	addr := m.addr("127.0.0.1")
	listen := ""
	if ip := net.ParseIP(m.e.cfg.BindAddr); ip != nil && ip.IsLoopback() {
		listen = addr // a loopback-only node embeds a loopback-only mapper
	}
	k, err := epmd.Keep(ctx, epmd.KeepConfig{Addr: addr, ListenAddr: listen, Name: m.e.self.Name(),
		Port: m.e.port, Dial: m.e.cfg.Network.Dial, Listen: m.e.cfg.Network.Listen, Logger: m.e.log})
	if err != nil {
		return fmt.Errorf("register %s with the port mapper at %s: %w", m.e.self, addr, err)
	}
	m.keeper = k
	return nil
}

func (m *mapperClient) stop() {
	if m.keeper != nil {
		_ = m.keeper.Close()
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
