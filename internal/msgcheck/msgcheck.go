// Package msgcheck walks msgpack bytes without decoding them and rejects input whose declared
// lengths exceed the bytes present or whose nesting is too deep.
//
// The msgpack decoder (vmihailenco/msgpack/v5) allocates whatever a str, bin, ext, array or
// map header claims before it reads the payload, so a handful of hostile bytes can make it
// allocate gigabytes; and it recurses once per nesting level, so a long run of one-element
// arrays can make it grow a huge stack. Run Check on untrusted bytes before msgpack.Unmarshal:
// once Check accepts b, every length in b is backed by bytes that are really there, so what the
// decoder allocates is bounded by a small multiple of len(b).
//
// The walk is iterative, allocation-free for nesting up to 16 levels, and linear in len(b).
package msgcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// DefaultMaxDepth is the nesting limit Check applies: the most arrays and maps that may
// enclose one another. Every message gotp encodes nests far less deeply.
const DefaultMaxDepth = 64

// ErrMalformed is wrapped by every error this package returns.
var ErrMalformed = errors.New("malformed msgpack")

// Error says what is wrong with the input and where. It unwraps to ErrMalformed.
type Error struct {
	// Offset is the byte offset in the input at which the fault was found.
	Offset int
	// Reason says what is wrong, in lower case ("str length 4294967295 beyond the 3 bytes left").
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("malformed msgpack at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap returns ErrMalformed.
func (e *Error) Unwrap() error { return ErrMalformed }

// Check reports whether b holds exactly one well-formed msgpack value, nested at most
// DefaultMaxDepth deep, with no bytes after it. The error, if any, is an *Error.
func Check(b []byte) error {
	return CheckDepth(b, DefaultMaxDepth)
}

// CheckDepth is Check with a nesting limit of maxDepth arrays and maps (0: scalars only;
// a negative limit is treated as 0).
func CheckDepth(b []byte, maxDepth int) error {
	n, err := Skip(b, maxDepth)
	if err != nil {
		return err
	}
	if n != len(b) {
		return &Error{Offset: n, Reason: fmt.Sprintf("%d bytes after the value", len(b)-n)}
	}
	return nil
}

// Skip walks the first msgpack value in b, nested at most maxDepth deep, and returns the number
// of bytes it takes. Bytes after that value are not looked at; use it to split a stream of
// values or where trailing bytes are tolerated. The error, if any, is an *Error.
func Skip(b []byte, maxDepth int) (int, error) {
	w := walker{b: b}
	return w.walk(max(maxDepth, 0))
}

// walker holds the state of one walk.
type walker struct {
	b []byte
	i int // read position
}

// left is the number of unread bytes.
func (w *walker) left() uint64 { return uint64(len(w.b) - w.i) }

func (w *walker) fail(at int, format string, args ...any) *Error {
	return &Error{Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// walk reads one value. open[d] counts the values still to read at nesting level d and
// pending is their sum. Every value takes at least one byte, so pending may never exceed the
// bytes left: an oversized length or count fails at its header, not at the end of the input.
func (w *walker) walk(maxDepth int) (int, error) {
	var buf [17]uint64
	open := append(buf[:0], 1)
	pending := uint64(1)
	for len(open) > 0 {
		if open[len(open)-1] == 0 {
			open = open[:len(open)-1]
			continue
		}
		open[len(open)-1]--
		pending--
		at := w.i
		if w.i >= len(w.b) {
			return 0, w.fail(at, "value cut short")
		}
		h, err := w.header()
		if err != nil {
			return 0, err
		}
		if pending > w.left() { // the values still to read need a byte each
			return 0, w.fail(at, "%d values cut short", pending)
		}
		if h.payload > w.left()-pending {
			return 0, w.fail(at, "%s length %d beyond the %d bytes left", h.kind, h.payload, w.left())
		}
		w.i += int(h.payload)
		if !h.container {
			continue
		}
		if h.children > w.left()-pending {
			return 0, w.fail(at, "%s of %d values beyond the %d bytes left", h.kind, h.children, w.left())
		}
		if len(open) > maxDepth {
			return 0, w.fail(at, "nested deeper than %d", maxDepth)
		}
		open = append(open, h.children)
		pending += h.children
	}
	return w.i, nil
}

// head describes one value's header.
type head struct {
	kind      string // for errors
	payload   uint64 // bytes after the header that belong to this value
	container bool   // array or map
	children  uint64 // values inside it (twice the pairs of a map)
}

// header reads the header at w.b[w.i], which exists, and moves past it.
func (w *walker) header() (head, error) {
	at := w.i
	c := w.b[w.i]
	w.i++
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixint, nil, bool
		return head{kind: "scalar"}, nil
	case c <= 0x8f:
		return head{kind: "map", container: true, children: 2 * uint64(c&0x0f)}, nil
	case c <= 0x9f:
		return head{kind: "array", container: true, children: uint64(c & 0x0f)}, nil
	case c <= 0xbf:
		return head{kind: "str", payload: uint64(c & 0x1f)}, nil
	case c == 0xc4, c == 0xc5, c == 0xc6:
		n, err := w.length(1 << (c - 0xc4))
		return head{kind: "bin", payload: n}, err
	case c == 0xc7, c == 0xc8, c == 0xc9:
		n, err := w.length(1 << (c - 0xc7))
		return head{kind: "ext", payload: n + 1}, err // the type byte, then n bytes
	case c == 0xcc, c == 0xd0:
		return head{kind: "int", payload: 1}, nil
	case c == 0xcd, c == 0xd1:
		return head{kind: "int", payload: 2}, nil
	case c == 0xca, c == 0xce, c == 0xd2:
		return head{kind: "number", payload: 4}, nil
	case c == 0xcb, c == 0xcf, c == 0xd3:
		return head{kind: "number", payload: 8}, nil
	case c >= 0xd4 && c <= 0xd8:
		return head{kind: "fixext", payload: 1 + 1<<(c-0xd4)}, nil
	case c == 0xd9, c == 0xda, c == 0xdb:
		n, err := w.length(1 << (c - 0xd9))
		return head{kind: "str", payload: n}, err
	case c == 0xdc, c == 0xdd:
		n, err := w.length(2 << (c - 0xdc))
		return head{kind: "array", container: true, children: n}, err
	case c == 0xde, c == 0xdf:
		n, err := w.length(2 << (c - 0xde))
		return head{kind: "map", container: true, children: 2 * n}, err
	}
	return head{}, w.fail(at, "reserved byte 0x%02x", c)
}

// length reads a size-byte big-endian length.
func (w *walker) length(size int) (uint64, error) {
	if uint64(size) > w.left() {
		return 0, w.fail(w.i-1, "length field cut short")
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(w.b[w.i])
	case 2:
		n = uint64(binary.BigEndian.Uint16(w.b[w.i:]))
	default:
		n = uint64(binary.BigEndian.Uint32(w.b[w.i:]))
	}
	w.i += size
	return n, nil
}
