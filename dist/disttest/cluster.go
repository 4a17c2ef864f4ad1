package disttest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

// Options configures a test cluster.
type Options struct {
	// Names of the nodes; default N nodes n0@127.0.0.1, n1@127.0.0.1, …
	Names []dist.Node
	// N is the number of nodes when Names is empty (default 3).
	N int
	// Profile is the detection profile (default dist.ProfileTest).
	Profile dist.Profile
	// Cookie is the shared cookie (default "disttest-cookie").
	Cookie string
	// Logger for every node (default: discard).
	Logger *slog.Logger
	// Configure, when set, edits node i's config before it starts (TLS, cookie, …).
	Configure func(i int, c *dist.Config)
}

// Cluster is a set of nodes in one test process. Methods fail the test on error.
type Cluster struct {
	t          testing.TB
	opts       Options
	Net        *FaultNet
	mapperPort int

	mu     sync.Mutex
	nodes  []*dist.Endpoint
	ports  []int
	down   []bool
	closes sync.WaitGroup
}

// NewCluster starts the nodes (each joins the ones started before it) and registers their
// shutdown with t.Cleanup. It does not wait for convergence: call WaitConverged.
func NewCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if len(opts.Names) == 0 {
		if opts.N == 0 {
			opts.N = 3
		}
		for i := range opts.N {
			opts.Names = append(opts.Names, dist.Node(fmt.Sprintf("n%d@127.0.0.1", i)))
		}
	}
	if opts.Profile == "" {
		opts.Profile = dist.ProfileTest
	}
	if opts.Cookie == "" {
		opts.Cookie = "disttest-cookie"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{t: t, opts: opts, Net: NewFaultNet(), mapperPort: freePort(t),
		nodes: make([]*dist.Endpoint, len(opts.Names)), ports: make([]int, len(opts.Names)),
		down: make([]bool, len(opts.Names))}
	t.Cleanup(c.closeAll)
	for i := range opts.Names {
		c.start(i, 0)
	}
	return c
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("disttest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Config returns the config node i starts with (port 0 = any).
func (c *Cluster) Config(i, port int) dist.Config {
	name := c.opts.Names[i]
	cfg := dist.Config{
		Name: name, Kind: name.Kind(), Cookie: c.opts.Cookie, Profile: c.opts.Profile,
		PortMin: port, PortMax: port, MapperPort: c.mapperPort, Network: c.Net.For(i),
		Logger: c.opts.Logger.With("disttest_node", i),
	}
	c.mu.Lock()
	for j, e := range c.nodes {
		if j != i && e != nil && !c.down[j] && e.Addr() != "" {
			cfg.Seeds = append(cfg.Seeds, e.Addr())
		}
	}
	c.mu.Unlock()
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	return cfg
}

func (c *Cluster) start(i, port int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := dist.Start(ctx, c.Config(i, port))
	if err != nil {
		c.t.Fatalf("disttest: start node %d: %v", i, err)
	}
	c.mu.Lock()
	c.nodes[i], c.ports[i], c.down[i] = e, e.Port(), false
	c.mu.Unlock()
}

// MapperPort returns the port of the cluster's private port mapper (embedded by a node).
func (c *Cluster) MapperPort() int { return c.mapperPort }

// Len returns the number of nodes.
func (c *Cluster) Len() int { return len(c.opts.Names) }

// Node returns node i's endpoint (the newest instance after Restart).
func (c *Cluster) Node(i int) *dist.Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Name returns node i's name.
func (c *Cluster) Name(i int) dist.Node { return c.opts.Names[i] }

// Kill crashes node i: every socket closes at once with no goodbye, later connections to it
// are refused. Its endpoint is then released in the background.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	e := c.nodes[i]
	c.down[i] = true
	c.mu.Unlock()
	c.Net.Kill(i)
	c.closes.Add(1)
	go func() {
		defer c.closes.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	}()
}

// Stop closes node i gracefully (peers see reason left).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	e := c.nodes[i]
	c.down[i] = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		c.t.Errorf("disttest: stop node %d: %v", i, err)
	}
	c.Net.Kill(i) // release anything left
}

// Pause makes node i a black hole (a hang); Resume ends it.
func (c *Cluster) Pause(i int) { c.Net.Pause(i) }

// Resume ends Pause(i).
func (c *Cluster) Resume(i int) { c.Net.Resume(i) }

// Partition splits the cluster into groups of node indexes.
func (c *Cluster) Partition(groups ...[]int) { c.Net.Partition(groups...) }

// Heal ends a partition.
func (c *Cluster) Heal() { c.Net.Heal() }

// Restart starts node i again with the same name on the same port, after a Kill or Stop
// (killing it first if it still runs).
func (c *Cluster) Restart(i int) *dist.Endpoint { return c.restart(i, true) }

// RestartNewPort starts node i again with the same name on a new port.
func (c *Cluster) RestartNewPort(i int) *dist.Endpoint { return c.restart(i, false) }

func (c *Cluster) restart(i int, samePort bool) *dist.Endpoint {
	c.t.Helper()
	c.mu.Lock()
	running := !c.down[i]
	port := c.ports[i]
	c.mu.Unlock()
	if running {
		c.Kill(i)
	}
	c.closes.Wait()
	c.Net.Revive(i)
	if !samePort {
		port = 0
	}
	c.start(i, port)
	return c.Node(i)
}

// Live returns the indexes of nodes not killed or stopped.
func (c *Cluster) Live() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, d := range c.down {
		if !d {
			out = append(out, i)
		}
	}
	return out
}

// WaitConverged waits until every live node sees exactly the other live nodes up.
func (c *Cluster) WaitConverged(ctx context.Context) error {
	return c.WaitView(ctx, c.Live())
}

// WaitView waits until each node in group sees exactly the other nodes of group up.
func (c *Cluster) WaitView(ctx context.Context, group []int) error {
	for {
		ok := true
		var detail string
		for _, i := range group {
			var want []dist.Node
			for _, j := range group {
				if j != i {
					want = append(want, c.opts.Names[j])
				}
			}
			slices.Sort(want)
			got := c.Node(i).Nodes()
			if !slices.Equal(got, want) {
				ok = false
				detail = fmt.Sprintf("node %d sees %v, want %v", i, got, want)
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("disttest: not converged: %s: %w", detail, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) closeAll() {
	c.mu.Lock()
	var live []*dist.Endpoint
	for i, e := range c.nodes {
		if e != nil && !c.down[i] {
			live = append(live, e)
			c.down[i] = true
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = e.Close(ctx)
		}()
	}
	wg.Wait()
	c.closes.Wait()
	for i := range c.opts.Names {
		c.Net.Kill(i)
	}
}
