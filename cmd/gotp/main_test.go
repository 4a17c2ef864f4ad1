package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const seedJSON = `{"kernel":{"distributed":[{"app":"mybot","timeout":5000,"nodes":[["joe@HOSTNAME"],["mike@HOSTNAME","robert@HOSTNAME"]]}],"sync_nodes_mandatory":["mike@HOSTNAME","robert@HOSTNAME"],"sync_nodes_optional":[],"sync_nodes_timeout":30000}}` + "\n"

func TestConfigCheckSeedJSON(t *testing.T) {
	t.Parallel()
	// --json before the command, after it, and after the file: same result.
	for _, args := range [][]string{
		{"--json", "config", "check", "../../testdata/mybot_joe.config"},
		{"config", "check", "--json", "../../testdata/mybot_joe.config"},
		{"config", "check", "../../testdata/mybot_joe", "-json"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if out != seedJSON {
			t.Errorf("%v: stdout\n%s\nwant\n%s", args, out, seedJSON)
		}
	}
}

func TestConfigCheckJSONShape(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, "x.config", `[{kernel, [{distributed, [{a, infinity, [{'n@my-host', m@h}, z@h]}, {b, []}]},
  {sync_nodes_optional, [o@h]}, {sync_nodes_timeout, infinity}]}].`)
	code, out, _ := runCLI(t, "config", "check", "--json", p)
	want := `{"kernel":{"distributed":[{"app":"a","timeout":"infinity","nodes":[["n@my-host","m@h"],["z@h"]]},{"app":"b","timeout":0,"nodes":[]}],"sync_nodes_mandatory":[],"sync_nodes_optional":["o@h"],"sync_nodes_timeout":"infinity"}}` + "\n"
	if code != 0 || out != want {
		t.Errorf("exit %d stdout\n%s\nwant\n%s", code, out, want)
	}
	// nothing set: every key present, empty lists, null timeout
	p = writeConfig(t, "e.config", "[{kernel, [{sync_nodes_mandatory, [a@h]}]}].")
	code, out, _ = runCLI(t, "config", "check", "--json", p)
	want = `{"kernel":{"distributed":[],"sync_nodes_mandatory":["a@h"],"sync_nodes_optional":[],"sync_nodes_timeout":null}}` + "\n"
	if code != 0 || out != want {
		t.Errorf("exit %d stdout\n%s\nwant\n%s", code, out, want)
	}
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 1 || len(v["kernel"]) != 4 {
		t.Errorf("shape: %v %v", v, err)
	}
}

func TestConfigCheckPlain(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, "config", "check", "../../testdata/mybot_joe.config", "../../testdata/mybot_mike.config")
	if code != 0 || errOut != "" || !strings.Contains(out, "ok") {
		t.Errorf("exit %d stdout %q stderr %q", code, out, errOut)
	}
}

func TestConfigCheckInvalid(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, "bad.config", "[{kernel,\n  [{distributed, [{mybot, -5, [joe@h]}]}]}].")
	wantLine := p + ":2:27: found -5 for kernel distributed, expected a failover timeout of mybot in milliseconds (an integer >= 0) or infinity"
	code, out, errOut := runCLI(t, "config", "check", p)
	if code != 1 || out != "" || errOut != wantLine+"\n" {
		t.Errorf("exit %d stdout %q stderr %q, want stderr %q", code, out, errOut, wantLine)
	}
	code, out, errOut = runCLI(t, "config", "check", "--json", p)
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 || got["error"] != "bad_config" || got["message"] != wantLine {
		t.Errorf("json error object %q: %v", out, err)
	}
	if code != 1 || !strings.HasPrefix(out, `{"error":"bad_config","message":"`) || errOut != wantLine+"\n" {
		t.Errorf("json: exit %d stdout %q stderr %q", code, out, errOut)
	}
	// unreadable file: FILE: why
	missing := filepath.Join(t.TempDir(), "nope")
	code, _, errOut = runCLI(t, "config", "check", missing)
	if code != 1 || errOut != missing+".config: no such file or directory\n" {
		t.Errorf("missing: exit %d stderr %q", code, errOut)
	}
	// a later file's error is reported with that file's name
	code, _, errOut = runCLI(t, "config", "check", "../../testdata/mybot_joe.config", p)
	if code != 1 || !strings.HasPrefix(errOut, p+":2:27:") {
		t.Errorf("second file: exit %d stderr %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"config"},
		{"config", "check"},
		{"config", "check", "--bogus", "x"},
		{"frobnicate"},
		{"config", "check", "--json=maybe", "x"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage: gotp") {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, "--help")
	if code != 0 || !strings.Contains(out, "config check") {
		t.Errorf("--help: exit %d %q", code, out)
	}
	// "--" ends flags: a file named like a flag
	p := writeConfig(t, "-odd.config", "[].")
	code, _, errOut := runCLI(t, "config", "check", "--", p)
	if code != 0 {
		t.Errorf("after --: exit %d %q", code, errOut)
	}
}

// TestBinary builds the real program and checks its exit codes and streams.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "gotp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "config", "check", "--json", "../../testdata/mybot_robert.config")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"sync_nodes_mandatory":["joe@HOSTNAME","mike@HOSTNAME"]`) {
		t.Errorf("robert: %v %s", err, out)
	}
	bad := writeConfig(t, "b.config", "[{kernel, [x]}].")
	cmd = exec.Command(bin, "config", "check", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), bad+":1:12: ") {
		t.Errorf("bad: %v stderr %q", err, stderr.String())
	}
	err = exec.Command(bin).Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("no args: %v", err)
	}
}
