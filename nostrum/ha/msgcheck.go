package ha

import (
	"fmt"
)

// wellFormed walks b as one msgpack value and reports an error when a declared length or
// count exceeds the bytes left, a reserved byte appears, or bytes trail the value. The
// decoders run it first: the msgpack library allocates what a length claims before it reads,
// so a few malformed bytes could otherwise ask for gigabytes.
func wellFormed(b []byte) error {
	pos, open := 0, 1 // read position; values still to read
	left := func() uint64 { return uint64(len(b) - pos) }
	readLen := func(size int) (uint64, error) {
		if uint64(size) > left() {
			return 0, fmt.Errorf("length cut short at byte %d", pos)
		}
		var n uint64
		for _, c := range b[pos : pos+size] {
			n = n<<8 | uint64(c)
		}
		pos += size
		return n, nil
	}
	for ; open > 0; open-- {
		if pos >= len(b) {
			return fmt.Errorf("value cut short at byte %d", pos)
		}
		c := b[pos]
		pos++
		var payload, children uint64
		var err error
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3: // fixint, nil, bool
		case c <= 0x8f: // fixmap
			children = 2 * uint64(c-0x80)
		case c <= 0x9f: // fixarray
			children = uint64(c - 0x90)
		case c <= 0xbf: // fixstr
			payload = uint64(c - 0xa0)
		case c == 0xc4, c == 0xd9: // bin8, str8
			payload, err = readLen(1)
		case c == 0xc5, c == 0xda:
			payload, err = readLen(2)
		case c == 0xc6, c == 0xdb:
			payload, err = readLen(4)
		case c >= 0xc7 && c <= 0xc9: // ext8/16/32: length, then the type byte
			payload, err = readLen(1 << (c - 0xc7))
			payload++
		case c == 0xcc, c == 0xd0:
			payload = 1
		case c == 0xcd, c == 0xd1:
			payload = 2
		case c == 0xca, c == 0xce, c == 0xd2:
			payload = 4
		case c == 0xcb, c == 0xcf, c == 0xd3:
			payload = 8
		case c >= 0xd4 && c <= 0xd8: // fixext: type byte + 1..16
			payload = 1 + 1<<(c-0xd4)
		case c == 0xdc, c == 0xde: // array16, map16
			children, err = readLen(2)
		case c == 0xdd, c == 0xdf:
			children, err = readLen(4)
		default:
			return fmt.Errorf("reserved byte 0x%02x at %d", c, pos-1)
		}
		if c == 0xde || c == 0xdf {
			children *= 2
		}
		if err != nil {
			return err
		}
		if payload > left() || children > left()-payload { // each child takes a byte at least
			return fmt.Errorf("length %d beyond the %d bytes left at byte %d", max(payload, children), left(), pos)
		}
		pos += int(payload)
		open += int(children)
	}
	if pos != len(b) {
		return fmt.Errorf("%d bytes after the value", len(b)-pos)
	}
	return nil
}
