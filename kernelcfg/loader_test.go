package kernelcfg

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (name → content) under a temp dir and returns the dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadOne(t *testing.T, content string) (*Config, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"c.config": content})
	return Load([]string{"c"}, LoadOptions{WorkDir: dir})
}

// TestErrorTable covers every row of otp-dist-ac.md §1.3's error table and every point-5
// case of issue 2, each with its line and column.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		line, col int
		msg       string
		kind      error
	}{
		// §1.3 rows
		{"no final dot", "[{kernel, []}]\n", 2, 1, "expected a final dot", ErrSyntax},
		{"second term", "[{kernel, []}].\n[{a, []}].", 2, 1, "ONE list", ErrSyntax},
		{"not a list", "{kernel, []}.", 1, 1, "expected one list", ErrStructure},
		{"syntax error", "[{kernel, [{x, 1}}].", 1, 18, "found '}', expected ',' or ']'", ErrSyntax},
		{"element not a tuple", "[{kernel, []},\n foo].", 2, 2, "found foo, expected {App, [{Par, Val}]}", ErrStructure},
		{"element 3-tuple", "[{a, [{b,1}], c}].", 1, 2, "expected {App, [{Par, Val}]}", ErrStructure},
		{"include outside sys.config", "[\"other\"].", 1, 2, "includes are allowed only in a file named sys.config", ErrInclude},
		{"app name not atom", "[{\"kernel\", []}].", 1, 3, "as application name, expected an atom", ErrStructure},
		{"app name integer", "[{1, []}].", 1, 3, "found 1 as application name", ErrStructure},
		{"params not a list", "[{a, b}].", 1, 6, "found b as parameters of a, expected a list", ErrStructure},
		{"params improper", "[{a, [{x,1}|y]}].", 1, 6, "as parameters of a", ErrStructure},
		{"param not a tuple", "[{kernel, [x]}].", 1, 12, "found x in the parameters of kernel, expected {Par, Val}", ErrStructure},
		{"key not atom", "[{a, [{\"b\", 1}]}].", 1, 8, "found \"b\" as a parameter name of a", ErrStructure},
		{"duplicate app", "[{kernel, [{x,1}]},\n {kernel, [{y,1}]}].", 2, 2, "second entry for application kernel", ErrDuplicate},
		{"duplicate key", "[{kernel, [{x,1},\n   {x,2}]}].", 2, 5, "parameter x of kernel a second time", ErrDuplicate},
		{"distributed not a list", "[{kernel, [{distributed, x}]}].", 1, 26, "found x for kernel distributed, expected a list", ErrValue},
		{"distributed timeout a string", "[{kernel, [{distributed, [{a, \"5\", [n]}]}]}].", 1, 31, "failover timeout", ErrValue},
		{"distributed nodes not a list", "[{kernel, [{distributed, [{a, 5, n}]}]}].", 1, 34, "expected a list of nodes", ErrValue},
		{"distributed entry shape", "[{kernel, [{distributed, [{a}]}]}].", 1, 27, "{App, Nodes} or {App, Timeout, Nodes}", ErrValue},
		{"distributed app not atom", "[{kernel, [{distributed, [{1, [n]}]}]}].", 1, 28, "application name", ErrValue},
		{"sync timeout zero", "[{kernel, [{sync_nodes_timeout, 0}]}].", 1, 33, "integer > 0) or infinity", ErrValue},
		{"sync timeout atom", "[{kernel, [{sync_nodes_timeout, foo}]}].", 1, 33, "found foo", ErrValue},
		{"start_dist_ac not bool", "[{kernel, [{start_dist_ac, 7}]}].", 1, 28, "true or false", ErrValue},
		// point 5: accepted by OTP at boot, refused by gotp
		{"negative timeout", "[{kernel, [{distributed, [{a, -5, [n]}]}]}].", 1, 31, "found -5", ErrValue},
		{"node as string", "[{kernel, [{distributed, [{a, [\"n@h\"]}]}]}].", 1, 32, "a node atom such as n@h, not a string", ErrValue},
		{"node list as string", "[{kernel, [{distributed, [{a, \"n@h\"}]}]}].", 1, 31, "not a string", ErrValue},
		{"non-atom in tier", "[{kernel, [{distributed, [{a, [{n, 1}]}]}]}].", 1, 36, "found 1", ErrValue},
		{"string in tier", "[{kernel, [{distributed, [{a, [{n, \"m\"}]}]}]}].", 1, 36, "not a string", ErrValue},
		{"tier nested in tier", "[{kernel, [{distributed, [{a, [{n, {m}}]}]}]}].", 1, 36, "cannot be nested", ErrValue},
		{"list in node list", "[{kernel, [{distributed, [{a, [[n]]}]}]}].", 1, 32, "a node (an atom) or a tier", ErrValue},
		{"sync list not a list", "[{kernel, [{sync_nodes_mandatory, a@h}]}].", 1, 35, "expected a list of node atoms", ErrValue},
		{"sync node as string", "[{kernel, [{sync_nodes_optional, [\"a@h\"]}]}].", 1, 35, "not a string", ErrValue},
		{"sync node integer", "[{kernel, [{sync_nodes_mandatory, [a, 1]}]}].", 1, 39, "found 1", ErrValue},
		{"sync improper", "[{kernel, [{sync_nodes_mandatory, [a|b]}]}].", 1, 35, "list of node atoms", ErrValue},
		{"permissions bad", "[{kernel, [{permissions, [{a, maybe}]}]}].", 1, 27, "{App, true | false}", ErrValue},
		{"listen port range", "[{kernel, [{inet_dist_listen_min, 70000}]}].", 1, 35, "port number", ErrValue},
		{"listen max below min", "[{kernel, [{inet_dist_listen_min, 9000}, {inet_dist_listen_max, 8000}]}].", 1, 65, "inet_dist_listen_min", ErrValue},
		{"net_ticktime", "[{kernel, [{net_ticktime, 0}]}].", 1, 27, "seconds", ErrValue},
		// gotp section
		{"gotp unknown key", "[{gotp, [{detection, lan},\n  {quorum, 2}]}].", 2, 3, "unknown key quorum in the gotp section, expected one of detection, tls, cluster, seeds, handover_on_shutdown, start_wait", ErrValue},
		{"gotp detection", "[{gotp, [{detection, fast}]}].", 1, 22, "lan, local, wan or test", ErrValue},
		{"gotp seeds", "[{gotp, [{seeds, [\"h:1\", \"nohost\"]}]}].", 1, 26, "host:port", ErrValue},
		{"gotp seeds port", "[{gotp, [{seeds, [\"h:0\"]}]}].", 1, 19, "port from 1", ErrValue},
		{"gotp handover", "[{gotp, [{handover_on_shutdown, yes}]}].", 1, 33, "true or false", ErrValue},
		{"gotp start_wait", "[{gotp, [{start_wait, -1}]}].", 1, 23, "or infinity", ErrValue},
		{"gotp cluster", "[{gotp, [{cluster, 12}]}].", 1, 20, "a string", ErrValue},
		{"gotp tls unknown", "[{gotp, [{tls, [{certfile, \"a\"}, {pem, \"b\"}]}]}].", 1, 34, "unknown key pem in gotp tls, expected one of certfile, keyfile, cacertfile", ErrValue},
		{"gotp tls missing", "[{gotp, [{tls, [{certfile, \"a\"}]}]}].", 1, 16, "missing keyfile", ErrValue},
		{"gotp tls not a list", "[{gotp, [{tls, on}]}].", 1, 16, "a list of {certfile", ErrValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadOne(t, c.src)
			checkErr(t, err, "c.config", c.line, c.col, c.msg, c.kind)
		})
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load([]string{"nope"}, LoadOptions{WorkDir: dir})
	checkErr(t, err, "nope.config", 0, 0, "no such file or directory", ErrRead)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error %v is not fs.ErrNotExist", err)
	}
	if err.Error() != "nope.config: no such file or directory" {
		t.Errorf("error text %q", err.Error())
	}
	if _, err := Load(nil, LoadOptions{}); !errors.Is(err, ErrUsage) {
		t.Errorf("Load(nil) = %v, want ErrUsage", err)
	}
}

func TestSuffixForced(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"x": "x.config", "x.config": "x.config", "x.conf": "x.conf.config", "d/sys": "d/sys.config"} {
		if got := ForceSuffix(in); got != want {
			t.Errorf("ForceSuffix(%q) = %q, want %q", in, got, want)
		}
	}
	dir := writeFiles(t, map[string]string{"a.conf.config": "[{kernel, [{x, 1}]}]."})
	cfg, err := Load([]string{"a.conf"}, LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.App("kernel").Int("x", 0); v != 1 {
		t.Errorf("x = %d", v)
	}
}

func TestMergeOrder(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"one.config": "[{kernel, [{x, 1}, {y, 1}]}, {a, [{k, one}]}].",
		"two.config": "[{kernel, [{x, 2}]}, {b, [{k, two}]}].",
	})
	cfg, err := Load([]string{"one", "two.config"}, LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.App("kernel")
	x, _ := k.Int("x", 0)
	y, _ := k.Int("y", 0)
	if x != 2 || y != 1 {
		t.Errorf("x=%d y=%d, want 2 1 (later file wins key by key)", x, y)
	}
	if p, _ := k.Lookup("x"); p.File != "two.config" {
		t.Errorf("x came from %q", p.File)
	}
	if got := cfg.Apps(); !reflect.DeepEqual(got, []string{"kernel", "a", "b"}) {
		t.Errorf("Apps() = %v", got)
	}
	if !reflect.DeepEqual(cfg.Files, []string{"one.config", "two.config"}) {
		t.Errorf("Files = %v", cfg.Files)
	}
	// reversed order: the other file wins
	cfg, err = Load([]string{"two", "one"}, LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := cfg.App("kernel").Int("x", 0); x != 1 {
		t.Errorf("reversed x = %d", x)
	}
	// the same application in two files is not a duplicate
	if _, err := Load([]string{"one", "one"}, LoadOptions{WorkDir: dir}); err != nil {
		t.Errorf("same file twice: %v", err)
	}
}

func TestMergedDistributedValidated(t *testing.T) {
	t.Parallel()
	// OTP checks distributed on the merged data: a bad value overridden by a later file is fine.
	dir := writeFiles(t, map[string]string{
		"bad.config":  "[{kernel, [{distributed, x}]}].",
		"good.config": "[{kernel, [{distributed, [{a, [n@h]}]}]}].",
	})
	if _, err := Load([]string{"bad", "good"}, LoadOptions{WorkDir: dir}); err != nil {
		t.Errorf("bad then good: %v", err)
	}
	_, err := Load([]string{"good", "bad"}, LoadOptions{WorkDir: dir})
	checkErr(t, err, "bad.config", 1, 26, "distributed", ErrValue)
}

func TestIncludes(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"etc/sys.config":        "[\"inc1\", {kernel, [{y, sys}]}, \"sub/inc2.config\", {kernel, [{z, sys}]}].",
		"etc/inc1.config":       "[{kernel, [{x, inc1}, {y, inc1}, {w, inc1}]}].",
		"etc/sub/inc2.config":   "[{kernel, [{x, inc2}]}].",
		"cwdonly.config":        "[{kernel, [{c, cwd}]}].",
		"etc2/sys.config":       "[\"cwdonly\"].",
		"nest/sys.config":       "[\"mid\"].",
		"nest/mid.config":       "[{kernel, []},\n \"deeper\"].",
		"miss/sys.config":       "[{kernel, []}, \"gone\"].",
		"dupinc/sys.config":     "[\"d\"].",
		"dupinc/d.config":       "[{a, [{k, 1}]}, {a, [{j, 1}]}].",
		"sysdup/sys.config":     "[{kernel, [{x, 1}]},\n {kernel, [{x, 2}]}].",
		"syskey/sys.config":     "[{kernel, [{x, 1}, {x, 2}]}].",
		"abs/sys.config":        "", // filled below
		"plain/other.config":    "[{kernel, []}, \"inc1\"].",
		"tail/sys.config":       "[\"inc\" | x].",
		"nested-sys/sys.config": "[\"etc/sys\"].",
	})
	load := func(f string) (*Config, error) { return Load([]string{f}, LoadOptions{WorkDir: dir}) }

	cfg, err := load("etc/sys")
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.App("kernel")
	for key, want := range map[string]string{"x": "inc2", "y": "sys", "w": "inc1", "z": "sys"} {
		if got, _ := k.Atom(key, ""); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	wantFiles := []string{"etc/sys.config", "etc/inc1.config", "etc/sub/inc2.config"}
	if !reflect.DeepEqual(cfg.Files, wantFiles) {
		t.Errorf("Files = %v, want %v", cfg.Files, wantFiles)
	}

	// relative to sys.config's folder first, then the working directory
	cfg, err = load("etc2/sys")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.App("kernel").Atom("c", ""); got != "cwd" {
		t.Errorf("cwd include: c = %q", got)
	}

	_, err = load("nest/sys")
	checkErr(t, err, "nest/mid.config", 2, 2, "do not nest", ErrInclude)
	_, err = load("miss/sys")
	checkErr(t, err, "miss/sys.config", 1, 16, "found include \"gone\", expected an existing file (tried miss/gone.config and gone.config)", ErrInclude)
	_, err = load("dupinc/sys")
	checkErr(t, err, "dupinc/d.config", 1, 17, "second entry for application a", ErrDuplicate)
	// OTP 25 merges a sys.config's tuples one at a time: a repeated app is allowed there.
	cfg, err = load("sysdup/sys")
	if err != nil {
		t.Fatalf("sys.config with a repeated app: %v", err)
	}
	if x, _ := cfg.App("kernel").Int("x", 0); x != 2 {
		t.Errorf("sysdup x = %d", x)
	}
	_, err = load("syskey/sys")
	checkErr(t, err, "syskey/sys.config", 1, 21, "parameter x of kernel a second time", ErrDuplicate)
	_, err = load("plain/other")
	checkErr(t, err, "plain/other.config", 1, 16, "only in a file named sys.config", ErrInclude)
	_, err = load("tail/sys")
	checkErr(t, err, "tail/sys.config", 1, 1, "expected one list", ErrStructure)
	// an included sys.config is an ordinary file: its includes are nested includes
	_, err = load("nested-sys/sys")
	checkErr(t, err, "etc/sys.config", 1, 2, "do not nest", ErrInclude)

	// an absolute include
	abs := filepath.Join(dir, "etc", "inc1")
	if err := os.WriteFile(filepath.Join(dir, "abs", "sys.config"), []byte("[\""+abs+"\"]."), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = load("abs/sys")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.App("kernel").Atom("w", ""); got != "inc1" {
		t.Errorf("absolute include: w = %q", got)
	}
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"c.config": "[{kernel, [{sync_nodes_timeout, 100}, {sync_nodes_mandatory, [a@h]}]}]."})
	cfg, err := Load([]string{"c"}, LoadOptions{WorkDir: dir, Overrides: []Override{
		{App: "kernel", Param: "sync_nodes_mandatory", Value: "[]"},
		{App: "kernel", Param: "sync_nodes_timeout", Value: "infinity"},
		{App: "kernel", Param: "sync_nodes_timeout", Value: "250"},
		{App: "mybot", Param: "token", Value: `"abc"`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kernel.SyncNodesMandatory) != 0 || cfg.Kernel.SyncNodesTimeout != 250*time.Millisecond {
		t.Errorf("overrides not applied last: %+v", cfg.Kernel)
	}
	if tok, _ := cfg.App("mybot").Text("token", ""); tok != "abc" {
		t.Errorf("token = %q", tok)
	}
	_, err = Load([]string{"c"}, LoadOptions{WorkDir: dir, Overrides: []Override{{App: "kernel", Param: "distributed", Value: "[{a, -1, [n]}]"}}})
	checkErr(t, err, "-kernel distributed", 1, 6, "found -1", ErrValue)
	_, err = Load([]string{"c"}, LoadOptions{WorkDir: dir, Overrides: []Override{{App: "kernel", Param: "x", Value: "[a"}}})
	checkErr(t, err, "-kernel x", 1, 3, "found end of input", ErrSyntax)
	_, err = Load([]string{"c"}, LoadOptions{WorkDir: dir, Overrides: []Override{{App: "", Param: "x", Value: "1"}}})
	if !errors.Is(err, ErrUsage) {
		t.Errorf("empty app override: %v", err)
	}
}

func TestKernelView(t *testing.T) {
	t.Parallel()
	cfg, err := loadOne(t, `[{kernel, [
  {distributed, [{mybot, 5000, [joe@h, {mike@h, robert@h}]},
                 {other, [a@h]},
                 {forever, infinity, []},
                 {mybot, 1, [z@h]}]},
  {sync_nodes_optional, [a@h]},
  {sync_nodes_timeout, infinity},
  {permissions, [{mybot, false}]},
  {start_dist_ac, false},
  {inet_dist_listen_min, 9100},
  {net_ticktime, 4}]}].`)
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Kernel
	want := []Distributed{
		{App: "mybot", Timeout: 5 * time.Second, Tiers: [][]string{{"joe@h"}, {"mike@h", "robert@h"}}},
		{App: "other", Timeout: 0, Tiers: [][]string{{"a@h"}}},
		{App: "forever", Timeout: Infinity, Tiers: [][]string{}},
		{App: "mybot", Timeout: time.Millisecond, Tiers: [][]string{{"z@h"}}},
	}
	if len(k.Distributed) != len(want) {
		t.Fatalf("Distributed = %+v", k.Distributed)
	}
	for i, w := range want {
		d := k.Distributed[i]
		if d.App != w.App || d.Timeout != w.Timeout || !reflect.DeepEqual(d.Tiers, w.Tiers) {
			t.Errorf("entry %d = %+v, want %+v", i, d, w)
		}
	}
	if d, ok := k.For("mybot"); !ok || d.Timeout != 5*time.Second {
		t.Errorf("For(mybot) = %+v (first entry counts)", d)
	}
	if got := k.Distributed[0].Nodes(); !reflect.DeepEqual(got, []string{"joe@h", "mike@h", "robert@h"}) {
		t.Errorf("Nodes() = %v", got)
	}
	if k.Distributed[0].At != (Pos{2, 18}) || k.Distributed[0].File != "c.config" {
		t.Errorf("entry position %s %v", k.Distributed[0].File, k.Distributed[0].At)
	}
	if !reflect.DeepEqual(k.SyncNodesMandatory, []string{}) || !reflect.DeepEqual(k.SyncNodesOptional, []string{"a@h"}) {
		t.Errorf("sync lists %v %v", k.SyncNodesMandatory, k.SyncNodesOptional)
	}
	if k.SyncNodesTimeout != Infinity {
		t.Errorf("SyncNodesTimeout = %v", k.SyncNodesTimeout)
	}
	if p, ok := k.Permissions["mybot"]; !ok || p {
		t.Errorf("Permissions = %v", k.Permissions)
	}
	if k.StartDistAC == nil || *k.StartDistAC || k.DistACEnabled() {
		t.Errorf("StartDistAC = %v", k.StartDistAC)
	}
	if k.InetDistListenMin != 9100 || k.InetDistListenMax != 9100 {
		t.Errorf("listen ports %d..%d (max defaults to min)", k.InetDistListenMin, k.InetDistListenMax)
	}
	if k.NetTicktime != 4*time.Second {
		t.Errorf("NetTicktime = %v", k.NetTicktime)
	}

	// defaults
	cfg, err = loadOne(t, "[].")
	if err != nil {
		t.Fatal(err)
	}
	k = cfg.Kernel
	if k.Distributed != nil || k.SyncNodesTimeout != 0 || k.NetTicktime != 60*time.Second || k.StartDistAC != nil || k.DistACEnabled() {
		t.Errorf("defaults: %+v", k)
	}
	if k.SyncNodesMandatory == nil || k.SyncNodesOptional == nil {
		t.Errorf("unset sync lists must be empty, not nil")
	}
	// sync lists are validated (and kept) even when the timeout is unset
	cfg, err = loadOne(t, "[{kernel, [{sync_nodes_mandatory, [a@h, b@h]}]}].")
	if err != nil || !reflect.DeepEqual(cfg.Kernel.SyncNodesMandatory, []string{"a@h", "b@h"}) || cfg.Kernel.SyncNodesTimeout != 0 {
		t.Errorf("sync list without timeout: %+v %v", cfg.Kernel, err)
	}
}

func TestGotpView(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"conf/node.config": `[{gotp, [{detection, wan}, {cluster, "prod"}, {seeds, ["10.0.0.1:4370", "[::1]:9"]},
  {handover_on_shutdown, true}, {start_wait, infinity},
  {tls, [{certfile, "certs/n.pem"}, {keyfile, <<"certs/n.key">>}, {cacertfile, "/etc/ca.pem"}]}]}].`,
		"empty.config": "[].",
	})
	cfg, err := Load([]string{"conf/node"}, LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gotp
	want := Gotp{Detection: "wan", Cluster: "prod", Seeds: []string{"10.0.0.1:4370", "[::1]:9"}, HandoverOnShutdown: true, StartWait: Infinity,
		TLS: &TLS{CertFile: filepath.Join(dir, "conf", "certs/n.pem"), KeyFile: filepath.Join(dir, "conf", "certs/n.key"), CACertFile: "/etc/ca.pem"}}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("Gotp = %+v / %+v, want %+v / %+v", g, g.TLS, want, want.TLS)
	}
	cfg, err = Load([]string{"empty"}, LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	def := Gotp{Detection: DetectionLAN, Seeds: []string{}, StartWait: DefaultStartWait}
	if !reflect.DeepEqual(cfg.Gotp, def) {
		t.Errorf("default Gotp = %+v", cfg.Gotp)
	}
}

func TestEnvAccessors(t *testing.T) {
	t.Parallel()
	cfg, err := loadOne(t, `[{mybot, [{name, bot}, {token, "té"}, {chars, [104, 105]}, {n, 42}, {f, 1.5},
  {on, true}, {list, [a, 1]}, {atoms, [a, b]}, {texts, ["x", <<"y">>]}, {ms, 250}, {inf, infinity}, {big, 99999999999999999999}]}].`)
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.App("mybot")
	if e.App() != "mybot" || len(e.Keys()) != 12 {
		t.Errorf("App %q keys %v", e.App(), e.Keys())
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v (%v), want %v", name, got, err, want)
		}
	}
	a, err := e.Atom("name", "")
	check("Atom", a, "bot", err)
	s, err := e.Text("token", "")
	check("Text", s, "té", err)
	s, err = e.Text("chars", "")
	check("Text of code points", s, "hi", err)
	n, err := e.Int("n", 0)
	check("Int", n, int64(42), err)
	f, err := e.Float("f", 0)
	check("Float", f, 1.5, err)
	f, err = e.Float("n", 0)
	check("Float of int", f, 42.0, err)
	b, err := e.Bool("on", false)
	check("Bool", b, true, err)
	l, err := e.List("list")
	check("List len", len(l), 2, err)
	as, err := e.Atoms("atoms")
	check("Atoms", as, []string{"a", "b"}, err)
	ts, err := e.Texts("texts")
	check("Texts", ts, []string{"x", "y"}, err)
	d, err := e.Millis("ms", 0)
	check("Millis", d, 250*time.Millisecond, err)
	d, err = e.Millis("inf", 0)
	check("Millis infinity", d, Infinity, err)
	// defaults when absent
	n, err = e.Int("absent", 7)
	check("Int default", n, int64(7), err)
	as, err = e.Atoms("absent")
	check("Atoms absent", as, []string(nil), err)
	// wrong types point at the value
	_, err = e.Int("name", 0)
	checkErr(t, err, "c.config", 1, 18, "found bot for mybot n", ErrValue)
	_, err = e.Int("big", 0)
	checkErr(t, err, "c.config", 2, 107, "expected an integer", ErrValue)
	_, err = e.Atoms("list")
	checkErr(t, err, "c.config", 2, 26, "found 1 for mybot list, expected an atom", ErrValue)
	_, err = e.Bool("n", false)
	checkErr(t, err, "c.config", 1, 64, "true or false", ErrValue)
	if _, err := e.Text("n", ""); !errors.Is(err, ErrValue) {
		t.Errorf("Text of int: %v", err)
	}
	if empty := cfg.App("nothing"); len(empty.Keys()) != 0 || empty.App() != "nothing" {
		t.Errorf("absent app env %+v", empty)
	}
	if !strings.Contains(cfg.App("mybot").Keys()[0], "name") {
		t.Errorf("key order %v", cfg.App("mybot").Keys())
	}
}
