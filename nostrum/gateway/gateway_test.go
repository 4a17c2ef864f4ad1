package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
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
	testToken = "gw-test-token-SECRET"
	intents   = fakediscord.IntentGuilds | fakediscord.IntentGuildMessages | fakediscord.IntentMessageContent
	deadline  = 20 * time.Second
)

func startFake(t *testing.T, mod func(*fakediscord.Config)) *fakediscord.Server {
	t.Helper()
	cfg := fakediscord.Config{
		Token: testToken,
		// Long heartbeats with a generous timeout: a loaded machine must not turn into
		// spurious resumes. Tests of heartbeats set their own.
		HeartbeatInterval: 2 * time.Second,
		HeartbeatTimeout:  10 * time.Second,
		IdentifyWindow:    time.Millisecond,
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

func channelID(t *testing.T, srv *fakediscord.Server) string {
	t.Helper()
	return srv.Guilds()[0].Channels[0].ID
}

// harness runs one session and records what it delivers.
type harness struct {
	t      *testing.T
	s      *gateway.Session
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	events []gateway.Event
	got    []gateway.Dispatch
	notify chan struct{}
}

func newSession(t *testing.T, srv *fakediscord.Server, mod func(*gateway.Config)) (*harness, *gateway.Session) {
	t.Helper()
	h := &harness{t: t, notify: make(chan struct{}, 1), done: make(chan error, 1)}
	cfg := gateway.Config{
		Logger:            slog.New(slog.DiscardHandler),
		Token:             func() string { return testToken },
		Intents:           intents,
		GatewayURL:        srv.GatewayURL(),
		InvalidSessionMin: 5 * time.Millisecond,
		InvalidSessionMax: 20 * time.Millisecond,
		BackoffMin:        10 * time.Millisecond,
		BackoffMax:        100 * time.Millisecond,
		Dispatch: func(_ context.Context, d gateway.Dispatch) error {
			h.mu.Lock()
			h.got = append(h.got, d)
			h.mu.Unlock()
			h.poke()
			return nil
		},
		OnEvent: func(e gateway.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
			h.poke()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h, s
}

func (h *harness) poke() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.s.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(deadline):
			h.t.Error("session did not stop")
		}
	})
}

// waitFor waits until cond holds over the recorded state.
func (h *harness) waitFor(what string, cond func(events []gateway.Event, got []gateway.Dispatch) bool) {
	h.t.Helper()
	timeout := time.After(deadline)
	for {
		h.mu.Lock()
		ok := cond(h.events, h.got)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.notify:
		case <-time.After(50 * time.Millisecond):
		case <-timeout:
			h.mu.Lock()
			defer h.mu.Unlock()
			h.t.Fatalf("timed out waiting for %s; events: %v", what, h.events)
		}
	}
}

func count[T gateway.Event](events []gateway.Event) int {
	n := 0
	for _, e := range events {
		if _, ok := e.(T); ok {
			n++
		}
	}
	return n
}

func (h *harness) waitCount(n int, kind string, cnt func([]gateway.Event) int) {
	h.t.Helper()
	h.waitFor(kind, func(ev []gateway.Event, _ []gateway.Dispatch) bool { return cnt(ev) >= n })
}

func (h *harness) messages() []gateway.Dispatch {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []gateway.Dispatch
	for _, d := range h.got {
		if d.Type == "MESSAGE_CREATE" {
			out = append(out, d)
		}
	}
	return out
}

// checkSeqs asserts the dispatches carry every sequence number once, in order, from 1.
func (h *harness) checkSeqs() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var prev int64
	for _, d := range h.got {
		if d.Type == "READY" {
			prev = 0
		}
		if d.Seq != prev+1 {
			h.t.Fatalf("seq %d (%s) after %d: lost or repeated events", d.Seq, d.Type, prev)
		}
		prev = d.Seq
	}
}

func inject(t *testing.T, srv *fakediscord.Server, n int, prefix string) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		m, err := srv.InjectMessage(channelID(t, srv), prefix)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func (h *harness) waitMessages(n int) {
	h.t.Helper()
	h.waitFor("messages", func(_ []gateway.Event, got []gateway.Dispatch) bool {
		c := 0
		for _, d := range got {
			if d.Type == "MESSAGE_CREATE" {
				c++
			}
		}
		return c >= n
	})
}

func TestIdentifyReadyAndMessage(t *testing.T) {
	srv := startFake(t, nil)
	h, _ := newSession(t, srv, nil)
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	inject(t, srv, 1, "hello gotp")
	h.waitMessages(1)
	var m discord.Message
	if err := discord.DecodeMessage(h.messages()[0].Data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Content != "hello gotp" || m.ChannelID.String() != channelID(t, srv) {
		t.Fatalf("message = %+v", m)
	}
	h.checkSeqs()
	st := h.s.State()
	if st.SessionID == "" || st.ResumeURL != srv.ResumeURL() {
		t.Fatalf("state = %+v, want resume URL %s", st, srv.ResumeURL())
	}
}

func TestHelloJitterBounds(t *testing.T) {
	srv := startFake(t, func(c *fakediscord.Config) { c.HeartbeatInterval = 400 * time.Millisecond })
	h, _ := newSession(t, srv, func(c *gateway.Config) { c.Rand = func() float64 { return 0.25 } })
	h.run()
	h.waitCount(1, "hello", count[gateway.Hello])
	h.mu.Lock()
	var hello gateway.Hello
	for _, e := range h.events {
		if e, ok := e.(gateway.Hello); ok {
			hello = e
		}
	}
	h.mu.Unlock()
	if hello.Interval != 400*time.Millisecond || hello.FirstBeat != 100*time.Millisecond {
		t.Fatalf("hello = %+v, want interval 400ms and first beat 100ms (interval × 0.25)", hello)
	}
	// The first beat really goes out, and the gateway ACKs it (no zombie).
	h.waitFor("heartbeats", func([]gateway.Event, []gateway.Dispatch) bool { return srv.Stats().Heartbeats >= 2 })
	if n := count[gateway.Disconnected](h.events); n != 0 {
		t.Fatalf("disconnected %d times with healthy heartbeats", n)
	}

	// With the default random source the first beat is always within [0, interval).
	seen := map[time.Duration]bool{}
	for i := 0; i < 5; i++ {
		h2, _ := newSession(t, srv, nil)
		h2.run()
		h2.waitCount(1, "hello", count[gateway.Hello])
		h2.mu.Lock()
		for _, e := range h2.events {
			if e, ok := e.(gateway.Hello); ok {
				if e.FirstBeat < 0 || e.FirstBeat >= e.Interval {
					t.Errorf("first beat %v outside [0, %v)", e.FirstBeat, e.Interval)
				}
				seen[e.FirstBeat] = true
			}
		}
		h2.mu.Unlock()
		h2.cancel()
	}
	if len(seen) < 2 {
		t.Fatalf("first beats %v: no jitter", seen)
	}
}

func resumesOnResumeURL(srv *fakediscord.Server) int {
	return srv.Stats().ResumesByURL[srv.ResumeURL()]
}

func TestOp7ResumesOnResumeURLWithoutLoss(t *testing.T) {
	srv := startFake(t, nil)
	h, _ := newSession(t, srv, nil)
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	inject(t, srv, 20, "before")
	if err := srv.Reconnect(0); err != nil {
		t.Fatal(err)
	}
	inject(t, srv, 20, "during") // sequence keeps counting while we reconnect
	h.waitCount(1, "resumed", count[gateway.Resumed])
	inject(t, srv, 20, "after")
	h.waitMessages(60)
	h.checkSeqs()
	if r := resumesOnResumeURL(srv); r != 1 {
		t.Fatalf("resumes on the resume URL = %d, want 1 (stats %+v)", r, srv.Stats().ResumesByURL)
	}
	if n := srv.Stats().Identifies; n != 1 {
		t.Fatalf("identifies = %d, want 1", n)
	}
}

func TestZombieResumesOnResumeURLWithoutLoss(t *testing.T) {
	srv := startFake(t, func(c *fakediscord.Config) {
		c.HeartbeatInterval, c.HeartbeatTimeout = 300*time.Millisecond, 0 // 1.5 × interval
	})
	h, _ := newSession(t, srv, nil)
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	h.waitFor("first heartbeat", func([]gateway.Event, []gateway.Dispatch) bool { return srv.Stats().HeartbeatACKs >= 1 })
	if err := srv.SetZombie(0, true); err != nil {
		t.Fatal(err)
	}
	inject(t, srv, 10, "zombie")
	h.waitFor("zombie disconnect", func(ev []gateway.Event, _ []gateway.Dispatch) bool {
		for _, e := range ev {
			if d, ok := e.(gateway.Disconnected); ok && strings.Contains(d.Reason, "zombie") {
				return true
			}
		}
		return false
	})
	if err := srv.SetZombie(0, false); err != nil {
		t.Fatal(err)
	}
	h.waitCount(1, "resumed", count[gateway.Resumed])
	inject(t, srv, 10, "after")
	h.waitMessages(20)
	h.checkSeqs()
	if r := resumesOnResumeURL(srv); r < 1 {
		t.Fatalf("no resume on the resume URL: %+v", srv.Stats().ResumesByURL)
	}
	if n := srv.Stats().Identifies; n != 1 {
		t.Fatalf("identifies = %d, want 1", n)
	}
	if n := srv.Stats().CloseCodesReceived[1000] + srv.Stats().CloseCodesReceived[1001]; n != 0 {
		t.Fatalf("zombie close used 1000/1001 %d times; it must keep the session", n)
	}
}

func TestInvalidSessionResumable(t *testing.T) {
	srv := startFake(t, nil)
	h, _ := newSession(t, srv, nil)
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	inject(t, srv, 5, "a")
	h.waitMessages(5)
	if err := srv.InvalidSession(0, true); err != nil {
		t.Fatal(err)
	}
	h.waitCount(1, "resumed", count[gateway.Resumed])
	inject(t, srv, 5, "b")
	h.waitMessages(10)
	h.checkSeqs()
	if st := srv.Stats(); st.Identifies != 1 || st.Resumes != 1 {
		t.Fatalf("identifies %d resumes %d, want 1 and 1", st.Identifies, st.Resumes)
	}
}

func TestInvalidSessionNotResumableIdentifies(t *testing.T) {
	srv := startFake(t, nil)
	var mu sync.Mutex
	var lostAt, reconnectAt time.Time
	h, _ := newSession(t, srv, func(c *gateway.Config) {
		c.InvalidSessionMin, c.InvalidSessionMax = 150*time.Millisecond, 200*time.Millisecond
		next := c.OnEvent
		c.OnEvent = func(e gateway.Event) {
			mu.Lock()
			switch e.(type) {
			case gateway.SessionLost:
				lostAt = time.Now()
			case gateway.Connected:
				if !lostAt.IsZero() && reconnectAt.IsZero() {
					reconnectAt = time.Now()
				}
			}
			mu.Unlock()
			next(e)
		}
	})
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	if err := srv.InvalidSession(0, false); err != nil {
		t.Fatal(err)
	}
	h.waitCount(2, "second ready", count[gateway.Ready])
	h.waitCount(1, "session lost", count[gateway.SessionLost])
	inject(t, srv, 3, "c")
	h.waitMessages(3)
	h.checkSeqs()
	st := srv.Stats()
	if st.Identifies != 2 || st.Resumes != 0 {
		t.Fatalf("identifies %d resumes %d, want 2 and 0", st.Identifies, st.Resumes)
	}
	if st.Connections != 2 {
		t.Fatalf("connections = %d, want 2 (a new one on the base URL)", st.Connections)
	}
	mu.Lock()
	defer mu.Unlock()
	if wait := reconnectAt.Sub(lostAt); wait < 150*time.Millisecond {
		t.Fatalf("re-identified %v after op 9 false, want the 150–200 ms wait", wait)
	}
}

func TestReidentifyCloseCodes(t *testing.T) {
	for _, code := range []int{4007, 4009} {
		t.Run("", func(t *testing.T) {
			srv := startFake(t, nil)
			h, _ := newSession(t, srv, nil)
			h.run()
			h.waitCount(1, "ready", count[gateway.Ready])
			if err := srv.CloseShard(0, code); err != nil {
				t.Fatal(err)
			}
			h.waitCount(2, "second ready", count[gateway.Ready])
			if st := srv.Stats(); st.Identifies != 2 || st.Resumes != 0 {
				t.Fatalf("code %d: identifies %d resumes %d, want 2 and 0", code, st.Identifies, st.Resumes)
			}
		})
	}
}

func TestResumableCloseCodeResumes(t *testing.T) {
	srv := startFake(t, nil)
	h, _ := newSession(t, srv, nil)
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	if err := srv.CloseShard(0, 4000); err != nil {
		t.Fatal(err)
	}
	h.waitCount(1, "resumed", count[gateway.Resumed])
	if err := srv.DropShard(0); err != nil {
		t.Fatal(err)
	}
	h.waitCount(2, "resumed after drop", count[gateway.Resumed])
	if r := resumesOnResumeURL(srv); r != 2 {
		t.Fatalf("resumes on resume URL = %d, want 2", r)
	}
}

func TestFatalCloseCodesStopWithoutRetry(t *testing.T) {
	for _, code := range []int{4004, 4010, 4011, 4012, 4013, 4014} {
		t.Run("", func(t *testing.T) {
			srv := startFake(t, nil)
			h, s := newSession(t, srv, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			h.waitCount(1, "ready", count[gateway.Ready])
			if err := srv.CloseShard(0, code); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(deadline):
				t.Fatalf("code %d: shard kept running", code)
			}
			var ce *gateway.CloseError
			if !errors.As(err, &ce) || ce.Code != code || !errors.Is(err, supervisor.ErrDoNotRestart) ||
				!errors.Is(err, gateway.ErrFatalClose) {
				t.Fatalf("code %d: err = %v", code, err)
			}
			if !strings.Contains(err.Error(), "4") || strings.Contains(err.Error(), testToken) {
				t.Fatalf("error text %q", err)
			}
			if n := srv.Stats().Connections; n != 1 {
				t.Fatalf("code %d: %d connections, want 1 (no retry)", code, n)
			}
		})
	}
}

func TestFatalIdentifyBadToken(t *testing.T) {
	srv := startFake(t, nil)
	_, s := newSession(t, srv, func(c *gateway.Config) { c.Token = func() string { return "wrong-SECRET" } })
	err := s.Run(context.Background())
	var ce *gateway.CloseError
	if !errors.As(err, &ce) || ce.Code != 4004 {
		t.Fatalf("err = %v, want close 4004", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("token leaked in %q", err)
	}
}

func TestStopEndsSessionWith1000(t *testing.T) {
	srv := startFake(t, nil)
	h, s := newSession(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h.waitCount(1, "ready", count[gateway.Ready])
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if n := srv.Stats().CloseCodesReceived[1000]; n != 1 {
		t.Fatalf("close 1000 received %d times, want 1", n)
	}
	if err := s.Send(context.Background(), 3, nil); !errors.Is(err, gateway.ErrClosed) {
		t.Fatalf("send after stop = %v, want ErrClosed", err)
	}
}

func TestDetachThenResumeElsewhere(t *testing.T) {
	srv := startFake(t, nil)
	h, s := newSession(t, srv, nil)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	h.waitCount(1, "ready", count[gateway.Ready])
	inject(t, srv, 10, "first")
	h.waitMessages(10)
	s.Detach()
	if err := <-done; !errors.Is(err, gateway.ErrDetached) {
		t.Fatalf("run = %v, want ErrDetached", err)
	}
	st := s.State()
	if n := srv.Stats().CloseCodesReceived[1000] + srv.Stats().CloseCodesReceived[1001]; n != 0 {
		t.Fatal("detach sent a session-ending close")
	}
	inject(t, srv, 10, "gap") // sent while nobody is attached

	h2, s2 := newSession(t, srv, nil)
	s2.SetState(st)
	h2.run()
	h2.waitCount(1, "resumed", count[gateway.Resumed])
	inject(t, srv, 10, "second")
	h2.waitMessages(20)
	h2.mu.Lock()
	second := append([]gateway.Dispatch(nil), h2.got...)
	h2.mu.Unlock()
	if st.Seq+1 != second[0].Seq {
		t.Fatalf("first process ended at %d, second began at %d", st.Seq, second[0].Seq)
	}
	for i := 1; i < len(second); i++ {
		if second[i].Seq != second[i-1].Seq+1 {
			t.Fatalf("gap or repeat in second process at %d", second[i].Seq)
		}
	}
}

func TestSendBurstNeverTrips4008(t *testing.T) {
	// Scaled 150×: 120 per 400 ms. The margin absorbs the arrival jitter of a loaded test
	// machine (the fake counts arrivals); with the real window it is 250 ms of 60 s.
	srv := startFake(t, func(c *fakediscord.Config) {
		c.SendLimit, c.SendWindow = 120, 400*time.Millisecond
		c.HeartbeatInterval = 500 * time.Millisecond // heartbeats interleave with the burst
	})
	h, s := newSession(t, srv, func(c *gateway.Config) {
		c.SendLimit, c.SendWindow, c.SendMargin = 120, 400*time.Millisecond, 200*time.Millisecond
	})
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	presence := map[string]any{"since": nil, "activities": []any{}, "status": "online", "afk": false}
	for i := 0; i < 500; i++ {
		if err := s.Send(ctx, discord.OpPresenceUpdate, presence); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.CloseCodesSent[4008] != 0 || st.Connections != 1 {
		h.mu.Lock()
		defer h.mu.Unlock()
		t.Fatalf("4008 sent %d times, %d connections; events %v", st.CloseCodesSent[4008], st.Connections, h.events)
	}
	if st.HeartbeatACKs == 0 {
		t.Fatal("no heartbeat went out during the burst")
	}
	if n := count[gateway.Disconnected](h.events); n != 0 {
		t.Fatalf("disconnected %d times during the burst (heartbeats starved?)", n)
	}
	if err := s.Send(ctx, 3, strings.Repeat("x", 4100)); !errors.Is(err, gateway.ErrPayloadTooLarge) {
		t.Fatalf("big payload: %v, want ErrPayloadTooLarge", err)
	}
}

func TestZlibStream(t *testing.T) {
	srv := startFake(t, nil)
	h, _ := newSession(t, srv, func(c *gateway.Config) { c.Compress = true })
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	inject(t, srv, 30, "compressed")
	h.waitMessages(30)
	h.checkSeqs()
}

func TestConfigValidate(t *testing.T) {
	bad := []gateway.Config{
		{},
		{Token: func() string { return "t" }, Dispatch: func(context.Context, gateway.Dispatch) error { return nil }, GatewayURL: "http://x"},
		{Token: func() string { return "t" }, Dispatch: func(context.Context, gateway.Dispatch) error { return nil }, GatewayURL: "ws://x", Shard: 2, ShardCount: 2},
	}
	for i, c := range bad {
		if _, err := gateway.New(c); !errors.Is(err, gateway.ErrInvalidConfig) {
			t.Errorf("config %d: err = %v", i, err)
		}
	}
}

// TestUnscaledSendBurst sends 500 payloads with Discord's real send limit (120 per 60 s)
// and heartbeat interval against a fake with the same: never 4008, never starved.
// It takes over four minutes:
//
//	NOSTRUM_UNSCALED=1 go test -run Unscaled -v -timeout 30m ./nostrum/gateway
func TestUnscaledSendBurst(t *testing.T) {
	if os.Getenv("NOSTRUM_UNSCALED") != "1" {
		t.Skip("long run with Discord's real windows; set NOSTRUM_UNSCALED=1 to run it")
	}
	srv := startFake(t, func(c *fakediscord.Config) { c.HeartbeatInterval = 0 }) // real 41.25 s
	h, s := newSession(t, srv, nil)                                              // real 120 / 60 s
	h.run()
	h.waitCount(1, "ready", count[gateway.Ready])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	for i := 0; i < 500; i++ {
		if err := s.Send(ctx, discord.OpPresenceUpdate, map[string]any{"since": nil, "activities": []any{}, "status": "online", "afk": false}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.CloseCodesSent[4008] != 0 || st.Connections != 1 {
		t.Fatalf("4008 sent %d times, %d connections", st.CloseCodesSent[4008], st.Connections)
	}
	t.Logf("500 sends in %v, %d heartbeats acknowledged", time.Since(start), st.HeartbeatACKs)
}
