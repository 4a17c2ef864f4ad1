package dist_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/dist/disttest"
)

// wire records every byte the nodes write.
type wire struct {
	mu   sync.Mutex
	data map[bool][]byte // datagram → bytes
}

func (w *wire) tap(from int, datagram bool, b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.data == nil {
		w.data = map[bool][]byte{}
	}
	w.data[datagram] = append(w.data[datagram], b...)
}

func (w *wire) contains(datagram bool, s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Contains(w.data[datagram], []byte(s))
}

func (w *wire) size(datagram bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.data[datagram])
}

func TestWrongCookieRefusedAndNothingInClear(t *testing.T) {
	const secretPayload = "SECRET-PAYLOAD-7f3a9c"
	const cookie = "the-right-cookie-XYZZY"
	w := &wire{}
	c := disttest.NewCluster(t, disttest.Options{N: 4, Cookie: cookie, Configure: func(i int, cfg *dist.Config) {
		if i == 3 {
			cfg.Cookie = "a-wrong-cookie"
		}
	}})
	c.Net.SetTap(w.tap)
	if err := c.WaitView(ctxT(t, 30*time.Second), []int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	c.Node(1).Handle("secret", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		got <- string(p)
		return []byte(secretPayload), nil
	})
	ctx := ctxT(t, 20*time.Second)
	out, err := c.Node(0).Request(ctx, c.Name(1), "secret", []byte(secretPayload))
	if err != nil || string(out) != secretPayload || <-got != secretPayload {
		t.Fatalf("request between members: %q, %v", out, err)
	}
	// The intruder can neither link nor join.
	if _, err := c.Node(3).Request(ctx, c.Name(1), "secret", nil); !errors.Is(err, dist.ErrAuth) {
		t.Fatalf("wrong-cookie request: %v, want ErrAuth", err)
	}
	select {
	case p := <-got:
		t.Fatalf("the handler served the intruder: %q", p)
	default:
	}
	if err := c.Node(3).Connect(ctx, c.Name(0)); !errors.Is(err, dist.ErrAuth) {
		t.Fatalf("wrong-cookie connect: %v, want ErrAuth", err)
	}
	// Give gossip and re-joins a few rounds, then check the views.
	time.Sleep(time.Second) // absence over a bounded window: nothing to synchronise on
	if n := c.Node(3).Nodes(); len(n) != 0 {
		t.Fatalf("intruder sees %v", n)
	}
	for i := range 3 {
		if slices.Contains(c.Node(i).Nodes(), c.Name(3)) {
			t.Fatalf("node %d lists the intruder", i)
		}
	}
	for _, datagram := range []bool{false, true} {
		if w.contains(datagram, secretPayload) {
			t.Fatalf("the payload crossed the wire in clear (datagram=%v)", datagram)
		}
		if w.contains(datagram, cookie) {
			t.Fatalf("the cookie crossed the wire (datagram=%v)", datagram)
		}
	}
	// Gossip is encrypted: node names never appear in datagrams.
	if w.contains(true, string(c.Name(1))) {
		t.Fatal("a node name appears in clear in gossip")
	}
	if w.size(false) == 0 || w.size(true) == 0 {
		t.Fatal("the tap saw no traffic: the check above proves nothing")
	}
}

// pki writes a CA and node certificates for tests.
type pki struct {
	dir    string
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
	caFile string
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, caKey: key, caCert: cert, caFile: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue returns cert and key files for a node certificate naming ip.
func (p *pki) issue(t *testing.T, name string, ip net.IP) *dist.TLSConfig {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{ip}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem")
	writePEM(t, cf, "CERTIFICATE", der)
	writePEM(t, kf, "EC PRIVATE KEY", kder)
	return &dist.TLSConfig{CertFile: cf, KeyFile: kf, CAFile: p.caFile}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	good := newPKI(t, dir, "good")
	rogue := newPKI(t, dir, "rogue")
	loop := net.IPv4(127, 0, 0, 1)
	tlsFor := []*dist.TLSConfig{
		good.issue(t, "n0", loop),
		good.issue(t, "n1", loop),
		rogue.issue(t, "n2", loop),                 // right cookie, certificate from another CA
		good.issue(t, "n3", net.IPv4(10, 9, 8, 7)), // right CA, wrong host in its SANs
	}
	// Node 3 is named for the host its certificate names but listens on loopback.
	names := []dist.Node{"n0@127.0.0.1", "n1@127.0.0.1", "n2@127.0.0.1", "n3@127.0.0.1"}
	c := disttest.NewCluster(t, disttest.Options{Names: names, Configure: func(i int, cfg *dist.Config) {
		cfg.TLS = tlsFor[i]
	}})
	if err := c.WaitView(ctxT(t, 30*time.Second), []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	c.Node(1).Handle("ping", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return []byte("pong"), nil })
	ctx := ctxT(t, 20*time.Second)
	if out, err := c.Node(0).Request(ctx, c.Name(1), "ping", nil); err != nil || string(out) != "pong" {
		t.Fatalf("request over mTLS: %q, %v", out, err)
	}
	for _, i := range []int{2, 3} {
		if _, err := c.Node(i).Request(ctx, c.Name(1), "ping", nil); err == nil {
			t.Fatalf("node %d with a bad certificate was served", i)
		}
	}
	time.Sleep(time.Second) // absence over a bounded window
	for _, i := range []int{0, 1} {
		for _, bad := range []int{2, 3} {
			if slices.Contains(c.Node(i).Nodes(), c.Name(bad)) {
				t.Fatalf("node %d lists node %d, whose certificate is bad", i, bad)
			}
		}
	}
}

func TestHiddenPeer(t *testing.T) {
	c := converged(t, 3)
	var events []dist.NodeEvent
	var mu sync.Mutex
	for i := range 3 {
		_, ch, cancel := c.Node(i).Monitor()
		t.Cleanup(cancel)
		go func() {
			for ev := range ch {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			}
		}()
	}
	c.Node(1).Handle("status", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		if !from.Hidden {
			return nil, errors.New("sender not marked hidden")
		}
		return []byte("ok from n1"), nil
	})
	ctx := ctxT(t, 20*time.Second)
	h, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "cli@127.0.0.1", Kind: dist.LongNames, Hidden: true,
		Cookie: "disttest-cookie", Profile: dist.ProfileTest, MapperPort: c.MapperPort(), Network: c.Net.For(100)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	out, err := h.Request(ctx, c.Name(1), "status", nil) // resolved through the port mapper
	if err != nil || string(out) != "ok from n1" {
		t.Fatalf("hidden request: %q, %v", out, err)
	}
	if err := h.Connect(ctx, c.Name(2)); err != nil {
		t.Fatal(err)
	}
	if n := h.Nodes(); len(n) != 0 {
		t.Fatalf("hidden node's Nodes() = %v, want none", n)
	}
	time.Sleep(500 * time.Millisecond) // absence over a bounded window
	for i := range 3 {
		if slices.Contains(c.Node(i).Nodes(), "cli@127.0.0.1") {
			t.Fatalf("node %d lists the hidden peer", i)
		}
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 0 {
		t.Fatalf("monitor events while a hidden peer came and went: %+v", events)
	}
}

// When the node that embeds the port mapper dies, the others register with a new one, and a
// hidden peer resolves them again.
func TestPortMapperSurvivesItsNode(t *testing.T) {
	c := converged(t, 3) // node 0 started first: it embeds the cluster's mapper
	c.Node(2).Handle("ping", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return []byte("pong"), nil })
	c.Kill(0)
	ctx := ctxT(t, 30*time.Second)
	h, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "cli@127.0.0.1", Kind: dist.LongNames, Hidden: true,
		Cookie: "disttest-cookie", Profile: dist.ProfileTest, MapperPort: c.MapperPort(), Network: c.Net.For(100)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		out, err := h.Request(actx, c.Name(2), "ping", nil)
		cancel()
		if err == nil && string(out) == "pong" {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("node 2 not resolvable after the mapper's node died: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling an eventually-true condition
	}
}

// Two clusters sharing a cookie but not a label neither merge nor link.
func TestClusterLabelSeparates(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 3, Configure: func(i int, cfg *dist.Config) {
		if i == 2 {
			cfg.Cluster = "other-cluster"
		}
	}})
	if err := c.WaitView(ctxT(t, 30*time.Second), []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	c.Node(0).Handle("ping", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return []byte("pong"), nil })
	ctx := ctxT(t, 20*time.Second)
	if _, err := c.Node(2).Request(ctx, c.Name(0), "ping", nil); !errors.Is(err, dist.ErrAuth) {
		t.Fatalf("request across clusters: %v, want ErrAuth", err)
	}
	time.Sleep(500 * time.Millisecond) // absence over a bounded window
	if slices.Contains(c.Node(0).Nodes(), c.Name(2)) || len(c.Node(2).Nodes()) != 0 {
		t.Fatalf("views %v / %v: the clusters merged", c.Node(0).Nodes(), c.Node(2).Nodes())
	}
}
