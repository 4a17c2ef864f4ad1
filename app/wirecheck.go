package app

import (
	"encoding/binary"
	"fmt"
)

// maxDepth bounds the nesting of a peer message.
const maxDepth = 32

// checkMsgpack walks one msgpack value in b without decoding it and fails when a declared
// length exceeds the bytes that remain or the nesting is deeper than maxDepth, so a hostile
// length never makes the decoder allocate gigabytes (found by FuzzDecodeMsgs).
func checkMsgpack(b []byte) error {
	stack := []int{1} // values still to read at each open level
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("%w: length %d beyond the %d bytes left", errBadMessage, n, len(b)-i)
		}
		return nil
	}
	for len(stack) > 0 {
		if stack[len(stack)-1] == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		stack[len(stack)-1]--
		if i >= len(b) {
			return fmt.Errorf("%w: truncated", errBadMessage)
		}
		t := b[i]
		i++
		var skip, count uint64 // bytes to skip; values to push
		var lenBytes int
		push := false
		switch {
		case t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3:
		case t >= 0x80 && t <= 0x8f:
			count, push = 2*uint64(t&0x0f), true
		case t >= 0x90 && t <= 0x9f:
			count, push = uint64(t&0x0f), true
		case t >= 0xa0 && t <= 0xbf:
			skip = uint64(t & 0x1f)
		case t == 0xc4 || t == 0xd9:
			lenBytes = 1
		case t == 0xc5 || t == 0xda:
			lenBytes = 2
		case t == 0xc6 || t == 0xdb:
			lenBytes = 4
		case t == 0xc7:
			lenBytes, skip = 1, 1
		case t == 0xc8:
			lenBytes, skip = 2, 1
		case t == 0xc9:
			lenBytes, skip = 4, 1
		case t == 0xca || t == 0xce || t == 0xd2:
			skip = 4
		case t == 0xcb || t == 0xcf || t == 0xd3:
			skip = 8
		case t == 0xcc || t == 0xd0:
			skip = 1
		case t == 0xcd || t == 0xd1:
			skip = 2
		case t >= 0xd4 && t <= 0xd8:
			skip = 1 + 1<<(t-0xd4)
		case t == 0xdc || t == 0xde:
			lenBytes, push = 2, true
		case t == 0xdd || t == 0xdf:
			lenBytes, push = 4, true
		default:
			return fmt.Errorf("%w: byte 0x%x", errBadMessage, t)
		}
		if lenBytes > 0 {
			if err := need(uint64(lenBytes)); err != nil {
				return err
			}
			var n uint64
			switch lenBytes {
			case 1:
				n = uint64(b[i])
			case 2:
				n = uint64(binary.BigEndian.Uint16(b[i:]))
			case 4:
				n = uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += lenBytes
			if push {
				count = n
				if t == 0xde || t == 0xdf {
					count = 2 * n
				}
			} else {
				skip += n
			}
		}
		if push {
			if err := need(count); err != nil { // every value takes at least a byte
				return err
			}
			if len(stack) >= maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", errBadMessage, maxDepth)
			}
			stack = append(stack, int(count))
			continue
		}
		if err := need(skip); err != nil {
			return err
		}
		i += int(skip)
	}
	return nil
}
