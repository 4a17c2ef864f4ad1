package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/app/node"
	"github.com/gotp/gotp/supervisor"
)

func TestRemoteUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"nodes"},                                 // --node is required
		{"where", "--node", "a@h"},                // APP missing
		{"takeover", "--node", "a@h"},             // APP missing
		{"permit", "x", "maybe", "--node", "a@h"}, // not true|false
		{"permit", "x", "--node", "a@h"},          // value missing
		{"nodes", "--node", "nohost"},             // not a node name
		{"nodes", "--node", "a@h", "--epmd-port", "x"},
		{"nodes", "--node", "a@h", "--restart-type", "permanent"}, // flag of another command
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage || !strings.HasPrefix(errOut, "gotp: ") {
			t.Errorf("%q: exit %d stderr %q, want a usage error", args, code, errOut)
		}
	}
}

// The remote commands against two in-process nodes started by the node runtime.
func TestRemoteCommands(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mapper := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	t.Setenv("ERL_EPMD_PORT", mapper)
	dir := t.TempDir()
	cfg := func(other string) string {
		p := filepath.Join(dir, other+".config")
		text := `[{kernel, [{distributed, [{tapp, 200, ['joe@127.0.0.1', 'mike@127.0.0.1']}]},
  {sync_nodes_mandatory, ['` + other + `@127.0.0.1']}, {sync_nodes_timeout, 30000}]}, {gotp, [{detection, test}]}].`
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := make(chan struct{}, 2)
	for _, n := range []struct{ name, other string }{{"joe", "mike"}, {"mike", "joe"}} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		a := app.AppFunc(func(context.Context, app.StartType) (supervisor.Service, error) {
			return supervisor.ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }), nil
		})
		go func() {
			done <- node.Run(ctx, node.Options{Apps: []app.Spec{{Name: "tapp", App: a}}, RestartType: app.Permanent,
				Args:   []string{"-name", n.name + "@127.0.0.1", "-setcookie", "c", "-config", cfg(n.other)},
				Logger: quiet, Stderr: io.Discard, Ready: func(*node.Node) { ready <- struct{}{} }})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	for range 2 {
		select {
		case <-ready:
		case <-time.After(60 * time.Second):
			t.Fatal("nodes not ready")
		}
	}
	cli := func(args ...string) (int, string, string) {
		return runCLI(t, append([]string{"--epmd-port", mapper, "--cookie", "c"}, args...)...)
	}
	code, out, errOut := cli("nodes", "--node", "mike@127.0.0.1", "--json")
	if want := `{"node":"mike@127.0.0.1","nodes":["joe@127.0.0.1","mike@127.0.0.1"]}` + "\n"; code != 0 || out != want {
		t.Fatalf("nodes: exit %d %q %q, want %s", code, out, errOut, want)
	}
	// where: the JSON shape of the issue, with the reason.
	code, out, _ = cli("--json", "where", "tapp", "--node", "mike@127.0.0.1")
	var w struct {
		Node string           `json:"node"`
		Apps []map[string]any `json:"apps"`
	}
	if err := json.Unmarshal([]byte(out), &w); err != nil || code != 0 || w.Node != "mike@127.0.0.1" || len(w.Apps) != 1 {
		t.Fatalf("where: exit %d %q", code, out)
	}
	a := w.Apps[0]
	if a["name"] != "tapp" || a["running_on"] != "joe@127.0.0.1" || a["epoch"] != 1.0 || a["start_type"] != "normal" ||
		a["from"] != nil || a["reason"] == "" || len(a) != 7 {
		t.Fatalf("where: %v", a)
	}
	if _, err := time.Parse(time.RFC3339, a["since"].(string)); err != nil {
		t.Fatalf("since: %v", err)
	}
	// takeover on the runner: already_running_locally, exit 1, one line on stderr.
	code, out, errOut = cli("takeover", "tapp", "--node", "joe@127.0.0.1", "--json")
	var e struct{ Error, Message string }
	if json.Unmarshal([]byte(out), &e); code != 1 || e.Error != "already_running_locally" || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("takeover on the runner: exit %d %q %q", code, out, errOut)
	}
	// takeover to mike, then apps on joe shows it there.
	if code, out, errOut = cli("takeover", "tapp", "--node", "mike@127.0.0.1", "--json"); code != 0 || out != `{"ok":true}`+"\n" {
		t.Fatalf("takeover: exit %d %q %q", code, out, errOut)
	}
	// joe learns of the move right after takeover returned (the old instance stops after the
	// new one started): ask until its view shows it, within a generous bound.
	code, out = eventually(t, func() (int, string) {
		c, o, _ := cli("apps", "--node", "joe@127.0.0.1", "--json")
		return c, o
	}, `"running_on":"mike@127.0.0.1"`)
	var apps struct {
		Apps []struct {
			Name      string  `json:"name"`
			RunningOn *string `json:"running_on"`
			Epoch     uint64  `json:"epoch"`
			StartType *string `json:"start_type"`
			From      *string `json:"from"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(out), &apps); err != nil || code != 0 || len(apps.Apps) != 1 ||
		*apps.Apps[0].RunningOn != "mike@127.0.0.1" || apps.Apps[0].Epoch != 2 || *apps.Apps[0].StartType != "takeover" ||
		*apps.Apps[0].From != "joe@127.0.0.1" {
		t.Fatalf("apps: exit %d %q", code, out)
	}
	// permit false on the runner moves it back to joe; permit of an unknown app fails.
	if code, out, errOut = cli("permit", "tapp", "false", "--node", "mike@127.0.0.1"); code != 0 || out != "ok\n" {
		t.Fatalf("permit: exit %d %q %q", code, out, errOut)
	}
	code, out = eventually(t, func() (int, string) {
		c, o, _ := cli("where", "tapp", "--node", "mike@127.0.0.1")
		return c, o
	}, "running on joe@127.0.0.1")
	if code != 0 || !strings.HasPrefix(out, "tapp: running on joe@127.0.0.1, epoch 3") {
		t.Fatalf("where after permit: exit %d %q", code, out)
	}
	if code, out, _ = cli("permit", "nope", "true", "--node", "mike@127.0.0.1", "--json"); code != 1 || !strings.Contains(out, `"error":"not_loaded"`) {
		t.Fatalf("permit unknown app: exit %d %q", code, out)
	}
	// The wrong cookie: refused, exit 1.
	if code, _, errOut = runCLI(t, "nodes", "--node", "joe@127.0.0.1", "--epmd-port", mapper, "--cookie", "wrong"); code != 1 || errOut == "" {
		t.Fatalf("wrong cookie: exit %d %q", code, errOut)
	}
}

// eventually runs f until its output contains want (or 30 s passed) and returns the last result.
func eventually(t *testing.T, f func() (int, string), want string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := f()
		if strings.Contains(out, want) || time.Now().After(deadline) {
			return code, out
		}
		time.Sleep(20 * time.Millisecond)
	}
}
