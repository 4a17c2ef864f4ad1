package dist

import (
	"bufio"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrMalformed is matched (errors.Is) by every error about bytes a peer sent that do not
// decode: such a frame closes its link, never the node.
var ErrMalformed = errors.New("malformed frame")

// frameOverhead is what a frame may add to its payload: the msgpack envelope, a service name
// and the AES-GCM tag.
const frameOverhead = 64 << 10

// frameKind says what a link frame carries.
type frameKind uint8

const (
	kindHeartbeat frameKind = 1 // nothing: keeps the link's read deadline alive
	kindSend      frameKind = 2 // one-way message for Service
	kindRequest   frameKind = 3 // request ID for Service; TimeoutMS is the caller's deadline
	kindReply     frameKind = 4 // successful reply to request ID
	kindError     frameKind = 5 // remote error for request ID (Err)
	kindLeaving   frameKind = 6 // the sender is closing gracefully (reason left)
	kindMax       frameKind = kindLeaving
)

// frame is the body of one link frame (msgpack, as an array).
type frame struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Kind      frameKind
	ID        uint64
	Service   string
	TimeoutMS int64
	Data      []byte
	Err       string
}

func encodeFrame(f *frame) ([]byte, error) {
	return msgpack.Marshal(f)
}

// decodeFrame decodes and checks a frame body.
func decodeFrame(b []byte) (frame, error) {
	var f frame
	if err := checkMsgpack(b); err != nil {
		return frame{}, err
	}
	if err := msgpack.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if f.Kind == 0 || f.Kind > kindMax {
		return frame{}, fmt.Errorf("%w: unknown kind %d", ErrMalformed, f.Kind)
	}
	if len(f.Service) > 255 {
		return frame{}, fmt.Errorf("%w: service name of %d bytes", ErrMalformed, len(f.Service))
	}
	if f.TimeoutMS < 0 {
		return frame{}, fmt.Errorf("%w: negative timeout", ErrMalformed)
	}
	return f, nil
}

// framer reads and writes length-prefixed frames on a connection, sealing and opening them
// with AES-GCM when keys are set (no TLS) and counting nonces per direction.
type framer struct {
	conn    net.Conn
	r       *bufio.Reader
	maxWire int // cap on one frame's wire size

	wmu      sync.Mutex
	broken   bool        // a write stopped mid-frame: the stream is unusable
	seal     cipher.AEAD // nil: plaintext (TLS, or during the handshake)
	sealSeq  uint64
	open     cipher.AEAD
	openSeq  uint64
	writeBuf []byte
}

func newFramer(conn net.Conn, maxWire int) *framer {
	return &framer{conn: conn, r: bufio.NewReaderSize(conn, 32<<10), maxWire: maxWire}
}

func gcmNonce(seq uint64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], seq)
	return n
}

// writeFrame writes body as one frame. deadline zero means none.
func (f *framer) writeFrame(body []byte, deadline time.Time) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.broken {
		return errors.New("stream broken by an earlier partial write")
	}
	buf := f.writeBuf[:0]
	buf = append(buf, 0, 0, 0, 0)
	if f.seal != nil {
		buf = f.seal.Seal(buf, gcmNonce(f.sealSeq), body, nil)
		f.sealSeq++
	} else {
		buf = append(buf, body...)
	}
	n := len(buf) - 4
	if n > f.maxWire {
		return fmt.Errorf("frame of %d bytes over the cap of %d", n, f.maxWire)
	}
	binary.BigEndian.PutUint32(buf, uint32(n))
	if cap(buf) <= 64<<10 {
		f.writeBuf = buf
	}
	_ = f.conn.SetWriteDeadline(deadline)
	n, err := f.conn.Write(buf)
	if err != nil && n > 0 {
		f.broken = true
	}
	return err
}

// readFrame reads one frame and returns its (opened) body. Only one goroutine reads.
func (f *framer) readFrame(deadline time.Time) ([]byte, error) {
	_ = f.conn.SetReadDeadline(deadline)
	return readFramed(f.r, f.maxWire, f.open, &f.openSeq)
}

// readFramed reads a 4-byte big-endian length and that many bytes, then opens them with aead
// when it is set.
func readFramed(r io.Reader, maxWire int, aead cipher.AEAD, seq *uint64) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > maxWire {
		return nil, fmt.Errorf("%w: frame of %d bytes over the cap of %d", ErrMalformed, n, maxWire)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if aead == nil {
		return buf, nil
	}
	body, err := aead.Open(buf[:0], gcmNonce(*seq), buf, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrMalformed)
	}
	*seq++
	return body, nil
}
