package msgcheck

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// valid returns msgpack encodings of one value of every kind the format has.
func valid(t testing.TB) map[string][]byte {
	t.Helper()
	values := map[string]any{
		"nil": nil, "true": true, "false": false, "fixint": 1, "negfixint": -1, "uint8": 200,
		"uint16": 300, "int16": -40000, "uint32": 1 << 20, "uint64": uint64(1) << 40,
		"int64": int64(-1) << 40, "float32": float32(2), "float64": 1.5,
		"fixstr": "s", "str8": strings.Repeat("x", 40), "str16": strings.Repeat("y", 300),
		"str32": strings.Repeat("z", 70000), "bin8": []byte{1, 2}, "bin16": make([]byte, 300),
		"bin32": make([]byte, 70000), "fixarray": []any{1, "a", []any{2}},
		"array16": make([]any, 20), "array32": make([]int, 70000),
		"fixmap": map[string]any{"a": 1, "b": []byte("c")}, "map16": bigMap(20),
		"map32": bigMap(70000), "timestamp": time.Unix(1, 2), "timestamp96": time.Unix(1<<35, 5),
		"struct": struct {
			A int
			B []string
			C map[string][]byte
		}{1, []string{"x"}, map[string][]byte{"k": {9}}},
	}
	out := map[string][]byte{}
	for name, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %s: %v", name, err)
		}
		out[name] = b
	}
	// ext and fixext forms msgpack.Marshal does not produce for the values above.
	out["fixext1"] = []byte{0xd4, 5, 0}
	out["fixext16"] = append([]byte{0xd8, 5}, make([]byte, 16)...)
	out["ext8"] = []byte{0xc7, 3, 5, 1, 2, 3}
	out["ext16"] = append([]byte{0xc8, 1, 0, 5}, make([]byte, 256)...)
	out["ext32"] = append([]byte{0xc9, 0, 1, 0, 0, 5}, make([]byte, 65536)...)
	out["emptyext"] = []byte{0xc7, 0, 5}
	return out
}

func bigMap(n int) map[int]bool {
	m := map[int]bool{}
	for i := range n {
		m[i] = true
	}
	return m
}

func TestCheckAcceptsValid(t *testing.T) {
	for name, b := range valid(t) {
		if err := Check(b); err != nil {
			t.Errorf("Check(%s) = %v", name, err)
		}
		if n, err := Skip(append(b, 0xc0, 0xc1), DefaultMaxDepth); err != nil || n != len(b) {
			t.Errorf("Skip(%s + 2 bytes) = %d, %v; want %d, nil", name, n, err, len(b))
		}
	}
}

// TestCheckRejectsTruncatedAndTrailing cuts every valid encoding at every length.
func TestCheckRejectsTruncatedAndTrailing(t *testing.T) {
	for name, b := range valid(t) {
		step := max(1, len(b)/200) // long values: a sample of cuts
		for cut := 0; cut < len(b); cut += step {
			if err := Check(b[:cut]); !errors.Is(err, ErrMalformed) {
				t.Errorf("Check(%s cut to %d of %d bytes) = %v, want ErrMalformed", name, cut, len(b), err)
			}
		}
		if err := Check(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Check(%s + trailing byte) = %v, want ErrMalformed", name, err)
		}
	}
}

func TestCheckRejectsHostile(t *testing.T) {
	nested := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0xc0) }
	tests := []struct {
		name string
		in   []byte
		want string // in the error text
	}{
		{"empty", nil, "value cut short"},
		{"reserved c1", []byte{0xc1}, "reserved byte 0xc1"},
		{"str8 claims 255", []byte{0xd9, 0xff, 'a'}, "str length 255 beyond"},
		{"str16 claims 64k", []byte{0xda, 0xff, 0xff, 'a'}, "str length 65535 beyond"},
		{"str32 claims 4 GiB", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, "str length 4294967295 beyond"},
		{"fixstr claims 31", []byte{0xbf, 'a'}, "str length 31 beyond"},
		{"bin8 claims 200", []byte{0xc4, 200}, "bin length 200 beyond"},
		{"bin16 claims 64k", []byte{0xc5, 0xff, 0xff}, "bin length 65535 beyond"},
		{"bin32 claims 2 GiB", []byte{0xc6, 0x7f, 0xff, 0xff, 0xff, 0}, "bin length 2147483647 beyond"},
		{"ext8 claims 255", []byte{0xc7, 0xff, 5}, "ext length 256 beyond"},
		{"ext16 claims 64k", []byte{0xc8, 0xff, 0xff, 5}, "ext length 65536 beyond"},
		{"ext32 claims 4 GiB", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 5}, "ext length 4294967296 beyond"},
		{"fixext16 short", []byte{0xd8, 5, 1, 2}, "ext length 17 beyond"},
		{"array16 claims 64k", []byte{0xdc, 0xff, 0xff, 0xc0}, "array of 65535 values beyond"},
		{"array32 claims 4G", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, "array of 4294967295 values beyond"},
		{"map16 claims 64k pairs", []byte{0xde, 0xff, 0xff}, "map of 131070 values beyond"},
		{"map32 claims 4G pairs", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0, 0}, "map of 8589934590 values beyond"},
		{"fixmap claims 15 pairs", []byte{0x8f, 1, 2}, "map of 30 values beyond"},
		{"inner array too big for what follows", []byte{0x92, 0x93, 1, 2, 3}, "array of 3 values beyond"},
		{"str eats a sibling's byte", []byte{0x92, 0xa2, 'a', 'b'}, "str length 2 beyond"},
		{"length field cut", []byte{0xdb, 0xff, 0xff}, "length field cut short"},
		{"uint64 cut", []byte{0xcf, 1, 2}, "number length 8 beyond"},
		{"nested 65 deep", nested(65), "nested deeper than 64"},
		{"nested 100000 deep", nested(100000), "nested deeper than 64"},
		{"trailing byte", []byte{0xc0, 0xc0}, "1 bytes after the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in)
			var e *Error
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &e) {
				t.Fatalf("Check(% x) = %v, want an *Error wrapping ErrMalformed", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check(% x) = %q, want it to say %q", tt.in, err, tt.want)
			}
			if e.Offset < 0 || e.Offset > len(tt.in) {
				t.Errorf("offset %d outside the %d-byte input", e.Offset, len(tt.in))
			}
		})
	}
}

func TestCheckDepth(t *testing.T) {
	nested := func(n int) []byte { // n maps and arrays, alternating, around a nil
		var b []byte
		for i := range n {
			if i%2 == 0 {
				b = append(b, 0x91)
			} else {
				b = append(b, 0x81, 0x01)
			}
		}
		return append(b, 0xc0)
	}
	for _, tt := range []struct {
		depth, limit int
		ok           bool
	}{
		{0, 0, true}, {1, 0, false}, {1, 1, true}, {5, 4, false}, {5, 5, true}, {5, -1, false},
		{64, 64, true}, {65, 64, false}, {1000, 1000, true},
	} {
		err := CheckDepth(nested(tt.depth), tt.limit)
		if (err == nil) != tt.ok {
			t.Errorf("CheckDepth(%d deep, limit %d) = %v, want ok=%v", tt.depth, tt.limit, err, tt.ok)
		}
	}
	if err := Check(nested(DefaultMaxDepth)); err != nil {
		t.Errorf("Check(%d deep) = %v", DefaultMaxDepth, err)
	}
	// Empty containers count too: the decoder recurses into them all the same.
	if err := CheckDepth([]byte{0x91, 0x90}, 1); err == nil {
		t.Errorf("CheckDepth(an empty array in an array, 1) accepted")
	}
}

// TestCheckBoundsWhatTheDecoderAllocates shows the point of the check: 6 bytes it rejects make
// the msgpack decoder allocate the 64 MiB their header claims (logged, as that is the library's
// behaviour, not ours).
func TestCheckBoundsWhatTheDecoderAllocates(t *testing.T) {
	hostile := []byte{0xc6, 0x04, 0x00, 0x00, 0x00, 0} // bin32 claiming 64 MiB
	if err := Check(hostile); err == nil {
		t.Fatal("Check accepted a bin32 claiming 64 MiB in 6 bytes")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var v any
	err := msgpack.Unmarshal(hostile, &v)
	runtime.ReadMemStats(&after)
	t.Logf("unchecked, msgpack.Unmarshal of these 6 bytes allocated %d bytes and returned %v",
		after.TotalAlloc-before.TotalAlloc, err)
}

func BenchmarkCheck(b *testing.B) {
	in := valid(b)["struct"]
	frame, err := msgpack.Marshal(map[string]any{"kind": 3, "to": "node@host", "service": "svc",
		"ref": uint64(1) << 50, "data": make([]byte, 512)})
	if err != nil {
		b.Fatal(err)
	}
	for name, v := range map[string][]byte{"struct": in, "frame512": frame, "array70k": valid(b)["array32"]} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			b.ReportAllocs()
			for range b.N {
				if err := Check(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
