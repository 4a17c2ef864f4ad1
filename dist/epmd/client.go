package epmd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// DefaultPort is the port mapper's well-known TCP port.
const DefaultPort = 4369

// maxNamesResponse bounds how much of a NAMES response the client reads (about 9,000 names
// of 100 bytes); a mapper that sends more is treated as faulty.
const maxNamesResponse = 1 << 20

// DefaultAddr returns the address of the host's port mapper: "127.0.0.1:PORT" with PORT from
// the ERL_EPMD_PORT environment variable when it holds a valid port, 4369 otherwise (as erl
// does).
func DefaultAddr() string {
	port := DefaultPort
	if s := os.Getenv("ERL_EPMD_PORT"); s != "" {
		if p, err := strconv.Atoi(s); err == nil && p > 0 && p <= 0xFFFF {
			port = p
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Registration describes a node to register with a port mapper.
type Registration struct {
	Name           string // the node name's alive part ("joe" for joe@host)
	Port           int    // the node's listen port, 1..65535
	NodeType       uint8  // NodeTypeNormal or NodeTypeHidden; 0 means NodeTypeNormal
	Protocol       uint8  // 0 = TCP/IPv4 (the only value in use)
	HighestVersion uint16 // highest distribution version; 0 means DefaultHighestVersion (6)
	LowestVersion  uint16 // lowest distribution version; 0 means DefaultLowestVersion (5)
	Extra          []byte // opaque, at most MaxExtraBytes; usually empty
}

// WithDefaults returns r with zero NodeType, HighestVersion and LowestVersion replaced by
// their defaults.
func (r Registration) WithDefaults() Registration {
	if r.NodeType == 0 {
		r.NodeType = NodeTypeNormal
	}
	if r.HighestVersion == 0 {
		r.HighestVersion = DefaultHighestVersion
	}
	if r.LowestVersion == 0 {
		r.LowestVersion = DefaultLowestVersion
	}
	return r
}

// Validate reports whether r, with defaults applied, can be registered: a name of 1..255
// characters (at most MaxNameBytes bytes of valid UTF-8, no NUL or newline), a port in
// 1..65535, LowestVersion <= HighestVersion, and at most MaxExtraBytes of extra.
func (r Registration) Validate() error {
	r = r.WithDefaults()
	if err := checkNodeFields("registration", r.Name, r.Port, r.Extra); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRegistration, err)
	}
	if r.Port == 0 {
		return fmt.Errorf("%w: node %q: port 0", ErrInvalidRegistration, r.Name)
	}
	if r.LowestVersion > r.HighestVersion {
		return fmt.Errorf("%w: node %q: lowest version %d above highest %d",
			ErrInvalidRegistration, r.Name, r.LowestVersion, r.HighestVersion)
	}
	return nil
}

// DialFunc opens a connection; net.Dialer.DialContext has this shape. Tests pass their own to
// inject faults.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Client talks to port mappers. The zero value is ready to use and dials with net.Dialer.
type Client struct {
	// Dial opens connections to the mapper; nil means (&net.Dialer{}).DialContext.
	Dial DialFunc
}

// Register registers reg with the mapper at addr (see [Client.Register]) using a zero Client.
func Register(ctx context.Context, addr string, reg Registration) (*Lease, error) {
	return (&Client{}).Register(ctx, addr, reg)
}

// PortPlease looks name up at addr (see [Client.PortPlease]) using a zero Client.
func PortPlease(ctx context.Context, addr, name string) (PortInfo, error) {
	return (&Client{}).PortPlease(ctx, addr, name)
}

// Names lists the names registered at addr (see [Client.Names]) using a zero Client.
func Names(ctx context.Context, addr string) (epmdPort int, names []NameEntry, err error) {
	return (&Client{}).Names(ctx, addr)
}

func (c *Client) dial(ctx context.Context, addr string) (net.Conn, error) {
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("epmd: dial port mapper %s: %w", addr, err)
	}
	return conn, nil
}

// bindContext makes blocking I/O on conn honour ctx: the deadline of ctx applies, and
// cancelling ctx interrupts the I/O. The returned function undoes the binding and returns
// ctx's error when ctx ended the I/O.
func bindContext(ctx context.Context, conn net.Conn) (release func() error) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() error {
		stop()
		_ = conn.SetDeadline(time.Time{})
		return ctx.Err()
	}
}

// ioError prefers the context's error when the context ended the I/O.
func ioError(what, addr string, err, ctxErr error) error {
	if ctxErr != nil {
		return fmt.Errorf("epmd: %s at %s: %w", what, addr, ctxErr)
	}
	return fmt.Errorf("epmd: %s at %s: %w", what, addr, err)
}

// Register registers reg (defaults applied, see Registration) with the mapper at addr and
// returns the lease that holds the registration. The registration lives exactly as long as
// the lease's connection: [Lease.Close] unregisters, and [Lease.Done] is closed when the
// connection is lost for any reason. ctx bounds the registration exchange only.
//
// A refused registration (the name is held by a live node) returns an error matching
// ErrRefused (a *RefusedError).
func (c *Client) Register(ctx context.Context, addr string, reg Registration) (*Lease, error) {
	reg = reg.WithDefaults()
	if err := reg.Validate(); err != nil {
		return nil, err
	}
	req, err := EncodeRequest(&Alive2Req{Registration: reg})
	if err != nil {
		return nil, err
	}
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	release := bindContext(ctx, conn)
	resp, err := exchangeAlive2(conn, req)
	if ctxErr := release(); err != nil || ctxErr != nil {
		_ = conn.Close()
		if err == nil {
			err = ctxErr
		}
		return nil, ioError("register "+strconv.Quote(reg.Name), addr, err, ctxErr)
	}
	if resp.Result != 0 {
		_ = conn.Close()
		return nil, &RefusedError{Name: reg.Name, Result: resp.Result}
	}
	return newLease(conn, reg, resp.Creation), nil
}

func exchangeAlive2(conn net.Conn, req []byte) (Alive2Resp, error) {
	if _, err := conn.Write(req); err != nil {
		return Alive2Resp{}, err
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(conn, buf[:1]); err != nil {
		return Alive2Resp{}, unexpectedEOF(err)
	}
	n := alive2RespLen(buf[0])
	if n == 0 {
		return Alive2Resp{}, malformed("ALIVE2_RESP", "unexpected code %d", buf[0])
	}
	if _, err := io.ReadFull(conn, buf[1:n]); err != nil {
		return Alive2Resp{}, unexpectedEOF(err)
	}
	return DecodeAlive2Resp(buf[:n])
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// PortPlease asks the mapper at addr for the node registered as name. A name the mapper does
// not know gives an error matching ErrNotRegistered.
func (c *Client) PortPlease(ctx context.Context, addr, name string) (PortInfo, error) {
	req, err := EncodeRequest(&PortPlease2Req{Name: name})
	if err != nil {
		return PortInfo{}, err
	}
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return PortInfo{}, err
	}
	defer conn.Close()
	release := bindContext(ctx, conn)
	resp, err := exchangePort2(conn, req)
	if ctxErr := release(); err != nil || ctxErr != nil {
		if err == nil {
			err = ctxErr
		}
		return PortInfo{}, ioError("port please "+strconv.Quote(name), addr, err, ctxErr)
	}
	if resp.Result != 0 {
		return PortInfo{}, fmt.Errorf("%w: %q at %s (result %d)", ErrNotRegistered, name, addr, resp.Result)
	}
	return resp.Info, nil
}

// exchangePort2 reads the response field by field rather than to EOF, so it does not depend
// on the mapper closing the connection.
func exchangePort2(conn net.Conn, req []byte) (Port2Resp, error) {
	if _, err := conn.Write(req); err != nil {
		return Port2Resp{}, err
	}
	buf := make([]byte, 2, 64)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return Port2Resp{}, unexpectedEOF(err)
	}
	if buf[0] != CodePort2Resp || buf[1] != 0 {
		return DecodePort2Resp(buf)
	}
	// port:2 type:1 proto:1 high:2 low:2 nlen:2 | name | elen:2 | extra
	var err error
	if buf, err = readMore(conn, buf, 10); err != nil {
		return Port2Resp{}, err
	}
	nlen := int(binary.BigEndian.Uint16(buf[len(buf)-2:]))
	if buf, err = readMore(conn, buf, nlen+2); err != nil {
		return Port2Resp{}, err
	}
	elen := int(binary.BigEndian.Uint16(buf[len(buf)-2:]))
	if buf, err = readMore(conn, buf, elen); err != nil {
		return Port2Resp{}, err
	}
	return DecodePort2Resp(buf)
}

func readMore(r io.Reader, buf []byte, n int) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	if _, err := io.ReadFull(r, buf[start:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	return buf, nil
}

// Names asks the mapper at addr for every registered name. It returns the port the mapper
// says it listens on and the entries in the mapper's order.
func (c *Client) Names(ctx context.Context, addr string) (epmdPort int, names []NameEntry, err error) {
	req, err := EncodeRequest(&NamesReq{})
	if err != nil {
		return 0, nil, err
	}
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	release := bindContext(ctx, conn)
	var raw []byte
	if _, err = conn.Write(req); err == nil {
		raw, err = io.ReadAll(io.LimitReader(conn, maxNamesResponse+1))
	}
	if ctxErr := release(); err != nil || ctxErr != nil {
		if err == nil {
			err = ctxErr
		}
		return 0, nil, ioError("names", addr, err, ctxErr)
	}
	if len(raw) > maxNamesResponse {
		return 0, nil, fmt.Errorf("epmd: names at %s: response exceeds %d bytes", addr, maxNamesResponse)
	}
	resp, err := DecodeNamesResp(raw)
	if err != nil {
		return 0, nil, fmt.Errorf("epmd: names at %s: %w", addr, err)
	}
	return int(resp.EPMDPort), resp.Entries, nil
}

// Lease holds a registration: the name stays registered while the lease's connection to the
// mapper is open. It is safe for concurrent use.
type Lease struct {
	conn     net.Conn
	reg      Registration
	creation uint32

	done      chan struct{} // closed when the registration has ended
	exited    chan struct{} // closed when watch has returned
	closeOnce sync.Once
	mu        sync.Mutex
	err       error
}

func newLease(conn net.Conn, reg Registration, creation uint32) *Lease {
	l := &Lease{conn: conn, reg: reg, creation: creation, done: make(chan struct{}), exited: make(chan struct{})}
	go l.watch()
	return l
}

// watch waits for the connection to end. The mapper never sends anything after its answer,
// so any read that returns (data, EOF or error) ends the registration.
func (l *Lease) watch() {
	defer close(l.exited)
	var b [1]byte
	n, err := l.conn.Read(b[:])
	cause := fmt.Errorf("%w: %v", ErrLost, err)
	if n > 0 {
		cause = fmt.Errorf("%w: unexpected data from the port mapper", ErrLost)
	}
	l.end(cause)
}

func (l *Lease) end(cause error) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.err = cause
		l.mu.Unlock()
		_ = l.conn.Close()
		close(l.done)
	})
}

// Creation returns the creation the mapper assigned to this registration.
func (l *Lease) Creation() uint32 { return l.creation }

// Registration returns what was registered (defaults applied).
func (l *Lease) Registration() Registration { return l.reg }

// Done returns a channel closed when the registration has ended: the connection to the
// mapper was lost, or Close was called.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err returns nil while the registration holds, ErrClosed after Close, and an error matching
// ErrLost when the connection was lost.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close unregisters: it closes the connection, and the mapper frees the name. It returns
// once the lease's goroutine has finished. Close is idempotent.
func (l *Lease) Close() error {
	l.end(ErrClosed)
	<-l.exited
	return nil
}
