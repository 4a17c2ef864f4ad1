package nostrum

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/gotp/gotp/nostrum/fakediscord"
)

var record = flag.Bool("record", false, "re-record testdata/message_create.jsonl from nostrum/fakediscord")

// contents gives the recorded messages realistic variety: short and long, ASCII,
// non-ASCII, and text JSON must escape.
func contents(i int) string {
	switch i % 5 {
	case 0:
		return fmt.Sprintf("!ping %d", i)
	case 1:
		return strings.Repeat("the quick brown fox jumps over the lazy dog ", 1+i%8)
	case 2:
		return fmt.Sprintf("héllo wörld ✓ 🎉 message %d — ça va?", i)
	case 3:
		return fmt.Sprintf("line one\nline \"two\" with \\ backslash\ttab %d", i)
	default:
		return fmt.Sprintf("<@123456789012345678> can you look at https://example.com/issue/%d ?", i)
	}
}

func TestRecordStream(t *testing.T) {
	if !*record {
		t.Skip("run with -record to re-record the stream")
	}
	const n = 500
	srv, err := fakediscord.Start(fakediscord.Config{Token: "rec", HeartbeatInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial(srv.GatewayURL()+"/?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, _, err := ws.ReadMessage(); err != nil { // hello
		t.Fatal(err)
	}
	ident := map[string]any{"op": 2, "d": map[string]any{"token": "rec", "intents": 1<<0 | 1<<9 | 1<<15,
		"properties": map[string]string{"os": "linux", "browser": "rec", "device": "rec"}, "shard": []int{0, 1}}}
	if err := ws.WriteJSON(ident); err != nil {
		t.Fatal(err)
	}
	for {
		var env struct {
			T string `json:"t"`
		}
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatal(err)
		}
		if env.T == "GUILD_CREATE" {
			break
		}
	}
	ch := srv.Guilds()[0].Channels[0].ID
	for i := 0; i < n; i++ {
		if _, err := srv.InjectMessage(ch, contents(i)); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	for got := 0; got < n; {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			T string `json:"t"`
		}
		if json.Unmarshal(frame, &env) == nil && env.T == "MESSAGE_CREATE" {
			out.Write(frame)
			out.WriteByte('\n')
			got++
		}
	}
	if err := os.WriteFile(StreamFile, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
