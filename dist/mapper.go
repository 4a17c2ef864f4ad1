package dist

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gotp/gotp/dist/epmd"
)

// mapperClient registers the node with its host's port mapper (embedding one when none runs)
// and resolves other nodes' ports through theirs. Every connection goes through
// Config.Network.
type mapperClient struct {
	e      *Endpoint
	cancel context.CancelFunc
	wg     sync.WaitGroup
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

// startKeeper keeps the node registered for its whole life: with the mapper already running
// on the host, or with one it embeds when none answers; when the mapper goes away it
// registers again (embedding a new one if nobody answers) within about a second.
func (m *mapperClient) startKeeper() {
	ctx, cancel := context.WithCancel(m.e.ctx)
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.keep(ctx)
	}()
}

func (m *mapperClient) keep(ctx context.Context) {
	addr := m.addr("127.0.0.1")
	reg := epmd.Registration{Name: m.e.self.Name(), Port: m.e.port}
	var server *epmd.Server
	defer func() {
		if server != nil {
			_ = server.Close()
		}
	}()
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lease, err := m.client().Register(rctx, addr, reg)
		cancel()
		if err != nil && server == nil && !errors.Is(err, epmd.ErrRefused) {
			s, lerr := epmd.Listen(ctx, epmd.ServerConfig{Addr: addr, Listen: m.e.cfg.Network.Listen,
				Logger: m.e.log})
			if lerr == nil {
				server = s
				m.e.log.Info("dist: embedded port mapper started", "addr", addr)
				continue
			}
		}
		if err != nil {
			m.e.log.Debug("dist: port mapper registration failed", "addr", addr, "err", err)
			wait(ctx, 200*time.Millisecond+time.Duration(rand.Int64N(int64(300*time.Millisecond))))
			continue
		}
		select {
		case <-ctx.Done():
			_ = lease.Close()
			return
		case <-lease.Done():
			m.e.log.Info("dist: port mapper lost; registering again", "addr", addr)
			if server != nil {
				select {
				case <-server.Done():
					server = nil
				default:
				}
			}
		}
	}
}

func (m *mapperClient) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
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
