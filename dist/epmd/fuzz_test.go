package epmd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
)

// Fuzz targets for every decoder. Each checks that the decoder never panics, that what it
// refuses is refused with ErrMalformed, and that what it accepts survives a round trip
// through the matching encoder. Run one with, e.g.:
//
//	go test -run '^$' -fuzz '^FuzzDecodeRequest$' -fuzztime 5m -parallel 1 ./dist/epmd

func seedRequests(f *testing.F) {
	for _, r := range []Request{
		&Alive2Req{Registration{Name: "joe", Port: 40001, NodeType: 77, HighestVersion: 6, LowestVersion: 5}},
		&Alive2Req{Registration{Name: "ñodo", Port: 1, NodeType: 72, HighestVersion: 5, LowestVersion: 5, Extra: []byte{1, 2}}},
		&PortPlease2Req{Name: "joe"},
		&NamesReq{},
	} {
		b, err := EncodeRequest(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[2:])
	}
	f.Add([]byte{'z', 'a', 0})
	f.Add([]byte{'x', 0, 1, 77, 0, 0, 6, 0, 5, 0xff, 0xff})
}

func FuzzDecodeRequest(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		// The same bytes through the stream reader, with their length prefix.
		if len(body) <= MaxRequestSize {
			framed := binary.BigEndian.AppendUint16(nil, uint16(len(body)))
			r2, err2 := ReadRequest(bytes.NewReader(append(framed, body...)), 0)
			if (err == nil) != (err2 == nil) || !reflect.DeepEqual(r, r2) {
				t.Fatalf("ReadRequest = %#v, %v; DecodeRequest = %#v, %v", r2, err2, r, err)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		enc, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", r, err)
		}
		back, err := DecodeRequest(enc[2:])
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip of %#v = %#v, %v", r, back, err)
		}
	})
}

// FuzzReadRequest feeds arbitrary streams (length prefix included) to the server's reader.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte{0, 1, 'n'})
	f.Add([]byte{0xff, 0xff, 'x'})
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 4, 'z', 'j', 'o', 'e', 0, 1, 'n'})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r, err := ReadRequest(bytes.NewReader(stream), 0)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if _, err := EncodeRequest(r); err != nil {
			t.Fatalf("accepted %#v does not encode: %v", r, err)
		}
	})
}

func FuzzDecodeAlive2Resp(f *testing.F) {
	f.Add([]byte{'y', 0, 0, 3})
	f.Add([]byte{'v', 0, 0x6b, 0x0c, 0x4d, 0x2f})
	f.Add([]byte{'v', 1, 0, 0, 0, 99})
	f.Add([]byte{'w', 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeAlive2Resp(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		enc, err := EncodeAlive2Resp(r)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding %+v = %v, %v; want the input %v", r, enc, err, b)
		}
	})
}

func FuzzDecodePort2Resp(f *testing.F) {
	for _, r := range []Port2Resp{
		{Result: 1},
		{Info: PortInfo{Name: "joe", Port: 0x1234, NodeType: 77, HighestVersion: 6, LowestVersion: 5}},
		{Info: PortInfo{Name: "x", Port: 1, NodeType: 72, HighestVersion: 6, LowestVersion: 5, Extra: []byte("extra")}},
	} {
		b, err := EncodePort2Resp(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodePort2Resp(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		enc, err := EncodePort2Resp(r)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding %+v = %v, %v; want the input %v", r, enc, err, b)
		}
	})
}

func FuzzDecodeNamesResp(f *testing.F) {
	f.Add([]byte("\x00\x00\x11\x11"))
	f.Add([]byte("\x00\x00\x11\x11name joe at port 40001\nname a b at port 7\n"))
	f.Add([]byte("\x00\x00\x11\x11name at port at port 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeNamesResp(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		enc, err := EncodeNamesResp(r)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		// Ports may have leading zeros on the wire; the decoded value must be stable.
		back, err := DecodeNamesResp(enc)
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip of %+v = %+v, %v", r, back, err)
		}
	})
}
