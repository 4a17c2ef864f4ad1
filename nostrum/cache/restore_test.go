package cache

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/gotp/gotp/internal/msgcheck"
)

// TestRestoreHugeLength: a snapshot of a few bytes claiming a huge length fails before the
// decoder sees it, with an error naming the restore, and leaves the cache as it was.
func TestRestoreHugeLength(t *testing.T) {
	key := func(k string) string { return string([]byte{byte(0xa0 + len(k))}) + k } // fixstr
	for name, in := range map[string]string{
		"guilds map32 of 1M":       "\x81" + key("guilds") + "\xdf\x00\x10\x00\x00",
		"unavailable array32 16M":  "\x81" + key("unavailable") + "\xdd\x01\x00\x00\x00",
		"username str32 of 2 GiB":  "\x81" + key("me") + "\x81" + key("username") + "\xdb\x7f\xff\xff\xff",
		"nested 100000 deep":       strings.Repeat("\x91", 100000) + "\xc0",
		"valid snapshot + garbage": "\x81" + key("v") + "\x01\xc1",
	} {
		c := New()
		c.me.Username = "kept"
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err = c.Restore([]byte(in))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, msgcheck.ErrMalformed) || !strings.HasPrefix(err.Error(), "cache: restore: malformed msgpack") {
			t.Errorf("%s: err = %v, want a msgcheck.ErrMalformed naming the restore", name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Errorf("%s: %d-byte snapshot made Restore allocate %d bytes", name, len(in), n)
		}
		if c.Me().Username != "kept" {
			t.Errorf("%s: a failed restore changed the cache", name)
		}
	}
}
