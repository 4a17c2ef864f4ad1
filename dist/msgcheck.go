package dist

import (
	"encoding/binary"
	"fmt"
)

// checkMsgpack walks b as exactly one msgpack value and fails when a declared length exceeds
// the bytes left, a reserved byte appears, or bytes trail the value. Every decoder runs it
// before msgpack.Unmarshal so that a few hostile bytes (before authentication, for hellos)
// cannot make the decoder pre-allocate for a length they do not carry.
func checkMsgpack(b []byte) error {
	pending := 1 // values still to read
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("%w: msgpack length %d beyond the %d bytes left", ErrMalformed, n, len(b)-i)
		}
		return nil
	}
	// length reads an n-byte big-endian length at b[i:].
	length := func(n int) (uint64, error) {
		if err := need(uint64(n)); err != nil {
			return 0, err
		}
		var v uint64
		switch n {
		case 1:
			v = uint64(b[i])
		case 2:
			v = uint64(binary.BigEndian.Uint16(b[i:]))
		case 4:
			v = uint64(binary.BigEndian.Uint32(b[i:]))
		}
		i += n
		return v, nil
	}
	for pending > 0 {
		if i >= len(b) {
			return fmt.Errorf("%w: msgpack value cut short", ErrMalformed)
		}
		c := b[i]
		i++
		pending--
		var skip uint64 // payload bytes to skip
		var items uint64
		var err error
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			items = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			items = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			skip, err = length(1)
		case c == 0xc5 || c == 0xda:
			skip, err = length(2)
		case c == 0xc6 || c == 0xdb:
			skip, err = length(4)
		case c == 0xc7, c == 0xc8, c == 0xc9:
			skip, err = length(1 << (c - 0xc7))
			skip++ // the ext type byte
		case c == 0xca || c == 0xce || c == 0xd2:
			skip = 4
		case c == 0xcb || c == 0xcf || c == 0xd3:
			skip = 8
		case c == 0xcc || c == 0xd0:
			skip = 1
		case c == 0xcd || c == 0xd1:
			skip = 2
		case c >= 0xd4 && c <= 0xd8:
			skip = 1 + 1<<(c-0xd4)
		case c == 0xdc:
			items, err = length(2)
		case c == 0xdd:
			items, err = length(4)
		case c == 0xde:
			items, err = length(2)
			items *= 2
		case c == 0xdf:
			items, err = length(4)
			items *= 2
		default:
			return fmt.Errorf("%w: reserved msgpack byte 0x%02x", ErrMalformed, c)
		}
		if err != nil {
			return err
		}
		if err := need(skip); err != nil {
			return err
		}
		i += int(skip)
		if err := need(items); err != nil { // every item takes at least one byte
			return err
		}
		pending += int(items)
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d bytes after the msgpack value", ErrMalformed, len(b)-i)
	}
	return nil
}
