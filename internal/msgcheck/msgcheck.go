// Package msgcheck walks msgpack bytes without decoding them and rejects input whose declared
// lengths exceed the bytes present or whose nesting is too deep.
//
// The msgpack decoder (vmihailenco/msgpack/v5) allocates whatever a str, bin, ext, array or
// map header claims before it reads the payload, so a handful of hostile bytes can make it
// allocate gigabytes; and it recurses once per nesting level, so a long run of one-element
// arrays can make it grow a huge stack. Run Check on untrusted bytes before msgpack.Unmarshal:
// once Check accepts b, every length in b is backed by bytes that are really there (each value
// inside an array or map takes at least one), so what the decoder allocates is bounded by
// len(b) times the size of the largest Go type it decodes into.
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
//
// open[d] counts the values still to read at nesting level d and pending is their sum. Every
// value takes at least one byte, so pending may never exceed the bytes left: an oversized
// length or count fails at its header, not at the end of the input.
func Skip(b []byte, maxDepth int) (int, error) {
	var buf [17]uint64
	open := append(buf[:0], 1)
	pending := uint64(1)
	i := 0
	for len(open) > 0 {
		top := len(open) - 1
		if open[top] == 0 {
			open = open[:top]
			continue
		}
		open[top]--
		pending--
		at := i
		if i >= len(b) {
			return 0, fail(at, "value cut short")
		}
		h := header(b[i])
		i++
		if h.kind == reserved {
			return 0, fail(at, "reserved byte 0x%02x", b[at])
		}
		n := uint64(h.size) // payload bytes, or values inside a container
		if h.lenSize > 0 {
			if int(h.lenSize) > len(b)-i {
				return 0, fail(at, "%s length field cut short", h.kind)
			}
			switch h.lenSize {
			case 1:
				n += uint64(b[i])
			case 2:
				n += uint64(binary.BigEndian.Uint16(b[i:]))
			default:
				n += uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += int(h.lenSize)
		}
		left := uint64(len(b) - i)
		if pending > left { // the values still to read need a byte each
			return 0, fail(at, "%d values cut short", pending)
		}
		if h.kind < array {
			if n > left-pending {
				return 0, fail(at, "%s length %d beyond the %d bytes left", h.kind, n, left)
			}
			i += int(n)
			continue
		}
		if h.kind == mapping {
			n *= 2
		}
		if n > left-pending {
			return 0, fail(at, "%s of %d values beyond the %d bytes left", h.kind, n, left)
		}
		if len(open) > maxDepth {
			return 0, fail(at, "nested deeper than %d", max(maxDepth, 0))
		}
		open = append(open, n)
		pending += n
	}
	return i, nil
}

func fail(at int, format string, args ...any) *Error {
	return &Error{Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// kind is the kind of a msgpack value, as far as the walk cares.
type kind uint8

const (
	reserved kind = iota // 0xc1
	scalar               // nil, bool, int, float: a fixed payload
	str
	bin
	ext // and fixext; its size counts the type byte
	array
	mapping
)

func (k kind) String() string {
	return [...]string{"reserved", "number", "str", "bin", "ext", "array", "map"}[k]
}

// head is what a header byte says.
type head struct {
	kind    kind
	size    uint8 // fixed payload bytes or values (map: pairs), added to the length field
	lenSize uint8 // bytes of the big-endian length field that follows: 0, 1, 2 or 4
}

// header decodes the first byte of a value.
func header(c byte) head {
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixint, nil, bool
		return head{kind: scalar}
	case c <= 0x8f:
		return head{kind: mapping, size: c & 0x0f}
	case c <= 0x9f:
		return head{kind: array, size: c & 0x0f}
	case c <= 0xbf:
		return head{kind: str, size: c & 0x1f}
	case c == 0xc1:
		return head{kind: reserved}
	case c <= 0xc6: // bin8/16/32
		return head{kind: bin, lenSize: 1 << (c - 0xc4)}
	case c <= 0xc9: // ext8/16/32: the length, then the type byte
		return head{kind: ext, size: 1, lenSize: 1 << (c - 0xc7)}
	case c == 0xcc, c == 0xd0:
		return head{kind: scalar, size: 1}
	case c == 0xcd, c == 0xd1:
		return head{kind: scalar, size: 2}
	case c == 0xca, c == 0xce, c == 0xd2:
		return head{kind: scalar, size: 4}
	case c == 0xcb, c == 0xcf, c == 0xd3:
		return head{kind: scalar, size: 8}
	case c <= 0xd8: // fixext1..16: the type byte, then 1..16 bytes
		return head{kind: ext, size: 1 + 1<<(c-0xd4)}
	case c <= 0xdb: // str8/16/32
		return head{kind: str, lenSize: 1 << (c - 0xd9)}
	case c <= 0xdd: // array16/32
		return head{kind: array, lenSize: 2 << (c - 0xdc)}
	default: // map16/32
		return head{kind: mapping, lenSize: 2 << (c - 0xde)}
	}
}
