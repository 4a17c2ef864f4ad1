package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// traceLine is one line of design.md's trace: one per App callback, stamped on entry.
type traceLine struct {
	TMs   int64   `json:"t_ms"`
	TUs   int64   `json:"t_us"`
	Node  string  `json:"node"`
	Event string  `json:"event"` // start | start_phase | prep_stop | stop
	Type  *string `json:"type"`  // normal | failover | takeover; null on prep_stop and stop
	From  *string `json:"from"`  // short name; null on normal starts, prep_stop and stop
	Epoch uint64  `json:"epoch"`
	Phase string  `json:"phase,omitempty"` // start_phase lines only
}

// eventLine is one line of the events file: one per handled MESSAGE_CREATE.
type eventLine struct {
	TUs   int64  `json:"t_us"`
	Node  string `json:"node"`
	Shard int    `json:"shard"`
	Seq   int64  `json:"seq"`
	ID    string `json:"id"`
}

// jsonLines appends JSON lines to a file, one Write per line (O_APPEND keeps lines of
// several processes whole). A nil *jsonLines writes nothing.
type jsonLines struct {
	mu sync.Mutex
	f  *os.File
}

func openLines(path string) (*jsonLines, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("mybot: open %s: %w", path, err)
	}
	return &jsonLines{f: f}, nil
}

func (j *jsonLines) write(v any) {
	if j == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.f.Write(append(b, '\n'))
}

func stamp(now time.Time) (ms, us int64) { return now.UnixMilli(), now.UnixMicro() }
