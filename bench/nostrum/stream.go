// Package nostrum compares gotp's nostrum with bwmarrin/discordgo on the gateway's hot
// path: MESSAGE_CREATE frames decoded into a typed message and handed to a handler
// goroutine, from the same recorded stream (testdata/message_create.jsonl, recorded from
// nostrum/fakediscord by `go test -run TestRecordStream -record`).
package nostrum

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
)

// StreamFile is the recorded stream: one gateway frame per line.
const StreamFile = "testdata/message_create.jsonl"

// LoadStream reads the recorded frames.
func LoadStream(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: reading stream: %w", err)
	}
	var frames [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			frames = append(frames, append([]byte(nil), sc.Bytes()...))
		}
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("bench: stream %s is empty", path)
	}
	return frames, sc.Err()
}
