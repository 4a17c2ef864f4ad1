package epmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"
)

// Keeper defaults.
const (
	// DefaultRetryInterval is the pause between registration attempts when neither a mapper
	// answers nor this keeper can embed one; each pause gets up to 50% random jitter.
	DefaultRetryInterval = 100 * time.Millisecond
	// DefaultAttemptTimeout bounds one registration attempt (dial and ALIVE2 exchange).
	DefaultAttemptTimeout = time.Second
)

// KeepConfig configures a Keeper.
type KeepConfig struct {
	// Addr is the port mapper's address. Default: DefaultAddr().
	Addr string
	// ListenAddr is where an embedded mapper listens. Default: every interface on Addr's port
	// (":PORT"), as real epmd does, so that nodes on other hosts can look this host's nodes
	// up. Tests set it to Addr to stay on loopback.
	ListenAddr string
	// Name is the node name's alive part ("joe" for joe@host). Required.
	Name string
	// Port is the node's listen port, 1..65535. Required.
	Port int
	// Hidden registers the node as hidden (node type 72) rather than normal (77).
	Hidden bool
	// Dial opens connections to the mapper. Default: net.Dialer.
	Dial DialFunc
	// Listen opens an embedded mapper's listener. Default: net.Listen.
	Listen ListenFunc
	// Logger receives the keeper's and its embedded server's logs. Default: slog.Default().
	Logger *slog.Logger
	// RetryInterval is the pause between failed attempts. Default: DefaultRetryInterval.
	RetryInterval time.Duration
	// AttemptTimeout bounds one attempt. Default: DefaultAttemptTimeout.
	AttemptTimeout time.Duration
}

func (c KeepConfig) withDefaults() KeepConfig {
	if c.Addr == "" {
		c.Addr = DefaultAddr()
	}
	if c.ListenAddr == "" {
		if _, port, err := net.SplitHostPort(c.Addr); err == nil {
			c.ListenAddr = ":" + port
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	return c
}

// registration returns what the keeper registers.
func (c KeepConfig) registration() Registration {
	r := Registration{Name: c.Name, Port: c.Port, NodeType: NodeTypeNormal}
	if c.Hidden {
		r.NodeType = NodeTypeHidden
	}
	return r.WithDefaults()
}

// Validate reports whether the config (defaults applied) is usable.
func (c KeepConfig) Validate() error {
	c = c.withDefaults()
	if err := c.registration().Validate(); err != nil {
		return fmt.Errorf("%w: keeper: %v", ErrInvalidConfig, err)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: keeper Addr %q: %v", ErrInvalidConfig, c.Addr, err)
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		return fmt.Errorf("%w: keeper ListenAddr %q: %v", ErrInvalidConfig, c.ListenAddr, err)
	}
	if c.RetryInterval < 0 || c.AttemptTimeout < 0 {
		return fmt.Errorf("%w: keeper RetryInterval %v and AttemptTimeout %v must not be negative",
			ErrInvalidConfig, c.RetryInterval, c.AttemptTimeout)
	}
	return nil
}

// Status is a keeper's state at one moment.
type Status struct {
	Registered    bool   // the name is registered now
	Embedded      bool   // this keeper runs the port mapper at Addr
	Creation      uint32 // the creation of the current registration (0 when not registered)
	Registrations int    // how many times the name was registered (1 after Keep returns)
}

// String renders the status for logs.
func (s Status) String() string {
	return "registered=" + strconv.FormatBool(s.Registered) + " embedded=" + strconv.FormatBool(s.Embedded) +
		" creation=" + strconv.FormatUint(uint64(s.Creation), 10) + " registrations=" + strconv.Itoa(s.Registrations)
}

// Keeper keeps a node registered with the host's port mapper. It registers with a running
// mapper at Addr; when none answers it embeds a Server there (the first node on the host does
// this) and registers with it. When the registration's connection is lost — the mapper, or
// the node embedding it, died — it registers again at once, embedding a new server if nobody
// answers; of several keepers racing, one wins the listen and the others register with it.
type Keeper struct {
	cfg    KeepConfig
	reg    Registration
	client Client
	log    *slog.Logger

	ctx    context.Context // cancelled by Close; ends attempts and the run loop
	cancel context.CancelFunc
	exited chan struct{}

	mu      sync.Mutex
	lease   *Lease
	server  *Server
	status  Status
	changed chan struct{}
}

// Keep registers cfg.Name and keeps it registered until Close. It returns once the first
// registration has succeeded; ctx bounds only that wait. A name held by a live node gives an
// error matching ErrRefused (the node should not start, as in OTP).
func Keep(ctx context.Context, cfg KeepConfig) (*Keeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	runCtx, cancel := context.WithCancel(context.Background())
	k := &Keeper{
		cfg:     cfg,
		reg:     cfg.registration(),
		client:  Client{Dial: cfg.Dial},
		log:     cfg.Logger.With("component", "epmd-keeper", "node", cfg.Name, "mapper", cfg.Addr),
		ctx:     runCtx,
		cancel:  cancel,
		exited:  make(chan struct{}),
		changed: make(chan struct{}),
	}
	stop := context.AfterFunc(ctx, cancel)
	err := k.registerUntilDone(true)
	stop()
	if err != nil {
		k.cancel()
		k.stopServer()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("epmd: keep %q registered at %s: %w (last attempt: %v)", cfg.Name, cfg.Addr, ctx.Err(), err)
		}
		return nil, err
	}
	go k.run()
	return k, nil
}

// Status returns the keeper's current state and a channel closed at its next change.
func (k *Keeper) Status() (Status, <-chan struct{}) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.status, k.changed
}

// Close unregisters the name and, when this keeper embeds the mapper, stops it; the nodes
// registered with it then see their connection close and register again with a new mapper
// (one of them embeds it). Close waits for the keeper's goroutine. It is idempotent.
func (k *Keeper) Close() error {
	k.cancel()
	<-k.exited
	k.mu.Lock()
	lease := k.lease
	k.lease = nil
	k.mu.Unlock()
	if lease != nil {
		_ = lease.Close()
	}
	k.stopServer()
	k.setStatus(func(s *Status) { s.Registered, s.Embedded, s.Creation = false, false, 0 })
	return nil
}

func (k *Keeper) stopServer() {
	k.mu.Lock()
	srv := k.server
	k.server = nil
	k.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (k *Keeper) setStatus(update func(*Status)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	before := k.status
	update(&k.status)
	if k.status != before {
		close(k.changed)
		k.changed = make(chan struct{})
	}
}

// run watches the registration and renews it when it is lost, until Close.
func (k *Keeper) run() {
	defer close(k.exited)
	for {
		k.mu.Lock()
		lease := k.lease
		k.mu.Unlock()
		select {
		case <-k.ctx.Done():
			return
		case <-lease.Done():
		}
		k.log.Warn("port mapper registration lost; registering again", "err", lease.Err())
		k.setStatus(func(s *Status) { s.Registered, s.Creation = false, 0 })
		if err := k.registerUntilDone(false); err != nil {
			return // closed
		}
	}
}

// registerUntilDone attempts registration until it succeeds or the keeper's context ends.
// On the first registration a refusal is final; later it is retried, since the mapper may not
// yet have noticed that our previous connection is gone.
func (k *Keeper) registerUntilDone(first bool) error {
	for {
		err := k.attempt()
		if err == nil {
			return nil
		}
		if first && errors.Is(err, ErrRefused) {
			return err
		}
		k.log.Debug("registration attempt failed", "err", err)
		pause := k.cfg.RetryInterval + rand.N(k.cfg.RetryInterval/2+1)
		select {
		case <-k.ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// attempt registers with the mapper at Addr, embedding one when none answers.
func (k *Keeper) attempt() error {
	k.forgetDeadServer()
	err := k.registerOnce()
	if err == nil || errors.Is(err, ErrRefused) || k.ctx.Err() != nil {
		return err
	}
	if !k.embedded() {
		srv, lerr := Listen(k.ctx, ServerConfig{Addr: k.cfg.ListenAddr, Listen: k.cfg.Listen, Logger: k.cfg.Logger})
		if lerr != nil {
			// Usually another node won the race to embed; register with it right away.
			k.log.Debug("cannot embed a port mapper", "err", lerr)
		} else {
			k.log.Info("no port mapper answered; embedding one", "listen", srv.Addr().String())
			k.mu.Lock()
			k.server = srv
			k.mu.Unlock()
			k.setStatus(func(s *Status) { s.Embedded = true })
		}
	}
	if err2 := k.registerOnce(); err2 != nil {
		return fmt.Errorf("%w (before that: %v)", err2, err)
	}
	return nil
}

func (k *Keeper) registerOnce() error {
	ctx, cancel := context.WithTimeout(k.ctx, k.cfg.AttemptTimeout)
	defer cancel()
	lease, err := k.client.Register(ctx, k.cfg.Addr, k.reg)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.lease = lease
	k.mu.Unlock()
	k.setStatus(func(s *Status) {
		s.Registered, s.Creation = true, lease.Creation()
		s.Registrations++
	})
	k.log.Info("registered with the port mapper", "creation", lease.Creation(), "embedded", k.embedded())
	return nil
}

func (k *Keeper) embedded() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.server != nil
}

// forgetDeadServer drops an embedded server whose listener has failed.
func (k *Keeper) forgetDeadServer() {
	k.mu.Lock()
	srv := k.server
	if srv != nil {
		select {
		case <-srv.Done():
			k.server = nil
		default:
			srv = nil
		}
	}
	k.mu.Unlock()
	if srv != nil {
		k.log.Warn("embedded port mapper stopped", "err", srv.Err())
		_ = srv.Close()
		k.setStatus(func(s *Status) { s.Embedded = false })
	}
}
