package app

import (
	"fmt"

	"github.com/gotp/gotp/internal/msgcheck"
)

// maxDepth bounds the nesting of a peer message (containers enclosing one another).
const maxDepth = 31

// checkMsgpack walks the first msgpack value in b without decoding it and fails when a
// declared length exceeds the bytes that remain or the nesting is deeper than maxDepth, so a
// hostile length never makes the decoder allocate gigabytes (found by FuzzDecodeMsgs).
// Trailing bytes are left to the decoder, as before.
func checkMsgpack(b []byte) error {
	if _, err := msgcheck.Skip(b, maxDepth); err != nil {
		return fmt.Errorf("%w: %v", errBadMessage, err)
	}
	return nil
}
