package epmd

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// cat concatenates byte slices and strings, for readable wire fixtures.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case rune:
			b = append(b, byte(v))
		default:
			panic("cat: unsupported part")
		}
	}
	return b
}

func TestEncodeRequestWire(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want []byte
	}{
		{
			name: "alive2 normal node",
			req: &Alive2Req{Registration{Name: "joe", Port: 0x1234, NodeType: NodeTypeNormal,
				HighestVersion: 6, LowestVersion: 5}},
			// length 16: 'x' port(2) type proto high(2) low(2) nlen(2) "joe" elen(2)
			want: cat(0, 16, 'x', 0x12, 0x34, 77, 0, 0, 6, 0, 5, 0, 3, "joe", 0, 0),
		},
		{
			name: "alive2 hidden with extra",
			req: &Alive2Req{Registration{Name: "a", Port: 1, NodeType: NodeTypeHidden,
				HighestVersion: 5, LowestVersion: 5, Extra: []byte{9, 8}}},
			want: cat(0, 16, 'x', 0, 1, 72, 0, 0, 5, 0, 5, 0, 1, "a", 0, 2, 9, 8),
		},
		{name: "port please", req: &PortPlease2Req{Name: "joe"}, want: cat(0, 4, 'z', "joe")},
		{name: "names", req: &NamesReq{}, want: cat(0, 1, 'n')},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeRequest(tc.req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("EncodeRequest = %v, want %v", got, tc.want)
			}
			back, err := DecodeRequest(got[2:])
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if !reflect.DeepEqual(back, tc.req) {
				t.Fatalf("round trip = %#v, want %#v", back, tc.req)
			}
			viaReader, err := ReadRequest(bytes.NewReader(got), 0)
			if err != nil || !reflect.DeepEqual(viaReader, tc.req) {
				t.Fatalf("ReadRequest = %#v, %v", viaReader, err)
			}
		})
	}
}

func TestEncodeRequestRefusesWhatTheWireCannotCarry(t *testing.T) {
	long := strings.Repeat("é", MaxNameChars+1) // 256 characters, 512 bytes
	tests := []struct {
		name string
		req  Request
	}{
		{"nil", nil},
		{"empty name", &PortPlease2Req{}},
		{"name too many characters", &PortPlease2Req{Name: long}},
		{"name too many bytes", &PortPlease2Req{Name: strings.Repeat("a", MaxNameBytes+1)}},
		{"name with NUL", &PortPlease2Req{Name: "a\x00b"}},
		{"name with newline", &Alive2Req{Registration{Name: "a\nb", Port: 1}}},
		{"invalid utf8", &Alive2Req{Registration{Name: "\xff", Port: 1}}},
		{"port too big", &Alive2Req{Registration{Name: "a", Port: 70000}}},
		{"negative port", &Alive2Req{Registration{Name: "a", Port: -1}}},
		{"extra too long", &Alive2Req{Registration{Name: "a", Port: 1, Extra: make([]byte, MaxExtraBytes+1)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeRequest(tc.req)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("EncodeRequest = %v, %v; want ErrMalformed", b, err)
			}
		})
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	alive := func(tail ...any) []byte {
		return cat(append([]any{'x', 0, 1, 77, 0, 0, 6, 0, 5}, tail...)...)
	}
	tests := []struct {
		name string
		body []byte
		want string // part of the error text
	}{
		{"empty", nil, "empty body"},
		{"unknown code", []byte{'k'}, "unknown code 107"},
		{"names with trailing", []byte{'n', 0}, "trailing"},
		{"alive2 short", []byte{'x', 0, 1}, "need at least 13"},
		{"alive2 name length past end", alive(0, 9, "ab", 0, 0), "name length 9 exceeds"},
		{"alive2 extra length missing", alive(0, 2, "ab"), "extra length missing"},
		{"alive2 extra past end", alive(0, 2, "ab", 0, 5, 1), "extra length 5 exceeds"},
		{"alive2 trailing bytes", alive(0, 2, "ab", 0, 0, 7), "1 trailing bytes"},
		{"alive2 empty name", alive(0, 0, 0, 0), "empty node name"},
		{"alive2 NUL in name", alive(0, 2, "a\x00", 0, 0), "NUL"},
		{"port please empty", []byte{'z'}, "empty node name"},
		{"port please only NUL", []byte{'z', 0}, "empty node name"},
		{"port please NUL inside", []byte{'z', 'a', 0, 'b'}, "NUL"},
		{"port please bad utf8", []byte{'z', 0xc3}, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(tc.body)
			var m *MalformedError
			if !errors.As(err, &m) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRequest = %#v, %v; want *MalformedError", r, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodePortPleaseToleratesOneTrailingNUL(t *testing.T) {
	r, err := DecodeRequest([]byte{'z', 'j', 'o', 'e', 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.(*PortPlease2Req).Name; got != "joe" {
		t.Fatalf("name = %q, want joe", got)
	}
}

func TestReadRequestLimits(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr error
	}{
		{"zero length", []byte{0, 0}, 0, ErrMalformed},
		{"above limit", []byte{0x0b, 0xf2}, 0, ErrMalformed}, // 3058 > MaxRequestSize
		{"above custom limit", cat(0, 5, 'z', "abcd"), 4, ErrMalformed},
		{"truncated header", []byte{0}, 0, io.ErrUnexpectedEOF},
		{"nothing", nil, 0, io.EOF},
		{"truncated body", []byte{0, 5, 'z', 'a'}, 0, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRequest(bytes.NewReader(tc.in), tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadRequest err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestAlive2RespCodec(t *testing.T) {
	tests := []struct {
		name string
		resp Alive2Resp
		wire []byte
	}{
		{"16-bit ok", Alive2Resp{Result: 0, Creation: 3}, []byte{'y', 0, 0, 3}},
		{"16-bit refused", Alive2Resp{Result: 1, Creation: 99}, []byte{'y', 1, 0, 99}},
		{"32-bit ok", Alive2Resp{Creation: 0x6b0c4d2f, Extended: true}, []byte{'v', 0, 0x6b, 0x0c, 0x4d, 0x2f}},
		{"32-bit refused", Alive2Resp{Result: 1, Creation: 99, Extended: true}, []byte{'v', 1, 0, 0, 0, 99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeAlive2Resp(tc.resp)
			if err != nil || !bytes.Equal(got, tc.wire) {
				t.Fatalf("EncodeAlive2Resp = %v, %v; want %v", got, err, tc.wire)
			}
			back, err := DecodeAlive2Resp(tc.wire)
			if err != nil || back != tc.resp {
				t.Fatalf("DecodeAlive2Resp = %+v, %v; want %+v", back, err, tc.resp)
			}
		})
	}
	if _, err := EncodeAlive2Resp(Alive2Resp{Creation: 1 << 16}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("16-bit response with a 17-bit creation: err = %v, want ErrMalformed", err)
	}
	for _, bad := range [][]byte{nil, {'y', 0, 0}, {'y', 0, 0, 1, 2}, {'v', 0, 0, 0, 1}, {'w', 0, 0, 0}} {
		if r, err := DecodeAlive2Resp(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeAlive2Resp(%v) = %+v, %v; want ErrMalformed", bad, r, err)
		}
	}
}

func TestPort2RespCodec(t *testing.T) {
	found := Port2Resp{Info: PortInfo{Name: "joe", Port: 0x1234, NodeType: NodeTypeNormal,
		HighestVersion: 6, LowestVersion: 5, Extra: []byte{1}}}
	foundWire := cat('w', 0, 0x12, 0x34, 77, 0, 0, 6, 0, 5, 0, 3, "joe", 0, 1, 1)
	tests := []struct {
		name string
		resp Port2Resp
		wire []byte
	}{
		{"found", found, foundWire},
		{"not found", Port2Resp{Result: 1}, []byte{'w', 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodePort2Resp(tc.resp)
			if err != nil || !bytes.Equal(got, tc.wire) {
				t.Fatalf("EncodePort2Resp = %v, %v; want %v", got, err, tc.wire)
			}
			back, err := DecodePort2Resp(tc.wire)
			if err != nil || !reflect.DeepEqual(back, tc.resp) {
				t.Fatalf("DecodePort2Resp = %+v, %v; want %+v", back, err, tc.resp)
			}
		})
	}
	bad := map[string][]byte{
		"empty":              nil,
		"one byte":           {'w'},
		"wrong code":         {'y', 1},
		"error with trailer": {'w', 1, 0},
		"found but short":    foundWire[:8],
		"found with trailer": append(append([]byte(nil), foundWire...), 0),
	}
	for name, b := range bad {
		if r, err := DecodePort2Resp(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodePort2Resp = %+v, %v; want ErrMalformed", name, r, err)
		} else if !strings.Contains(err.Error(), "PORT2_RESP") {
			t.Errorf("%s: error %q does not name PORT2_RESP", name, err)
		}
	}
}

func TestNamesRespCodec(t *testing.T) {
	resp := NamesResp{EPMDPort: 4369, Entries: []NameEntry{{"joe", 40001}, {"has space", 7}}}
	wire := cat(0, 0, 0x11, 0x11, "name joe at port 40001\nname has space at port 7\n")
	got, err := EncodeNamesResp(resp)
	if err != nil || !bytes.Equal(got, wire) {
		t.Fatalf("EncodeNamesResp = %q, %v; want %q", got, err, wire)
	}
	back, err := DecodeNamesResp(wire)
	if err != nil || !reflect.DeepEqual(back, resp) {
		t.Fatalf("DecodeNamesResp = %+v, %v", back, err)
	}
	empty, err := DecodeNamesResp([]byte{0, 0, 0x11, 0x11})
	if err != nil || empty.EPMDPort != 4369 || len(empty.Entries) != 0 {
		t.Fatalf("empty NAMES = %+v, %v", empty, err)
	}
	bad := map[string]string{
		"short":           "\x00\x00\x11",
		"no newline":      "\x00\x00\x11\x11name a at port 1",
		"bad prefix":      "\x00\x00\x11\x11node a at port 1\n",
		"no port part":    "\x00\x00\x11\x11name a\n",
		"port not digits": "\x00\x00\x11\x11name a at port 1x\n",
		"port signed":     "\x00\x00\x11\x11name a at port +1\n",
		"port too big":    "\x00\x00\x11\x11name a at port 65536\n",
		"empty name":      "\x00\x00\x11\x11name  at port 1\n",
		"empty line":      "\x00\x00\x11\x11\n",
	}
	for name, b := range bad {
		if r, err := DecodeNamesResp([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeNamesResp = %+v, %v; want ErrMalformed", name, r, err)
		}
	}
}

func TestRegistrationValidate(t *testing.T) {
	ok := Registration{Name: "joe", Port: 1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	d := ok.WithDefaults()
	if d.NodeType != NodeTypeNormal || d.HighestVersion != 6 || d.LowestVersion != 5 {
		t.Fatalf("WithDefaults = %+v", d)
	}
	bad := []Registration{
		{Name: "", Port: 1},
		{Name: "joe", Port: 0},
		{Name: "joe", Port: 65536},
		{Name: "joe", Port: 1, HighestVersion: 5, LowestVersion: 6},
		{Name: "joe", Port: 1, Extra: make([]byte, MaxExtraBytes+1)},
	}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalidRegistration) {
			t.Errorf("Validate(%+v) = %v; want ErrInvalidRegistration", r, err)
		}
	}
}
