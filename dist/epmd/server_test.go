package epmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"reflect"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testCtx returns a context with a generous deadline for one test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func startServer(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := Listen(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes; for "eventually" checks on state
// owned by another goroutine that offers no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerRegisterLookupNamesUnregister(t *testing.T) {
	s := startServer(t, ServerConfig{})
	addr := s.Addr().String()
	ctx := testCtx(t)

	lease, err := Register(ctx, addr, Registration{Name: "joe", Port: 40001, Extra: []byte("x")})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if lease.Creation() < 4 {
		t.Fatalf("creation %d; a 32-bit creation is never below 4", lease.Creation())
	}
	hidden, err := Register(ctx, addr, Registration{Name: "cli", Port: 40002, NodeType: NodeTypeHidden})
	if err != nil {
		t.Fatalf("Register hidden: %v", err)
	}

	info, err := PortPlease(ctx, addr, "joe")
	if err != nil {
		t.Fatalf("PortPlease: %v", err)
	}
	want := PortInfo{Name: "joe", Port: 40001, NodeType: NodeTypeNormal, HighestVersion: 6, LowestVersion: 5, Extra: []byte("x")}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("PortPlease = %+v, want %+v", info, want)
	}
	if hinfo, err := PortPlease(ctx, addr, "cli"); err != nil || !hinfo.Hidden() {
		t.Fatalf("PortPlease(cli) = %+v, %v; want a hidden node", hinfo, err)
	}
	if _, err := PortPlease(ctx, addr, "nobody"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("PortPlease(nobody) err = %v, want ErrNotRegistered", err)
	}

	port, names, err := Names(ctx, addr)
	if err != nil {
		t.Fatalf("Names: %v", err)
	}
	if port != s.Port() {
		t.Fatalf("Names port = %d, want %d", port, s.Port())
	}
	if wantNames := []NameEntry{{"cli", 40002}, {"joe", 40001}}; !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("Names = %v, want %v", names, wantNames)
	}

	// Closing the lease frees the name; registering again gets the next creation.
	if err := lease.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(lease.Err(), ErrClosed) {
		t.Fatalf("lease.Err after Close = %v, want ErrClosed", lease.Err())
	}
	waitFor(t, "joe to be freed", func() bool { _, ok := s.Lookup("joe"); return !ok })
	again, err := Register(ctx, addr, Registration{Name: "joe", Port: 40003})
	if err != nil {
		t.Fatalf("Register after free: %v", err)
	}
	if again.Creation() != lease.Creation()+1 {
		t.Fatalf("creation after re-registration = %d, want %d", again.Creation(), lease.Creation()+1)
	}
	_ = again.Close()
	_ = hidden.Close()
}

func TestServerRefusesLiveDuplicate(t *testing.T) {
	s := startServer(t, ServerConfig{})
	ctx := testCtx(t)
	first, err := Register(ctx, s.Addr().String(), Registration{Name: "joe", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = Register(ctx, s.Addr().String(), Registration{Name: "joe", Port: 2})
	var refused *RefusedError
	if !errors.As(err, &refused) || !errors.Is(err, ErrRefused) || refused.Result != 1 {
		t.Fatalf("duplicate Register err = %v, want *RefusedError result 1", err)
	}
	if info, ok := s.Lookup("joe"); !ok || info.Port != 1 {
		t.Fatalf("the first registration was disturbed: %+v, %v", info, ok)
	}
}

// rawExchange sends raw bytes to addr and returns everything the server sends back before it
// closes the connection.
func rawExchange(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	// A server that closes with our bytes unread resets the connection; that is a close too.
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v", err)
	}
	return out
}

func TestServerAnswersBothAlive2Variants(t *testing.T) {
	s := startServer(t, ServerConfig{})
	for _, tc := range []struct {
		highest uint16
		code    byte
		size    int
	}{{5, CodeAlive2Resp, 4}, {6, CodeAlive2XResp, 6}, {7, CodeAlive2XResp, 6}} {
		req, err := EncodeRequest(&Alive2Req{Registration{Name: "v", Port: 9, NodeType: 77, HighestVersion: tc.highest, LowestVersion: 5}})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, tc.size)
		if _, err := io.ReadFull(conn, buf); err != nil {
			t.Fatal(err)
		}
		resp, err := DecodeAlive2Resp(buf)
		if err != nil || resp.Result != 0 || buf[0] != tc.code {
			t.Fatalf("highest %d: response %v (%+v, %v); want code %q", tc.highest, buf, resp, err, tc.code)
		}
		if tc.highest < 6 && (resp.Creation < 1 || resp.Creation > 3) {
			t.Fatalf("version-5 creation %d outside 1..3", resp.Creation)
		}
		_ = conn.Close()
		waitFor(t, "v to be freed", func() bool { _, ok := s.Lookup("v"); return !ok })
	}
}

func TestServerDataAfterRegistrationUnregisters(t *testing.T) {
	s := startServer(t, ServerConfig{})
	req, _ := EncodeRequest(&Alive2Req{Registration{Name: "chatty", Port: 9, NodeType: 77, HighestVersion: 6, LowestVersion: 5}})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("chatty"); !ok {
		t.Fatal("not registered")
	}
	if _, err := conn.Write([]byte{0, 1, 'n'}); err != nil {
		t.Fatal(err)
	}
	// Like real epmd, the server ends the registration and closes the connection.
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("read %d bytes after unexpected data; want the connection closed", n)
	}
	if _, ok := s.Lookup("chatty"); ok {
		t.Fatal("still registered after the connection closed")
	}
}

func TestServerBadClientsDoNotDisturbOthers(t *testing.T) {
	s := startServer(t, ServerConfig{RequestTimeout: 200 * time.Millisecond, MaxPending: 4})
	addr := s.Addr().String()
	ctx := testCtx(t)
	lease, err := Register(ctx, addr, Registration{Name: "steady", Port: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()

	bad := [][]byte{
		{0, 0},            // zero length
		{0xff, 0xff},      // length above the limit
		{0, 2, 'q', 'q'},  // unknown request
		{0, 3, 'x', 0, 1}, // short ALIVE2
		{0, 5, 'z', 'a'},  // body cut short, then EOF
		{0, 2, 'z', 0xff}, // name not UTF-8
		{0, 2, 'n', 'n'},  // NAMES with trailing bytes
	}
	for _, b := range bad {
		if out := rawExchange(t, addr, b); len(out) != 0 {
			t.Fatalf("request %v answered %v; want the connection closed", b, out)
		}
	}
	// A silent client is dropped after RequestTimeout, without blocking anyone.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if info, err := PortPlease(ctx, addr, "steady"); err != nil || info.Port != 7 {
		t.Fatalf("PortPlease while a client is silent = %+v, %v", info, err)
	}
	_ = silent.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("silent client read err = %v; want EOF (dropped by the server)", err)
	}
	select {
	case <-lease.Done():
		t.Fatalf("the registration was lost: %v", lease.Err())
	default:
	}
	if info, ok := s.Lookup("steady"); !ok || info.Port != 7 {
		t.Fatal("bad clients disturbed a registration")
	}
}

func TestServerMaxPendingDropsExcessConnections(t *testing.T) {
	s := startServer(t, ServerConfig{MaxPending: 2, RequestTimeout: 20 * time.Second})
	addr := s.Addr().String()
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitFor(t, "two pending connections", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pending == 2
	})
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection beyond MaxPending was served")
	}
	_ = idle[0].Close()
	waitFor(t, "a pending slot to free", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pending < 2
	})
	if _, _, err := Names(testCtx(t), addr); err != nil {
		t.Fatalf("Names after a slot freed: %v", err)
	}
}

func TestServerCloseFreesEveryRegistration(t *testing.T) {
	s := startServer(t, ServerConfig{})
	ctx := testCtx(t)
	lease, err := Register(ctx, s.Addr().String(), Registration{Name: "joe", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lease.Done():
	case <-ctx.Done():
		t.Fatal("the lease did not see its server close")
	}
	if !errors.Is(lease.Err(), ErrLost) {
		t.Fatalf("lease.Err = %v, want ErrLost", lease.Err())
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("server Err = %v, want ErrClosed", s.Err())
	}
	if _, err := PortPlease(ctx, s.Addr().String(), "joe"); err == nil {
		t.Fatal("a closed server still answers")
	}
}

func TestListenAddressInUse(t *testing.T) {
	s := startServer(t, ServerConfig{})
	_, err := Listen(testCtx(t), ServerConfig{Addr: s.Addr().String(), Logger: quietLogger()})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen err = %v; want EADDRINUSE", err)
	}
}

func TestServerConfigValidate(t *testing.T) {
	bad := []ServerConfig{
		{Addr: "no-port"},
		{MaxRequestSize: MaxRequestSize + 1},
		{RequestTimeout: -1},
		{MaxPending: -1},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v; want ErrInvalidConfig", c, err)
		}
	}
	if err := (ServerConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
}

func TestClientHonoursContext(t *testing.T) {
	// A "mapper" that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		_ = ln.Close()
		for c := range accepted {
			_ = c.Close()
		}
	}()
	addr := ln.Addr().String()
	calls := map[string]func(ctx context.Context) error{
		"Register": func(ctx context.Context) error {
			_, err := Register(ctx, addr, Registration{Name: "a", Port: 1})
			return err
		},
		"PortPlease": func(ctx context.Context) error { _, err := PortPlease(ctx, addr, "a"); return err },
		"Names":      func(ctx context.Context) error { _, _, err := Names(ctx, addr); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- call(ctx) }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
}

func TestClientRejectsMalformedAnswers(t *testing.T) {
	answers := map[string][]byte{
		"Register":   {'q', 0, 0, 0},
		"PortPlease": {'w', 0, 0, 1},         // found, then cut short
		"Names":      []byte("\x00\x00\x00"), // shorter than the port
	}
	for call, answer := range answers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan struct{})
		go func() {
			defer close(served)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = ReadRequest(c, 0)
			_, _ = c.Write(answer)
			_ = c.Close()
		}()
		ctx, addr := testCtx(t), ln.Addr().String()
		switch call {
		case "Register":
			_, err = Register(ctx, addr, Registration{Name: "a", Port: 1})
		case "PortPlease":
			_, err = PortPlease(ctx, addr, "a")
		case "Names":
			_, _, err = Names(ctx, addr)
		}
		if err == nil || bytes.Contains([]byte(err.Error()), []byte("panic")) {
			t.Errorf("%s against a faulty mapper: err = %v; want an error", call, err)
		}
		<-served
		_ = ln.Close()
	}
}

// TestServerSurvivesGarbage sends many random byte streams, each on its own connection, and
// checks that a registration made before is untouched and the server still answers.
func TestServerSurvivesGarbage(t *testing.T) {
	s := startServer(t, ServerConfig{RequestTimeout: 100 * time.Millisecond})
	addr := s.Addr().String()
	ctx := testCtx(t)
	lease, err := Register(ctx, addr, Registration{Name: "steady", Port: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if len(b) >= 3 && i%2 == 0 {
			b[2] = []byte{'x', 'z', 'n'}[rng.IntN(3)] // aim at the real decoders half the time
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(b)
		if i%3 == 0 {
			_ = conn.(*net.TCPConn).CloseWrite() // half-close: the server sees EOF mid-request
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.Copy(io.Discard, conn)
		_ = conn.Close()
	}
	select {
	case <-lease.Done():
		t.Fatalf("garbage ended a registration: %v", lease.Err())
	default:
	}
	if info, err := PortPlease(ctx, addr, "steady"); err != nil || info.Port != 7 {
		t.Fatalf("PortPlease after garbage = %+v, %v", info, err)
	}
}

type fakeAddrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c fakeAddrConn) LocalAddr() net.Addr  { return c.local }
func (c fakeAddrConn) RemoteAddr() net.Addr { return c.remote }

func TestIsLocalPeer(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 1} }
	tests := []struct {
		name          string
		local, remote net.Addr
		want          bool
	}{
		{"loopback v4", tcp("127.0.0.1"), tcp("127.0.0.1"), true},
		{"loopback other 127/8", tcp("10.0.0.1"), tcp("127.0.0.2"), true},
		{"loopback v6", tcp("::1"), tcp("::1"), true},
		{"host's own address", tcp("10.0.0.1"), tcp("10.0.0.1"), true},
		{"another host", tcp("10.0.0.1"), tcp("10.0.0.2"), false},
		{"in-memory pipe", pipeAddr{}, pipeAddr{}, true},
	}
	for _, tc := range tests {
		if got := isLocalPeer(fakeAddrConn{local: tc.local, remote: tc.remote}); got != tc.want {
			t.Errorf("%s: isLocalPeer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// remoteListener makes every accepted connection look as if it came from another host.
type remoteListener struct{ net.Listener }

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return fakeAddrConn{Conn: c, local: &net.TCPAddr{IP: net.ParseIP("10.0.0.1")},
		remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 5}}, nil
}

func TestServerRemoteRegistration(t *testing.T) {
	remote := func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		return remoteListener{ln}, err
	}
	ctx := testCtx(t)
	strict := startServer(t, ServerConfig{Listen: remote})
	if l, err := Register(ctx, strict.Addr().String(), Registration{Name: "far", Port: 1}); err == nil {
		_ = l.Close()
		t.Fatal("a registration from another host was accepted")
	}
	if names := strict.Names(); len(names) != 0 {
		t.Fatalf("names after a remote registration attempt = %v", names)
	}
	if _, _, err := Names(ctx, strict.Addr().String()); err != nil {
		t.Fatalf("lookups from other hosts must stay open: %v", err)
	}
	open := startServer(t, ServerConfig{Listen: remote, AllowRemoteRegistration: true})
	l, err := Register(ctx, open.Addr().String(), Registration{Name: "far", Port: 1})
	if err != nil {
		t.Fatalf("Register with AllowRemoteRegistration: %v", err)
	}
	_ = l.Close()
}
