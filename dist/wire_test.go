package dist

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func TestDecideScenarios(t *testing.T) {
	p := &peer{node: "b@h"}
	step := func(name string, evs []NodeEvent, want ...NodeEvent) {
		t.Helper()
		if len(evs) != len(want) {
			t.Fatalf("%s: events %+v, want %+v", name, evs, want)
		}
		for i := range evs {
			if evs[i] != want[i] {
				t.Fatalf("%s: event %d = %+v, want %+v", name, i, evs[i], want[i])
			}
		}
	}
	p.mlBoot = 1
	step("join", p.decide(DownClosed), NodeEvent{Node: "b@h", Up: true, BootID: 1})
	step("update same", p.decide(DownClosed))
	// killed: link EOF + refused reconnect, memberlist still lists it
	p.markDead(1, DownClosed)
	step("fast down", p.decide(DownClosed), NodeEvent{Node: "b@h", Reason: DownClosed, BootID: 1})
	p.mlBoot = 0
	step("memberlist confirms later", p.decide(DownTimeout))
	// restarted: new boot id
	p.mlBoot = 2
	step("restart", p.decide(DownClosed), NodeEvent{Node: "b@h", Up: true, BootID: 2})
	// restart before detection: boot 3 replaces 2 while up
	p.mlBoot = 3
	step("quick restart", p.decide(DownClosed),
		NodeEvent{Node: "b@h", Reason: DownClosed, BootID: 2}, NodeEvent{Node: "b@h", Up: true, BootID: 3})
	// hang: memberlist says dead
	p.mlBoot = 0
	step("hang", p.decide(DownTimeout), NodeEvent{Node: "b@h", Reason: DownTimeout, BootID: 3})
	p.mlBoot = 3
	step("resumed", p.decide(DownClosed), NodeEvent{Node: "b@h", Up: true, BootID: 3})
	// graceful: leaving announced, then memberlist leave
	p.markLeaving(3)
	p.mlBoot = 0
	step("left", p.decide(DownTimeout), NodeEvent{Node: "b@h", Reason: DownLeft, BootID: 3})
	// hidden peers never produce events
	h := &peer{node: "cli@h", hidden: true, mlBoot: 9}
	step("hidden", h.decide(DownClosed))
	// with mutual TLS, up needs a link to that instance
	r := &peer{node: "c@h", requireLink: true, mlBoot: 4}
	step("tls no link", r.decide(DownClosed))
	r.linkBoot = 4
	step("tls link", r.decide(DownClosed), NodeEvent{Node: "c@h", Up: true, BootID: 4})
}

func pipeFramers(t *testing.T) (*framer, *framer) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return newFramer(a, maxHandshakeFrame), newFramer(b, maxHandshakeFrame)
}

func handshakePair(t *testing.T, cookieD, cookieA string, decide func(hello) (uint8, string)) (hello, error, hello, error, *framer, *framer) {
	t.Helper()
	fd, fa := pipeFramers(t)
	sd, _ := deriveSecrets(cookieD, "")
	sa, _ := deriveSecrets(cookieA, "")
	me := func(name string) hello {
		return hello{Version: protocolVersion, Name: name, BootID: 7, Long: true, Nonce: newNonce()}
	}
	deadline := time.Now().Add(5 * time.Second)
	type res struct {
		h   hello
		err error
	}
	ch := make(chan res, 1)
	go func() {
		h, err := acceptHandshake(fa, sa, me("a@127.0.0.1"), true, deadline, decide)
		if err != nil {
			fa.conn.Close()
		}
		ch <- res{h, err}
	}()
	hd, errD := dialHandshake(fd, sd, me("d@127.0.0.1"), true, deadline)
	if errD != nil {
		fd.conn.Close()
	}
	r := <-ch
	return hd, errD, r.h, r.err, fd, fa
}

func TestHandshakeAndEncryptedFrames(t *testing.T) {
	ok := func(hello) (uint8, string) { return statusOK, "" }
	hd, errD, ha, errA, fd, fa := handshakePair(t, "cookie", "cookie", ok)
	if errD != nil || errA != nil {
		t.Fatalf("handshake: %v / %v", errD, errA)
	}
	if hd.Name != "a@127.0.0.1" || ha.Name != "d@127.0.0.1" {
		t.Fatalf("peers learned %q / %q", hd.Name, ha.Name)
	}
	fd.maxWire, fa.maxWire = 1<<20, 1<<20
	body, _ := encodeFrame(&frame{Kind: kindSend, Service: "svc", Data: []byte("payload-in-clear?")})
	go func() { _ = fd.writeFrame(body, time.Time{}); _ = fa.writeFrame(body, time.Time{}) }()
	for _, f := range []*framer{fa, fd} {
		got, err := f.readFrame(time.Now().Add(5 * time.Second))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("frame = %q, %v", got, err)
		}
	}
}

func TestHandshakeWrongCookie(t *testing.T) {
	called := false
	decide := func(hello) (uint8, string) { called = true; return statusOK, "" }
	_, errD, _, errA, _, _ := handshakePair(t, "cookie-1", "cookie-2", decide)
	if !errors.Is(errA, ErrAuth) {
		t.Fatalf("acceptor: %v, want ErrAuth", errA)
	}
	if errD == nil {
		t.Fatal("dialer: handshake succeeded with a wrong cookie")
	}
	if called {
		t.Fatal("the acceptor decided on an unauthenticated peer")
	}
}

func TestHandshakeRefusedAndDuplicate(t *testing.T) {
	_, errD, _, errA, _, _ := handshakePair(t, "c", "c", func(hello) (uint8, string) { return statusRefused, "names do not mix" })
	if !errors.Is(errD, ErrRefused) || !strings.Contains(errD.Error(), "names do not mix") || !errors.Is(errA, ErrRefused) {
		t.Fatalf("refused: %v / %v", errD, errA)
	}
	_, errD, _, errA, _, _ = handshakePair(t, "c", "c", func(hello) (uint8, string) { return statusDuplicate, "" })
	if !errors.Is(errD, errDuplicate) || !errors.Is(errA, errDuplicate) {
		t.Fatalf("duplicate: %v / %v", errD, errA)
	}
}

func TestTamperedFrameRejected(t *testing.T) {
	ok := func(hello) (uint8, string) { return statusOK, "" }
	_, errD, _, errA, fd, fa := handshakePair(t, "c", "c", ok)
	if errD != nil || errA != nil {
		t.Fatal(errD, errA)
	}
	// Seal a frame, flip a byte, feed it to the reader.
	var buf bytes.Buffer
	sealed := fd.seal.Seal(nil, gcmNonce(fd.sealSeq), []byte("hello"), nil)
	sealed[3] ^= 1
	buf.Write([]byte{0, 0, 0, byte(len(sealed))})
	buf.Write(sealed)
	seq := fa.openSeq
	if _, err := readFramed(&buf, 1<<20, fa.open, &seq); !errors.Is(err, ErrMalformed) {
		t.Fatalf("tampered frame: %v, want ErrMalformed", err)
	}
}

func TestFrameCap(t *testing.T) {
	var buf bytes.Buffer
	buf.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	var seq uint64
	if _, err := readFramed(&buf, 1<<20, nil, &seq); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized frame: %v, want ErrMalformed", err)
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	for _, b := range [][]byte{nil, {0x01}, {0x96, 0x09, 0, 0xa0, 0, 0xc0, 0xa0}} {
		if _, err := decodeFrame(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeFrame(%x) = %v, want ErrMalformed", b, err)
		}
	}
	good, _ := encodeFrame(&frame{Kind: kindRequest, ID: 9, Service: "s", TimeoutMS: 5, Data: []byte{1}})
	if f, err := decodeFrame(good); err != nil || f.ID != 9 || f.Service != "s" {
		t.Fatalf("round trip: %+v, %v", f, err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []frame{{Kind: kindHeartbeat}, {Kind: kindRequest, ID: 1, Service: "svc", TimeoutMS: 100, Data: []byte("x")},
		{Kind: kindError, ID: 2, Err: "boom"}} {
		b, _ := encodeFrame(&fr)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		again, err := encodeFrame(&fr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeFrame(again); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	b, _ := encodeHello(&hello{Version: protocolVersion, Name: "a@h", BootID: 1, Nonce: make([]byte, 32)})
	f.Add(b)
	p, _ := encodeFrame(&frame{Kind: kindSend})
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err == nil {
			if _, perr := ParseNode(h.Name); perr != nil || len(h.Nonce) != 32 || h.BootID == 0 {
				t.Fatalf("accepted a bad hello: %+v", h)
			}
		}
		_, _ = decodeProof(b)
		_, _ = decodeMeta(b)
	})
}

func FuzzReadFramed(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3}, false)
	f.Add([]byte{0, 0, 0, 40, 1}, true)
	sec, _ := deriveSecrets("fuzz", "")
	_, open, _ := sec.linkKeys(make([]byte, 32), make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte, encrypted bool) {
		var seq uint64
		aead := open
		if !encrypted {
			aead = nil
		}
		body, err := readFramed(bytes.NewReader(b), 1<<16, aead, &seq)
		if err == nil && len(body) > 1<<16 {
			t.Fatalf("body of %d bytes over the cap", len(body))
		}
	})
}

func TestCheckMsgpack(t *testing.T) {
	values := []any{nil, true, 1, -1, 300, -40000, 1 << 40, 1.5, float32(2), "s", strings.Repeat("x", 40),
		strings.Repeat("y", 300), []byte{1, 2}, make([]byte, 70000), []any{1, "a", []any{2}},
		map[string]any{"a": 1, "b": []byte("c")}, time.Unix(1, 2), frame{Kind: kindSend, Data: []byte("d")}}
	for _, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMsgpack(b); err != nil {
			t.Errorf("checkMsgpack(%T %x…) = %v", v, b[:min(len(b), 8)], err)
		}
		if len(b) > 1 {
			if err := checkMsgpack(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
				t.Errorf("truncated %T accepted", v)
			}
		}
		if err := checkMsgpack(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("trailing byte after %T accepted", v)
		}
	}
	// Found by fuzzing: a few bytes declaring huge lengths made msgpack allocate 13–43 MB.
	for _, b := range []string{"\x85\xc6\xcd0000", "\x83\xa600\x83\x83\x83\x83\x83\xc9\xc9\xc9\xc9\xc9", "\x85ƪ\xaf\xbf\xf5", "\xc1"} {
		if err := checkMsgpack([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("checkMsgpack(%q) = %v, want ErrMalformed", b, err)
		}
	}
}
