package nostrum

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/nostrum/discord"
	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/supervisor"
)

const (
	testToken = "bot-test-token-VERY-SECRET"
	intents   = IntentGuilds | IntentGuildMessages | IntentMessageContent
	deadline  = 30 * time.Second
)

func startFake(t *testing.T, mod func(*fakediscord.Config)) *fakediscord.Server {
	t.Helper()
	cfg := fakediscord.Config{
		Token:             testToken,
		HeartbeatInterval: 2 * time.Second,
		HeartbeatTimeout:  10 * time.Second, // no spurious resumes on a loaded machine
		IdentifyWindow:    50 * time.Millisecond,
		ReplayBuffer:      20000,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := fakediscord.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// syncBuffer collects log output; every test checks the token never shows up in it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recorder is a handler that records what it handled.
type recorder struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) handle(_ context.Context, ev Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func (r *recorder) messages() []Event {
	var out []Event
	for _, e := range r.snapshot() {
		if e.Type == "MESSAGE_CREATE" {
			out = append(out, e)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling an external process (the fake)
	}
}

// gwEvents records gateway lifecycle events.
type gwEvents struct {
	mu sync.Mutex
	ev []gateway.Event
}

func (g *gwEvents) add(e gateway.Event) {
	g.mu.Lock()
	g.ev = append(g.ev, e)
	g.mu.Unlock()
}

func countOf[T gateway.Event](g *gwEvents) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, e := range g.ev {
		if _, ok := e.(T); ok {
			n++
		}
	}
	return n
}

// testBot builds a bot against srv with scaled windows; logs go to a buffer checked for
// the token at cleanup.
func testBot(t *testing.T, srv *fakediscord.Server, rec *recorder, gw *gwEvents, mod func(*Options)) *Bot {
	t.Helper()
	logs := &syncBuffer{}
	o := Options{
		Token:             testToken,
		Intents:           intents,
		Shards:            Shards{Mode: ShardsCount, Count: 1},
		Handler:           rec.handle,
		BaseURL:           srv.URL(),
		Logger:            slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		IdentifyWindow:    50 * time.Millisecond,
		InvalidSessionMin: 5 * time.Millisecond,
		InvalidSessionMax: 20 * time.Millisecond,
		BackoffMin:        10 * time.Millisecond,
		BackoffMax:        100 * time.Millisecond,
		RESTRetryDelay:    10 * time.Millisecond,
		DrainTimeout:      5 * time.Second,
	}
	if gw != nil {
		o.OnGatewayEvent = gw.add
	}
	if mod != nil {
		mod(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out := logs.String(); strings.Contains(out, testToken) || strings.Contains(out, "VERY-SECRET") {
			t.Errorf("the token appears in the logs")
		}
	})
	return b
}

// serve runs children under a fresh supervisor until the test ends.
func serve(t *testing.T, children ...supervisor.ChildSpec) *supervisor.Supervisor {
	t.Helper()
	sup, err := supervisor.New(supervisor.Spec{Name: "test", Children: children, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("supervisor: %v", err)
			}
		case <-time.After(deadline):
			t.Error("supervisor did not stop")
		}
	})
	return sup
}

func channelOf(t *testing.T, srv *fakediscord.Server, guild int) string {
	t.Helper()
	return srv.Guilds()[guild].Channels[0].ID
}

func mustSnowflake(t *testing.T, s string) discord.Snowflake {
	t.Helper()
	id, err := discord.ParseSnowflake(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
