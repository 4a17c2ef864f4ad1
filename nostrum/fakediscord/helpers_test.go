package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const (
	testToken   = "test-token"
	allIntents  = IntentGuilds | IntentGuildMessages | IntentDirectMessages | IntentMessageContent
	waitTimeout = 15 * time.Second
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// startFake starts a server with test-friendly windows; mod adjusts cfg.
func startFake(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		Token:             testToken,
		HeartbeatInterval: time.Hour, // tests that need heartbeats set it
		IdentifyWindow:    time.Nanosecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("start fake: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close fake: %v", err)
		}
	})
	return s
}

type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

func (p payload) typ() string {
	if p.T == nil {
		return ""
	}
	return *p.T
}

func (p payload) seq() int64 {
	if p.S == nil {
		return -1
	}
	return *p.S
}

type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func dialRaw(t testing.TB, url string) *client {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

// dial connects with v=10&encoding=json and reads Hello.
func dial(t testing.TB, base string) (*client, int64) {
	t.Helper()
	c := dialRaw(t, base+"/?v=10&encoding=json")
	h := c.read()
	if h.Op != 10 {
		t.Fatalf("first payload op %d, want Hello (10)", h.Op)
	}
	var d struct {
		HeartbeatInterval int64 `json:"heartbeat_interval"`
	}
	if err := json.Unmarshal(h.D, &d); err != nil || d.HeartbeatInterval <= 0 {
		t.Fatalf("hello d %s: %v", h.D, err)
	}
	return c, d.HeartbeatInterval
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send raw: %v", err)
	}
}

func (c *client) tryRead() (payload, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(waitTimeout))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return payload{}, err
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return payload{}, fmt.Errorf("decode %s: %w", data, err)
	}
	return p, nil
}

func (c *client) read() payload {
	c.t.Helper()
	p, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

// readDispatch reads the next payload, skipping heartbeat ACKs, and wants a
// dispatch of type typ.
func (c *client) readDispatch(typ string) payload {
	c.t.Helper()
	for {
		p := c.read()
		if p.Op == 11 {
			continue
		}
		if p.Op != 0 || p.typ() != typ {
			c.t.Fatalf("got op %d t %q d %s, want dispatch %s", p.Op, p.typ(), p.D, typ)
		}
		return p
	}
}

// expectClose reads until the server's close frame and checks its code.
func (c *client) expectClose(code int) {
	c.t.Helper()
	for {
		_, err := c.tryRead()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("want close %d, got %v", code, err)
		}
		if ce.Code != code {
			c.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

func (c *client) expectOp9(resumable bool) {
	c.t.Helper()
	for {
		p := c.read()
		if p.Op == 11 {
			continue
		}
		if p.Op != 9 || string(p.D) != fmt.Sprint(resumable) {
			c.t.Fatalf("got op %d d %s, want op 9 %v", p.Op, p.D, resumable)
		}
		return
	}
}

func identifyPayload(token string, intents uint64, shard, n int) map[string]any {
	return map[string]any{"op": 2, "d": map[string]any{
		"token": token, "intents": intents, "shard": []int{shard, n},
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"},
	}}
}

type readyData struct {
	SessionID        string `json:"session_id"`
	ResumeGatewayURL string `json:"resume_gateway_url"`
	Shard            []int  `json:"shard"`
	V                int    `json:"v"`
	User             User   `json:"user"`
	Guilds           []struct {
		ID          string `json:"id"`
		Unavailable bool   `json:"unavailable"`
	} `json:"guilds"`
	Application struct {
		ID string `json:"id"`
	} `json:"application"`
}

// identify sends IDENTIFY and reads READY plus the GUILD_CREATEs of the shard.
func (c *client) identify(s *Server, shard, n int) readyData {
	c.t.Helper()
	c.send(identifyPayload(testToken, allIntents, shard, n))
	p := c.readDispatch("READY")
	var r readyData
	if err := json.Unmarshal(p.D, &r); err != nil {
		c.t.Fatalf("ready: %v", err)
	}
	for range r.Guilds {
		c.readDispatch("GUILD_CREATE")
	}
	return r
}

func resumePayload(session string, seq int64) map[string]any {
	return map[string]any{"op": 6, "d": map[string]any{"token": testToken, "session_id": session, "seq": seq}}
}

// eventually polls cond until it holds or the wait times out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func firstChannel(s *Server) string { return s.Guilds()[0].Channels[0].ID }

// rest does one REST call and decodes the JSON answer into out (if non-nil).
func rest(t *testing.T, method, url, auth, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp
}
