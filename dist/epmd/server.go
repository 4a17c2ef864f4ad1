package epmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ListenFunc opens a listener; net.Listen has this shape. Tests pass their own to inject
// faults.
type ListenFunc func(network, addr string) (net.Listener, error)

// Server defaults.
const (
	// DefaultRequestTimeout is how long a client may take to send its request and read the
	// answer before the server drops it.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxPending is how many connections may be waiting for their request at once;
	// connections beyond it are closed on accept. Registered connections do not count.
	DefaultMaxPending = 256
)

// ServerConfig configures an embedded port mapper.
type ServerConfig struct {
	// Addr is the TCP address to listen on. Default: DefaultAddr().
	Addr string
	// Listen opens the listener. Default: net.ListenConfig.Listen with Listen's context.
	Listen ListenFunc
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// MaxRequestSize is the largest request body accepted, in bytes. Default and maximum:
	// MaxRequestSize (what real epmd accepts).
	MaxRequestSize int
	// RequestTimeout bounds reading a request and writing its answer. Default:
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxPending bounds connections that have not yet sent their request. Default:
	// DefaultMaxPending.
	MaxPending int
	// AllowRemoteRegistration lets ALIVE2_REQ come from other hosts. Default false: like real
	// epmd, only loopback and the host's own address may register (lookups are open to all).
	AllowRemoteRegistration bool
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c ServerConfig) withDefaults() ServerConfig {
	if c.Addr == "" {
		c.Addr = DefaultAddr()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxRequestSize == 0 {
		c.MaxRequestSize = MaxRequestSize
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	return c
}

// Validate reports whether the config (defaults applied) is usable.
func (c ServerConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxRequestSize < 0 || c.MaxRequestSize > MaxRequestSize:
		return fmt.Errorf("%w: server MaxRequestSize %d outside 1..%d", ErrInvalidConfig, c.MaxRequestSize, MaxRequestSize)
	case c.RequestTimeout < 0:
		return fmt.Errorf("%w: server RequestTimeout %v is negative", ErrInvalidConfig, c.RequestTimeout)
	case c.MaxPending < 0:
		return fmt.Errorf("%w: server MaxPending %d is negative", ErrInvalidConfig, c.MaxPending)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: server Addr %q: %v", ErrInvalidConfig, c.Addr, err)
	}
	return nil
}

// Server is an embedded port mapper serving ALIVE2, PORT_PLEASE2 and NAMES like real epmd:
// a name is registered for as long as the connection that registered it stays open, a live
// name cannot be registered twice, and every client is served on its own goroutine with
// deadlines and size limits, so one faulty client cannot stall the others.
type Server struct {
	cfg  ServerConfig
	log  *slog.Logger
	ln   net.Listener
	port int

	mu      sync.Mutex
	reg     *registry
	conns   map[uint64]net.Conn
	nextID  uint64
	pending int
	closed  bool
	err     error

	wg   sync.WaitGroup
	done chan struct{}
}

// Listen starts a port mapper on cfg.Addr. ctx bounds only the start; the server runs until
// Close, or until its listener fails (then Done is closed and Err says why). A failure to
// listen because the address is in use matches the platform's EADDRINUSE (syscall.EADDRINUSE
// with errors.Is).
func Listen(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var ln net.Listener
	var err error
	if cfg.Listen != nil {
		ln, err = cfg.Listen("tcp", cfg.Addr)
	} else {
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("epmd: listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "epmd-server", "addr", ln.Addr().String()),
		ln:    ln,
		reg:   newRegistry(func() uint32 { return uint32(time.Now().Unix()) }),
		conns: map[uint64]net.Conn{},
		done:  make(chan struct{}),
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		s.port = tcp.Port
	}
	s.wg.Add(1)
	go s.acceptLoop()
	s.log.Debug("port mapper listening")
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Port returns the TCP port the server listens on (0 for a non-TCP listener).
func (s *Server) Port() int { return s.port }

// Done returns a channel closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns nil while the server runs, ErrClosed after Close, or the listener's error.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Names returns the live registrations, newest first.
func (s *Server) Names() []NameEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reg.names()
}

// Lookup returns the live registration of name.
func (s *Server) Lookup(name string) (PortInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reg.lookup(name)
}

// Close stops the server: it closes the listener and every connection, which frees every
// name (the nodes registered here see their connection close and must register again
// elsewhere), and waits for the server's goroutines. Close is idempotent.
func (s *Server) Close() error {
	s.shutdown(ErrClosed)
	s.wg.Wait()
	return nil
}

func (s *Server) shutdown(cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.err = cause
	conns := make([]net.Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Listener first, so nobody reaches this server once the registered nodes start looking
	// for a new one.
	_ = s.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	close(s.done)
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	backoff := time.Duration(0)
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				s.shutdown(fmt.Errorf("epmd: listener %s closed: %w", s.ln.Addr(), err))
				return
			}
			// Transient failures (out of file descriptors, aborted handshakes): back off and
			// keep serving, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-s.done:
				return
			}
			continue
		}
		backoff = 0
		id, ok := s.track(conn)
		if !ok {
			_ = conn.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(id, conn)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track records a new connection; it refuses it when the server is closed or too many
// connections are waiting for their request.
func (s *Server) track(conn net.Conn) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, false
	}
	if s.pending >= s.cfg.MaxPending {
		s.log.Warn("too many pending connections; dropping one", "remote", conn.RemoteAddr().String(), "max", s.cfg.MaxPending)
		return 0, false
	}
	s.nextID++
	s.conns[s.nextID] = conn
	s.pending++
	return s.nextID, true
}

func (s *Server) untrack(id uint64, wasPending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, id)
	if wasPending {
		s.pending--
	}
}

func (s *Server) serveConn(id uint64, conn net.Conn) {
	defer s.wg.Done()
	pending := true
	defer func() {
		_ = conn.Close()
		s.untrack(id, pending)
	}()
	_ = conn.SetDeadline(time.Now().Add(s.cfg.RequestTimeout))
	req, err := ReadRequest(conn, s.cfg.MaxRequestSize)
	s.mu.Lock()
	s.pending--
	pending = false
	s.mu.Unlock()
	if err != nil {
		s.log.Debug("bad request; closing", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	switch r := req.(type) {
	case *Alive2Req:
		s.serveAlive2(id, conn, r)
	case *PortPlease2Req:
		s.servePortPlease(conn, r)
	case *NamesReq:
		s.serveNames(conn)
	}
}

func (s *Server) serveAlive2(id uint64, conn net.Conn, r *Alive2Req) {
	log := s.log.With("node", r.Name, "port", r.Port, "remote", conn.RemoteAddr().String())
	if !s.cfg.AllowRemoteRegistration && !isLocalPeer(conn) {
		log.Warn("registration from a remote host refused")
		return
	}
	s.mu.Lock()
	creation, ok := s.reg.register(id, PortInfo(r.Registration))
	s.mu.Unlock()
	resp := Alive2Resp{Creation: creation, Extended: r.HighestVersion >= 6}
	if !ok {
		resp.Result, resp.Creation = 1, 99 // real epmd's answer to a name in use
	}
	b, err := EncodeAlive2Resp(resp)
	if err == nil {
		_, err = conn.Write(b)
	}
	if !ok {
		log.Info("registration refused: name in use")
		return
	}
	if err != nil {
		s.unregister(id, r.Name)
		log.Debug("registration answer failed; unregistered", "err", err)
		return
	}
	log.Info("node registered", "creation", creation)
	// The registration now lives as long as the connection. The node never sends anything
	// more; like real epmd, anything it sends ends the registration.
	_ = conn.SetDeadline(time.Time{})
	var one [1]byte
	_, err = conn.Read(one[:])
	s.unregister(id, r.Name)
	log.Info("node unregistered", "reason", closeReason(err))
}

func closeReason(err error) string {
	if err == nil {
		return "unexpected data on the registration connection"
	}
	return err.Error()
}

func (s *Server) unregister(id uint64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reg.unregister(id, name)
}

func (s *Server) servePortPlease(conn net.Conn, r *PortPlease2Req) {
	info, ok := s.Lookup(r.Name)
	resp := Port2Resp{Result: 1}
	if ok {
		resp = Port2Resp{Info: info}
	}
	b, err := EncodePort2Resp(resp)
	if err == nil {
		_, err = conn.Write(b)
	}
	if err != nil {
		s.log.Debug("port please answer failed", "node", r.Name, "err", err)
	}
}

func (s *Server) serveNames(conn net.Conn) {
	b, err := EncodeNamesResp(NamesResp{EPMDPort: uint32(s.port), Entries: s.Names()})
	if err == nil {
		_, err = conn.Write(b)
	}
	if err != nil {
		s.log.Debug("names answer failed", "err", err)
	}
}

// isLocalPeer reports whether conn comes from this host: a loopback address or the address
// the connection arrived on. Connections that are not TCP (in-memory test networks) count as
// local.
func isLocalPeer(conn net.Conn) bool {
	remote, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return true
	}
	if remote.IP.IsLoopback() {
		return true
	}
	local, ok := conn.LocalAddr().(*net.TCPAddr)
	return ok && local.IP.Equal(remote.IP)
}
