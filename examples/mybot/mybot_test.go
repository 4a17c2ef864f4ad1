package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotp/gotp/app"
)

// The trace lines have design.md's shape: type and from null on stop lines and normal
// starts, short node names, the epoch on every line, no phase outside start_phase lines.
func TestTraceShape(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	f, err := openLines(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bot{traceF: f}
	b.trace("start", &app.StartType{Kind: app.KindFailover, From: "joe@host", Epoch: 2}, 2)
	b.trace("start", &app.StartType{Kind: app.KindNormal, Epoch: 3}, 3)
	b.trace("prep_stop", nil, 3)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []string{
		`"node":"nonode","event":"start","type":"failover","from":"joe","epoch":2}`,
		`"node":"nonode","event":"start","type":"normal","from":null,"epoch":3}`,
		`"node":"nonode","event":"prep_stop","type":null,"from":null,"epoch":3}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines %q", lines)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["t_ms"].(float64)*1000 > m["t_us"].(float64) || !strings.HasSuffix(l, want[i]) {
			t.Errorf("line %d: %s, want …%s", i, l, want[i])
		}
	}
}

// A nil writer (no -trace, no MYBOT_TRACE) writes nothing and does not fail.
func TestNoTraceFile(t *testing.T) {
	t.Parallel()
	f, err := openLines("")
	if err != nil || f != nil {
		t.Fatalf("%v %v", f, err)
	}
	(&Bot{}).trace("stop", nil, 1)
}
