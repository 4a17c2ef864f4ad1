package nostrum

import (
	"os"
	"testing"
)

// unscaled reports whether the long runs with Discord's real windows were asked for:
//
//	NOSTRUM_UNSCALED=1 go test -run Unscaled -v -timeout 30m ./nostrum/...
//
// They take minutes, so they are not part of the default suite or CI.
func unscaled(t *testing.T) {
	t.Helper()
	if os.Getenv("NOSTRUM_UNSCALED") != "1" {
		t.Skip("long run with Discord's real windows; set NOSTRUM_UNSCALED=1 to run it")
	}
}

// TestUnscaledIdentifyPacing paces IDENTIFYs with the real 5 s window against a fake
// with the real window: no op 9, buckets in order, ≥ 5 s apart per bucket.
func TestUnscaledIdentifyPacing(t *testing.T) {
	unscaled(t)
	t.Run("max_concurrency=1", func(t *testing.T) { identifyPacing(t, 1, 3, 0) })
	t.Run("max_concurrency=4", func(t *testing.T) { identifyPacing(t, 4, 8, 0) })
}
