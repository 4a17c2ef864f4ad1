package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests with real OS processes: mybot and gotp are built once (TestMain), every
// test runs its own cluster (fake Discord, private port mapper port, temp folder) with the
// failover Timeout scaled to 1000 ms and the test detection profile, and kills every process
// it started in cleanup.

var bins struct{ mybot, gotp string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gotp-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	bins.mybot, bins.gotp, err = Build(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const e2eTimeout = 1000 * time.Millisecond

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newCluster(t *testing.T, gotp ...string) *Cluster {
	t.Helper()
	c, err := NewCluster(Options{Dir: t.TempDir(), MyBot: bins.mybot, Gotp: bins.gotp, Timeout: e2eTimeout,
		GotpSection: append([]string{"{detection, test}"}, gotp...), Out: tWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close(10 * time.Second)
		if t.Failed() {
			for _, n := range append(Names, "eve") {
				if _, err := os.Stat(c.LogPath(n)); err == nil {
					t.Logf("--- %s log (tail) ---\n%s", n, c.LogTail(n, 20))
				}
			}
		}
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sequence renders the trace as "node event type from" lines.
func sequence(ts []Trace) []string {
	var out []string
	for _, t := range ts {
		s := t.Node + " " + t.Event
		if t.Type != nil {
			s += " " + *t.Type
		}
		if t.From != nil {
			s += " " + *t.From
		}
		out = append(out, s)
	}
	return out
}

func runPlaytest(t *testing.T, c *Cluster) {
	rep, err := Run(testCtx(t), c, tWriter{t})
	var b strings.Builder
	PrintTable(&b, rep)
	t.Log("\n" + b.String())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatal("a step did not happen as expected")
	}
	ts, err := c.Traces()
	if err != nil {
		t.Fatal(err)
	}
	seq := sequence(ts)
	if len(seq) < 2 {
		t.Fatalf("trace %q", seq)
	}
	succ := strings.Fields(seq[1])[0]
	want := []string{
		"joe start normal",
		succ + " start failover joe",
		"joe start takeover " + succ, succ + " prep_stop", succ + " stop",
		"robert start takeover joe", "joe prep_stop", "joe stop",
		"robert prep_stop", "robert stop", // SIGTERM: the runner stops its instance
	}
	if succ != "mike" && succ != "robert" {
		t.Fatalf("failover to %s", succ)
	}
	if strings.Join(seq, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace\n%s\nwant\n%s", strings.Join(seq, "\n"), strings.Join(want, "\n"))
	}
	// The failover came after the Timeout (measured from the kill inside Run), the epochs
	// grew, no event was lost and no reply was created twice (asserted by rep.OK()).
	for _, s := range rep.Steps {
		if s.Name == "SIGKILL joe" && s.Delay < e2eTimeout {
			t.Fatalf("failover after %v, before the Timeout", s.Delay)
		}
	}
}

// The playtest's steps, asserted from the trace and events files.
func TestPlaytestSteps(t *testing.T) {
	t.Parallel()
	runPlaytest(t, newCluster(t))
}

// The same run with mutual TLS on links, streams and the CLI's link.
func TestPlaytestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	host, err := ShortHost()
	if err != nil {
		t.Fatal(err)
	}
	writeCerts(t, dir, host)
	c := newCluster(t, fmt.Sprintf(`{tls, [{certfile, %q}, {keyfile, %q}, {cacertfile, %q}]}`,
		filepath.Join(dir, "node.pem"), filepath.Join(dir, "node.key"), filepath.Join(dir, "ca.pem")))
	c.opts.CLIConfig = true
	runPlaytest(t, c)
}

// A node with the wrong cookie gets nothing in: its boot barrier fails naming the node it
// never reached, the cluster does not list it, and the CLI with that cookie is refused.
func TestWrongCookieRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := testCtx(t)
	bootThree(t, ctx, c)
	eveCfg := filepath.Join(c.opts.Dir, "eve.config")
	if err := os.WriteFile(eveCfg, []byte(fmt.Sprintf("[{kernel, [{sync_nodes_mandatory, ['%s']}, {sync_nodes_timeout, 1500}]}, {gotp, [{detection, test}]}].", c.Node("joe"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartArgs("eve", "-sname", "eve", "-setcookie", "wrong", "-config", eveCfg, "-discord", c.Fake.URL()); err != nil {
		t.Fatal(err)
	}
	code, err := c.WaitExit(ctx, "eve")
	if err != nil {
		t.Fatal(err)
	}
	last := lastLine(c.LogTail("eve", 1))
	if code != 1 || !strings.Contains(last, "mandatory nodes down: "+c.Node("joe")) {
		t.Fatalf("eve exit %d, last line %q", code, last)
	}
	code, out, _, err := c.CLI(ctx, "nodes", "--node", c.Node("joe"), "--json")
	want := fmt.Sprintf(`{"node":"%s","nodes":["%s","%s","%s"]}`, c.Node("joe"), c.Node("joe"), c.Node("mike"), c.Node("robert"))
	if err != nil || code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("nodes: exit %d %q %v, want %s", code, out, err, want)
	}
	code, out, errOut, err := c.CLI(ctx, "nodes", "--node", c.Node("joe"), "--cookie", "wrong", "--json")
	var ej struct{ Error, Message string }
	if err != nil || code != 1 || json.Unmarshal([]byte(out), &ej) != nil || ej.Error == "" || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("nodes with the wrong cookie: exit %d stdout %q stderr %q %v", code, out, errOut, err)
	}
}

// bootThree starts joe, robert and mike and waits for mybot on joe.
func bootThree(t *testing.T, ctx context.Context, c *Cluster) {
	t.Helper()
	for _, n := range Names {
		if _, err := c.Start(n); err != nil {
			t.Fatal(err)
		}
	}
	tr, _, err := c.WaitTrace(ctx, "mybot on joe", 0, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		t.Fatal(err)
	}
	if tr.String() != "joe start normal @1" {
		t.Fatalf("first start %s", tr)
	}
	for _, n := range Names {
		if err := c.WaitBooted(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// A node whose mandatory peers never come exits with status 1 and names them.
func TestMandatoryNodesMissing(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.opts.SyncTimeout = 1000 * time.Millisecond
	if err := os.WriteFile(c.ConfigPath("mike"), []byte(c.ConfigText("mike")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start("mike"); err != nil {
		t.Fatal(err)
	}
	code, err := c.WaitExit(testCtx(t), "mike")
	if err != nil {
		t.Fatal(err)
	}
	last := lastLine(c.LogTail("mike", 1))
	want := fmt.Sprintf("mybot: boot failed (sync): mandatory nodes down: %s, %s", c.Node("joe"), c.Node("robert"))
	if code != 1 || last != want {
		t.Fatalf("exit %d, last line %q, want %q", code, last, want)
	}
}

// Boot failures print their one-line reason on stderr and exit 1.
func TestBootFailureLines(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bad := filepath.Join(c.opts.Dir, "bad.config")
	if err := os.WriteFile(bad, []byte("[{kernel, [{distributed, [{mybot, 5000, [\"joe@h\"]}]}]}]."), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-sname", "joe", "-config", bad}, "mybot: boot failed (config): " + bad + `:1:42: found "joe@h" for kernel distributed, expected a node atom such as joe@h, not a string`},
		{[]string{"-sname", "joe", "-config", filepath.Join(c.opts.Dir, "nope")}, "mybot: boot failed (config): " + filepath.Join(c.opts.Dir, "nope.config") + ": no such file or directory"},
		{[]string{"-sname", "joe", "-setcookie", "x", "-discord", "http://127.0.0.1:1"}, "mybot: boot failed (start): application mybot: start failed"},
		{[]string{"-sname", "joe", "-nosuchflag"}, "mybot: boot failed (flags): bad command line: flag provided but not defined: -nosuchflag"},
	}
	for i, cs := range cases {
		name := fmt.Sprintf("bad%d", i)
		if _, err := c.StartArgs(name, cs.args...); err != nil {
			t.Fatal(err)
		}
		code, err := c.WaitExit(testCtx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(c.LogPath(name))
		last := lastLine(string(data))
		wantCode := 1
		if strings.Contains(cs.want, "(flags)") {
			wantCode = 2
		}
		if code != wantCode || !strings.HasPrefix(last, cs.want) {
			t.Errorf("%q: exit %d, last line %q, want prefix %q", cs.args, code, last, cs.want)
		}
	}
}

// SIGTERM on the runner, default mode (as OTP): it stops mybot and leaves; the successor
// starts with failover from it after the Timeout.
func TestSigtermDefault(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := testCtx(t)
	bootThree(t, ctx, c)
	termed := time.Now()
	if err := c.Signal("joe", syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tr, _, err := c.WaitTrace(ctx, "the successor", 1, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		t.Fatal(err)
	}
	if code, err := c.WaitExit(ctx, "joe"); err != nil || code != 0 {
		t.Fatalf("joe exit %d %v", code, err)
	}
	if d := tr.At().Sub(termed); d < e2eTimeout {
		t.Fatalf("successor started %v after SIGTERM, before the Timeout", d)
	}
	ts, _ := c.Traces()
	seq := sequence(ts)
	succ := tr.Node
	want := []string{"joe start normal", "joe prep_stop", "joe stop", succ + " start failover joe"}
	if strings.Join(seq, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace\n%s\nwant\n%s", strings.Join(seq, "\n"), strings.Join(want, "\n"))
	}
}

// SIGTERM on the runner with handover_on_shutdown: the successor starts with takeover from
// it, then the old instance stops; no gap.
func TestSigtermHandover(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "{handover_on_shutdown, true}")
	ctx := testCtx(t)
	bootThree(t, ctx, c)
	if err := c.Signal("joe", syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, err := c.WaitExit(ctx, "joe"); err != nil || code != 0 {
		t.Fatalf("joe exit %d %v", code, err)
	}
	ts, _ := c.Traces()
	seq := sequence(ts)
	if len(seq) != 4 {
		t.Fatalf("trace %q", seq)
	}
	succ := strings.Fields(seq[1])[0]
	want := []string{"joe start normal", succ + " start takeover joe", "joe prep_stop", "joe stop"}
	if strings.Join(seq, "\n") != strings.Join(want, "\n") || (succ != "mike" && succ != "robert") {
		t.Fatalf("trace\n%s\nwant\n%s", strings.Join(seq, "\n"), strings.Join(want, "\n"))
	}
}

// writeCerts writes a CA and one node certificate (SANs: host, localhost, 127.0.0.1).
func writeCerts(t *testing.T, dir, host string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gotp e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{host, "localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "node.pem": {Type: "CERTIFICATE", Bytes: der},
		"node.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
