package nostrum

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/gotp/gotp/internal/msgcheck"
)

// allocated returns the bytes f allocates (process-wide, so an upper bound).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeResumeInfosRoundTrip(t *testing.T) {
	in := []ResumeInfo{{ShardID: 0, ShardCount: 2, SessionID: "a", ResumeURL: "wss://r", Seq: 7},
		{ShardID: 1, ShardCount: 2, SessionID: "b", GatewayURL: "wss://g", Seq: 9}}
	b, err := EncodeResumeInfos(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeResumeInfos(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("DecodeResumeInfos = %+v, want %+v", out, in)
	}
	if _, err := DecodeResumeInfos(append(b, 0)); !errors.Is(err, msgcheck.ErrMalformed) {
		t.Fatalf("trailing byte: err = %v, want msgcheck.ErrMalformed", err)
	}
}

// TestDecodeResumeInfosHugeLength: a few bytes claiming a huge length fail before the decoder
// sees them. Unchecked, the 5-byte array made msgpack allocate ~144 bytes per claimed
// ResumeInfo (9.6 GB for a claim of 2^26; the claims here are kept small enough that a
// regression costs this test ~150 MB, not the machine).
func TestDecodeResumeInfosHugeLength(t *testing.T) {
	for name, in := range map[string][]byte{
		"array32 of 1M infos": {0xdd, 0x00, 0x10, 0x00, 0x00},
		"session id str32 of 2 GiB": {0x91, 0x81, 0xaa, 's', 'e', 's', 's', 'i', 'o', 'n', '_', 'i', 'd',
			0xdb, 0x7f, 0xff, 0xff, 0xff},
		"nested 100000 deep": []byte(strings.Repeat("\x91", 100000) + "\xc0"),
	} {
		var err error
		n := allocated(func() { _, err = DecodeResumeInfos(in) })
		if !errors.Is(err, msgcheck.ErrMalformed) || !strings.HasPrefix(err.Error(), "nostrum: decoding resume infos: malformed msgpack") {
			t.Errorf("%s: err = %v, want a msgcheck.ErrMalformed naming the resume infos", name, err)
		}
		if n > 4<<20 {
			t.Errorf("%s: %d-byte input made DecodeResumeInfos allocate %d bytes", name, len(in), n)
		}
	}
}
