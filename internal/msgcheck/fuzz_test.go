package msgcheck

import (
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzCheck checks that Check never panics, that whatever it accepts stops being accepted when
// cut short, that Skip agrees with it, and that the decoder never panics on what it accepts.
func FuzzCheck(f *testing.F) {
	for _, b := range valid(f) {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte{0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0, 0})
	f.Add([]byte{0x91, 0x91, 0x91, 0x91, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b)
		n, skipErr := Skip(b, DefaultMaxDepth)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Check error %v does not wrap ErrMalformed", err)
			}
			if skipErr == nil && n == len(b) {
				t.Fatalf("Skip took all %d bytes but Check said %v", len(b), err)
			}
			return
		}
		if skipErr != nil || n != len(b) {
			t.Fatalf("Check accepted %d bytes, Skip = %d, %v", len(b), n, skipErr)
		}
		if Check(b[:len(b)-1]) == nil {
			t.Fatalf("Check accepted % x and its first %d bytes", b, len(b)-1)
		}
		var v any
		if msgpack.Unmarshal(b, &v) == nil {
			re, err := msgpack.Marshal(v)
			if err == nil && Check(re) != nil {
				t.Fatalf("Check rejects msgpack's re-encoding % x of % x: %v", re, b, Check(re))
			}
		}
	})
}
