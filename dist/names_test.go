package dist_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

func TestParseNode(t *testing.T) {
	good := []string{"joe@host", "joe@host.example.com", "a_b-c@10.0.0.1", "x@::1", "J0e@h-1"}
	for _, s := range good {
		if _, err := dist.ParseNode(s); err != nil {
			t.Errorf("ParseNode(%q) = %v", s, err)
		}
	}
	bad := []string{"", "joe", "@host", "joe@", "jo e@host", "joe@ho st", "joe@@host", "joe@a@b", "joe@host..com", "jöe@host"}
	for _, s := range bad {
		if _, err := dist.ParseNode(s); !errors.Is(err, dist.ErrBadNodeName) {
			t.Errorf("ParseNode(%q) = %v, want ErrBadNodeName", s, err)
		}
	}
}

func TestNameKinds(t *testing.T) {
	cases := []struct {
		n    dist.Node
		kind dist.NameKind
	}{{"joe@host", dist.ShortNames}, {"joe@host.example.com", dist.LongNames}, {"joe@127.0.0.1", dist.LongNames}, {"joe@::1", dist.LongNames}}
	for _, c := range cases {
		if k := c.n.Kind(); k != c.kind {
			t.Errorf("%s.Kind() = %v, want %v", c.n, k, c.kind)
		}
		other := dist.ShortNames
		if c.kind == dist.ShortNames {
			other = dist.LongNames
		}
		if err := dist.ValidateKind(c.n, other); !errors.Is(err, dist.ErrBadNodeName) {
			t.Errorf("ValidateKind(%s, %v) = %v, want an error", c.n, other, err)
		}
	}
}

func TestShortAndLongName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name on this machine")
	}
	short, _, _ := strings.Cut(host, ".")
	n, err := dist.ShortName("joe")
	if err != nil || n != dist.Node("joe@"+short) {
		t.Fatalf("ShortName = %q, %v; want joe@%s", n, err, short)
	}
	if _, err := dist.ShortName("joe@host.example.com"); err == nil {
		t.Fatal("ShortName accepted a long name")
	}
	if n, err := dist.LongName("joe", "host.example.com"); err != nil || n != "joe@host.example.com" {
		t.Fatalf("LongName = %q, %v", n, err)
	}
	if _, err := dist.LongName("joe", "plainhost"); err == nil {
		t.Fatal("LongName accepted a host without dots")
	}
	if _, err := dist.LongName("joe@10.1.2.3", ""); err != nil {
		t.Fatalf("LongName with an IP: %v", err)
	}
}

func TestShortAndLongNamesDoNotMix(t *testing.T) {
	// A long-name node dialing a short-name node is refused, as OTP refuses it.
	ctx := ctxT(t, 20*time.Second)
	mapper := freePort(t)
	short, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "s@localhost", Kind: dist.ShortNames, Cookie: "c",
		Profile: dist.ProfileTest, BindAddr: "127.0.0.1", AdvertiseAddr: "127.0.0.1", MapperPort: mapper})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close(ctx)
	long, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "l@127.0.0.1", Kind: dist.LongNames, Cookie: "c",
		Profile: dist.ProfileTest, MapperPort: mapper, Seeds: []string{short.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close(ctx)
	// The port mapper resolves s@localhost; its handshake refuses the long-name peer.
	err = long.Connect(ctx, "s@localhost")
	if !errors.Is(err, dist.ErrRefused) || !strings.Contains(err.Error(), "do not mix") {
		t.Fatalf("long → short link: %v, want a refusal saying the kinds do not mix", err)
	}
	if len(long.Nodes()) != 0 || len(short.Nodes()) != 0 {
		t.Fatalf("views %v / %v, want empty", long.Nodes(), short.Nodes())
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestCookieFile(t *testing.T) {
	home := t.TempDir()
	c1, err := dist.LoadCookie(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(c1) != 20 || strings.Trim(c1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		t.Fatalf("created cookie %q: want 20 upper-case letters", c1)
	}
	path := filepath.Join(home, dist.CookieFile)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o400 {
		t.Fatalf("cookie file mode %v, %v; want 0400", info.Mode().Perm(), err)
	}
	c2, err := dist.LoadCookie(home)
	if err != nil || c2 != c1 {
		t.Fatalf("second load = %q, %v; want %q", c2, err, c1)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dist.LoadCookie(home); !errors.Is(err, dist.ErrCookie) || !strings.Contains(err.Error(), "owner only") {
		t.Fatalf("readable cookie file: %v, want a refusal", err)
	}
	// Start without a cookie uses $HOME's file (here: Home).
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 10*time.Second)
	e, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "c@127.0.0.1", Kind: dist.LongNames, Home: home, Profile: dist.ProfileTest, NoMapper: true})
	if err != nil {
		t.Fatal(err)
	}
	e.Close(ctx)
	t.Setenv("HOME", t.TempDir())
	if _, err := dist.LoadCookie(""); err != nil {
		t.Fatalf("cookie under $HOME: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []dist.Config{
		{},
		{Name: "joe@host.example.com"},           // long name, short kind
		{Name: "joe@host", Kind: dist.LongNames}, // short name, long kind
		{Name: "joe@host", Profile: "fast"},      // unknown profile
		{Name: "joe@host", PortMin: 5000, PortMax: 4000},
		{Name: "joe@host", Seeds: []string{"nohostport"}},
		{Name: "joe@host", TLS: &dist.TLSConfig{CertFile: "c"}},
		{Name: "joe@host", BindAddr: "not-an-ip"},
	}
	for i, c := range bad {
		if err := c.Validate(); !errors.Is(err, dist.ErrInvalidConfig) {
			t.Errorf("config %d: Validate = %v, want ErrInvalidConfig", i, err)
		}
	}
	good := dist.Config{Name: "joe@host", PortMin: 9100, PortMax: 9105, Seeds: []string{"10.0.0.1:9100"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A second live node with the same name is refused at start (the port mapper holds the name).
func TestDuplicateNameRefused(t *testing.T) {
	ctx := ctxT(t, 20*time.Second)
	mapper := freePort(t)
	cfg := dist.Config{Logger: quietLog(), Name: "twin@127.0.0.1", Kind: dist.LongNames, Cookie: "c",
		Profile: dist.ProfileTest, MapperPort: mapper}
	a, err := dist.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := dist.Start(ctx, cfg)
	if err == nil {
		b.Close(ctx)
		t.Fatal("a second node named twin@127.0.0.1 started")
	}
	if !strings.Contains(err.Error(), "twin") {
		t.Fatalf("error %q does not name the node", err)
	}
}
