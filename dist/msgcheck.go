package dist

import (
	"fmt"

	"github.com/gotp/gotp/internal/msgcheck"
)

// checkMsgpack fails, wrapping ErrMalformed, unless b is exactly one msgpack value whose
// declared lengths all fit the bytes present and whose nesting is bounded (msgcheck.Check).
// Every decoder runs it before msgpack.Unmarshal so that a few hostile bytes (before
// authentication, for hellos) cannot make the decoder pre-allocate for a length they do not
// carry.
func checkMsgpack(b []byte) error {
	if err := msgcheck.Check(b); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
