package epmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// process stands for one node's process: every connection and listener it opens goes
// through it, so kill can make the process vanish without its cooperation (no goodbye, every
// socket closed, nothing new opened), as when the OS kills it.
type process struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
	lns   []net.Listener
}

var errKilled = errors.New("process killed")

func (p *process) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p.mu.Lock()
	dead := p.dead
	p.mu.Unlock()
	if dead {
		return nil, errKilled
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return p.track(c)
}

func (p *process) listen(network, addr string) (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errKilled
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	tl := &trackedListener{Listener: ln, p: p}
	p.lns = append(p.lns, tl)
	return tl, nil
}

func (p *process) track(c net.Conn) (net.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		_ = c.Close()
		return nil, errKilled
	}
	p.conns = append(p.conns, c)
	return c, nil
}

func (p *process) kill() {
	p.mu.Lock()
	p.dead = true
	conns, lns := p.conns, p.lns
	p.mu.Unlock()
	for _, l := range lns {
		_ = l.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedListener struct {
	net.Listener
	p *process
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.p.track(c)
}

func keepCfg(addr, name string, port int, p *process) KeepConfig {
	cfg := KeepConfig{Addr: addr, ListenAddr: addr, Name: name, Port: port, Logger: quietLogger()}
	if p != nil {
		cfg.Dial, cfg.Listen = p.dial, p.listen
	}
	return cfg
}

func startKeeper(t *testing.T, cfg KeepConfig) *Keeper {
	t.Helper()
	k, err := Keep(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Keep(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// waitStatus waits, on the keeper's change notifications, until cond holds.
func waitStatus(ctx context.Context, k *Keeper, cond func(Status) bool) (Status, error) {
	for {
		st, changed := k.Status()
		if cond(st) {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

func sortedNames(entries []NameEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

func TestKeeperFirstEmbedsOthersJoin(t *testing.T) {
	addr := freeAddr(t)
	a := startKeeper(t, keepCfg(addr, "a", 1001, nil))
	b := startKeeper(t, keepCfg(addr, "b", 1002, nil))
	if st, _ := a.Status(); !st.Registered || !st.Embedded || st.Registrations != 1 {
		t.Fatalf("first keeper status %v; want registered and embedded", st)
	}
	if st, _ := b.Status(); !st.Registered || st.Embedded {
		t.Fatalf("second keeper status %v; want registered, not embedded", st)
	}
	info, err := PortPlease(testCtx(t), addr, "b")
	if err != nil || info.Port != 1002 || info.NodeType != NodeTypeNormal {
		t.Fatalf("PortPlease(b) = %+v, %v", info, err)
	}
	// Close unregisters.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to be unregistered", func() bool {
		_, err := PortPlease(testCtx(t), addr, "b")
		return errors.Is(err, ErrNotRegistered)
	})
}

func TestKeeperRefusesNameInUse(t *testing.T) {
	addr := freeAddr(t)
	startKeeper(t, keepCfg(addr, "joe", 1001, nil))
	_, err := Keep(testCtx(t), keepCfg(addr, "joe", 1002, nil))
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Keep with a live name: err = %v, want ErrRefused", err)
	}
}

func TestKeeperHiddenNode(t *testing.T) {
	addr := freeAddr(t)
	cfg := keepCfg(addr, "cli", 1001, nil)
	cfg.Hidden = true
	startKeeper(t, cfg)
	info, err := PortPlease(testCtx(t), addr, "cli")
	if err != nil || !info.Hidden() {
		t.Fatalf("PortPlease(cli) = %+v, %v; want a hidden node", info, err)
	}
}

// TestKeeperFailover is the scenario: three nodes, the one embedding the mapper dies,
// and the other two are registered again, with a new embedded mapper, within 2 s.
func TestKeeperFailover(t *testing.T) {
	for _, how := range []string{"killed", "closed"} {
		t.Run(how, func(t *testing.T) {
			addr := freeAddr(t)
			procs := []*process{{}, {}, {}}
			keepers := make([]*Keeper, 3)
			for i := range keepers {
				keepers[i] = startKeeper(t, keepCfg(addr, fmt.Sprint("n", i), 2000+i, procs[i]))
			}
			if st, _ := keepers[0].Status(); !st.Embedded {
				t.Fatalf("n0 status %v; want it to embed the mapper", st)
			}
			start := time.Now()
			if how == "killed" {
				procs[0].kill()
			} else {
				_ = keepers[0].Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var embedded int
			for _, k := range keepers[1:] {
				st, err := waitStatus(ctx, k, func(s Status) bool { return s.Registered && s.Registrations == 2 })
				if err != nil {
					t.Fatalf("not registered again: status %v: %v", st, err)
				}
			}
			elapsed := time.Since(start)
			for _, k := range keepers[1:] {
				if st, _ := k.Status(); st.Embedded {
					embedded++
				}
			}
			if embedded != 1 {
				t.Fatalf("%d surviving keepers embed a mapper; want exactly 1", embedded)
			}
			_, names, err := Names(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sortedNames(names), []string{"n1", "n2"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("names after failover = %v, want %v", got, want)
			}
			t.Logf("re-registered with a new mapper after %v", elapsed)
			if elapsed > 2*time.Second {
				t.Fatalf("re-registration took %v; the budget is 2 s", elapsed)
			}
		})
	}
}

func TestKeeperEmbedsWhenItsMapperDies(t *testing.T) {
	addr := freeAddr(t)
	srv, err := Listen(testCtx(t), ServerConfig{Addr: addr, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	k := startKeeper(t, keepCfg(addr, "joe", 1001, nil))
	if st, _ := k.Status(); st.Embedded {
		t.Fatal("keeper embedded a mapper although one was running")
	}
	if _, ok := srv.Lookup("joe"); !ok {
		t.Fatal("not registered with the running mapper")
	}
	_ = srv.Close()
	st, err := waitStatus(testCtx(t), k, func(s Status) bool { return s.Registered && s.Registrations == 2 })
	if err != nil || !st.Embedded {
		t.Fatalf("after the mapper died: status %v, %v; want registered with an embedded mapper", st, err)
	}
	if info, err := PortPlease(testCtx(t), addr, "joe"); err != nil || info.Port != 1001 {
		t.Fatalf("PortPlease(joe) = %+v, %v", info, err)
	}
}

func TestKeepHonoursContext(t *testing.T) {
	p := &process{}
	p.kill() // nothing can be dialed or listened on: the keeper can only retry
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Keep(ctx, keepCfg(freeAddr(t), "joe", 1, p))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Keep err = %v, want DeadlineExceeded", err)
	}
}

func TestKeepConfigValidate(t *testing.T) {
	good := KeepConfig{Addr: "127.0.0.1:1", Name: "a", Port: 1}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := good.withDefaults().ListenAddr; got != ":1" {
		t.Fatalf("default ListenAddr = %q, want \":1\"", got)
	}
	bad := []KeepConfig{
		{Addr: "127.0.0.1:1", Port: 1},
		{Addr: "127.0.0.1:1", Name: "a"},
		{Addr: "nope", Name: "a", Port: 1},
		{Addr: "127.0.0.1:1", Name: "a", Port: 1, RetryInterval: -1},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
}

func TestDefaultAddr(t *testing.T) {
	t.Setenv("ERL_EPMD_PORT", "")
	if got := DefaultAddr(); got != "127.0.0.1:4369" {
		t.Fatalf("DefaultAddr() = %q", got)
	}
	t.Setenv("ERL_EPMD_PORT", strconv.Itoa(5000))
	if got := DefaultAddr(); got != "127.0.0.1:5000" {
		t.Fatalf("DefaultAddr() with ERL_EPMD_PORT=5000 = %q", got)
	}
	t.Setenv("ERL_EPMD_PORT", "junk")
	if got := DefaultAddr(); got != "127.0.0.1:4369" {
		t.Fatalf("DefaultAddr() with a junk ERL_EPMD_PORT = %q", got)
	}
}

// TestKeeperRepeatedFailover kills whichever node embeds the mapper, three times over, and
// checks each time that every survivor is registered again within 2 s with exactly one of
// them embedding the new mapper.
func TestKeeperRepeatedFailover(t *testing.T) {
	addr := freeAddr(t)
	const n = 5
	procs := make([]*process, n)
	keepers := make([]*Keeper, n)
	for i := range keepers {
		procs[i] = &process{}
		keepers[i] = startKeeper(t, keepCfg(addr, fmt.Sprint("n", i), 3000+i, procs[i]))
	}
	alive := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true}
	for round := 1; round <= 3; round++ {
		victim := -1
		for i := range keepers {
			if st, _ := keepers[i].Status(); alive[i] && st.Embedded {
				victim = i
			}
		}
		if victim < 0 {
			t.Fatalf("round %d: no live keeper embeds the mapper", round)
		}
		before := map[int]int{}
		for i := range alive {
			st, _ := keepers[i].Status()
			before[i] = st.Registrations
		}
		start := time.Now()
		procs[victim].kill()
		delete(alive, victim)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		embedders, want := 0, []string{}
		for i := range alive {
			st, err := waitStatus(ctx, keepers[i], func(s Status) bool {
				return s.Registered && s.Registrations > before[i]
			})
			if err != nil {
				cancel()
				t.Fatalf("round %d: n%d not registered again: %v, %v", round, i, st, err)
			}
			want = append(want, fmt.Sprint("n", i))
		}
		elapsed := time.Since(start)
		for i := range alive {
			if st, _ := keepers[i].Status(); st.Embedded {
				embedders++
			}
		}
		_, names, err := Names(ctx, addr)
		cancel()
		sort.Strings(want)
		if err != nil || !reflect.DeepEqual(sortedNames(names), want) {
			t.Fatalf("round %d: names = %v, %v; want %v", round, names, err, want)
		}
		if embedders != 1 {
			t.Fatalf("round %d: %d keepers embed a mapper; want 1", round, embedders)
		}
		t.Logf("round %d: killed n%d; %d survivors registered again after %v", round, victim, len(alive), elapsed)
		if elapsed > 2*time.Second {
			t.Fatalf("round %d: re-registration took %v; the budget is 2 s", round, elapsed)
		}
	}
}
