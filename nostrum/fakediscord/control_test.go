package fakediscord

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestControlHTTPAPI(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.ReplayBuffer = 100 })
	ch := firstChannel(s)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	post := func(path, body string, out any) int {
		t.Helper()
		return rest(t, "POST", s.URL()+"/_fake/"+path, "", body, out).StatusCode
	}
	var m Message
	if code := post("inject", `{"channel_id":"`+ch+`","content":"via http"}`, &m); code != 200 || m.Content != "via http" {
		t.Fatalf("inject %d %+v", code, m)
	}
	if p := c.readDispatch("MESSAGE_CREATE"); !strings.Contains(string(p.D), m.ID) {
		t.Fatalf("event %s", p.D)
	}
	if code := post("inject", `{"channel_id":"1","content":"x"}`, nil); code != 404 {
		t.Fatalf("inject unknown channel %d", code)
	}
	if code := post("event", `{"shard":0,"t":"TYPING_START","d":{"channel_id":"`+ch+`"}}`, nil); code != 200 {
		t.Fatalf("event %d", code)
	}
	c.readDispatch("TYPING_START")
	if code := post("shards/0/heartbeat", ``, nil); code != 200 {
		t.Fatalf("heartbeat %d", code)
	}
	if p := c.read(); p.Op != 1 {
		t.Fatalf("op %d, want 1", p.Op)
	}
	if code := post("shards/0/zombie", `{"on":true}`, nil); code != 200 {
		t.Fatalf("zombie %d", code)
	}
	if code := post("shards/0/zombie", `{"on":false}`, nil); code != 200 {
		t.Fatalf("zombie off %d", code)
	}
	if code := post("shards/0/reconnect", ``, nil); code != 200 {
		t.Fatalf("reconnect %d", code)
	}
	if p := c.read(); p.Op != 7 {
		t.Fatalf("op %d, want 7", p.Op)
	}
	if code := post("shards/0/invalidsession", `{"resumable":true}`, nil); code != 200 {
		t.Fatalf("invalid session %d", code)
	}
	c.expectOp9(true)
	c.send(resumePayload(r.SessionID, 4))
	c.readDispatch("RESUMED")
	if code := post("shards/0/close", `{"code":4009}`, nil); code != 200 {
		t.Fatalf("close %d", code)
	}
	c.expectClose(4009)
	if code := post("shards/0/drop", ``, nil); code != 404 {
		t.Fatalf("drop without a connection: %d, want 404", code)
	}
	if code := post("shards/x/drop", ``, nil); code != 404 {
		t.Fatalf("bad shard %d", code)
	}
	var id struct {
		ID string `json:"id"`
	}
	c, _ = dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	if code := post("stream/start", `{"per_second":1000,"channel_id":"`+ch+`"}`, &id); code != 200 || id.ID == "" {
		t.Fatalf("stream start %d %+v", code, id)
	}
	for i := 0; i < 5; i++ {
		c.readDispatch("MESSAGE_CREATE")
	}
	if code := post("stream/stop", `{"id":"`+id.ID+`"}`, nil); code != 200 {
		t.Fatalf("stream stop %d", code)
	}
	if code := post("stream/stop", `{"id":"`+id.ID+`"}`, nil); code != 404 {
		t.Fatalf("second stop %d", code)
	}
	if code := post("rest", `{"shared_429":1,"retry_after_ms":100}`, nil); code != 200 {
		t.Fatalf("rest knobs %d", code)
	}
	if resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, nil); resp.StatusCode != 429 {
		t.Fatalf("forced shared 429: %d", resp.StatusCode)
	}
	if code := post("heartbeat", `{"interval_ms":1234}`, nil); code != 200 {
		t.Fatalf("heartbeat interval %d", code)
	}
	if _, iv := dial(t, s.GatewayURL()); iv != 1234 {
		t.Fatalf("hello interval %d", iv)
	}
	if code := post("sessions/expire", ``, nil); code != 200 {
		t.Fatalf("expire %d", code)
	}
	if code := post("identify/reset", ``, nil); code != 200 {
		t.Fatalf("identify reset %d", code)
	}
	var st Stats
	rest(t, "GET", s.URL()+"/_fake/stats", "", "", &st)
	if st.Identifies != 2 || st.SessionStartLeft != 1000 || st.CloseCodesSent[4009] != 1 || st.Resumes != 1 {
		t.Fatalf("stats %+v", st)
	}
	var msgs []Message
	rest(t, "GET", s.URL()+"/_fake/messages", "", "", &msgs)
	if len(msgs) != 0 {
		t.Fatalf("messages %+v", msgs)
	}
	var ds []Dispatch
	rest(t, "GET", s.URL()+"/_fake/dispatched", "", "", &ds)
	if len(ds) < 10 || ds[0].Type != "READY" {
		t.Fatalf("dispatched %d", len(ds))
	}
	var world struct {
		Bot    User    `json:"bot"`
		Guilds []Guild `json:"guilds"`
	}
	rest(t, "GET", s.URL()+"/_fake/world", "", "", &world)
	if world.Bot.ID != s.BotUser().ID || len(world.Guilds) != 1 || world.Guilds[0].Channels[0].ID != ch {
		t.Fatalf("world %+v", world)
	}
}

func TestStreamStops(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	stop := s.StartStream(2000, firstChannel(s))
	for i := 0; i < 50; i++ {
		var m Message
		if err := json.Unmarshal(c.readDispatch("MESSAGE_CREATE").D, &m); err != nil {
			t.Fatal(err)
		}
		if want := "stream " + itoa(i); m.Content != want {
			t.Fatalf("content %q, want %q", m.Content, want)
		}
	}
	stop()
	n := s.Stats().MessagesInjected
	if err := s.InjectEvent(0, "MARKER", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().MessagesInjected; got != n {
		t.Fatalf("stream injected after stop: %d → %d", n, got)
	}
	stop() // idempotent
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestControlErrors(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	if _, err := s.InjectMessage("1", "x"); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("inject: %v", err)
	}
	if err := s.InjectEvent(0, "X", json.RawMessage(`{`)); err == nil {
		t.Fatal("InjectEvent accepted bad JSON")
	}
	if err := s.InjectEvent(0, "", json.RawMessage(`{}`)); err == nil {
		t.Fatal("InjectEvent accepted an empty type")
	}
	for name, err := range map[string]error{
		"reconnect": s.Reconnect(0), "invalid": s.InvalidSession(0, true),
		"close": s.CloseShard(0, 4000), "drop": s.DropShard(0),
	} {
		if !errors.Is(err, ErrNoConnection) {
			t.Errorf("%s: %v, want ErrNoConnection", name, err)
		}
	}
	if err := s.CloseShard(0, 99); err == nil {
		t.Error("CloseShard accepted code 99")
	}
	if err := s.SetHeartbeatInterval(0); err == nil {
		t.Error("SetHeartbeatInterval accepted 0")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InjectMessage(firstChannel(s), "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := s.Reconnect(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	s.StartStream(10, firstChannel(s))() // a no-op stream
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := []Config{
		{Shards: -1},
		{SendWindow: -time.Second},
		{AllowedIntents: 1 << 40},
		{Guilds: []Guild{{ID: "abc"}}},
		{Guilds: []Guild{{ID: "175928847299117063", Channels: []Channel{{ID: "175928847299117063"}}}}},
	}
	for i, cfg := range bad {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: %v, want ErrInvalidConfig", i, err)
		}
		if _, err := Start(cfg); err == nil {
			t.Errorf("case %d: Start accepted it", i)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
}

func TestMakeGuilds(t *testing.T) {
	t.Parallel()
	gs := MakeGuilds(4, 3)
	count := map[int]int{}
	for _, g := range gs {
		id, err := parseSnowflake(g.ID)
		if err != nil || len(g.Channels) != 1 {
			t.Fatalf("guild %+v: %v", g, err)
		}
		count[ShardOf(id, 4)]++
	}
	for sh := 0; sh < 4; sh++ {
		if count[sh] != 3 {
			t.Fatalf("shard counts %v", count)
		}
	}
	if err := (Config{Guilds: gs}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSessionControls(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	a, _ := dial(t, s.GatewayURL())
	ra := a.identify(s, 0, 1)
	b, _ := dial(t, s.GatewayURL())
	rb := b.identify(s, 0, 1) // a second session on the same shard
	if err := s.CloseSession(ra.SessionID, 4000); err != nil {
		t.Fatal(err)
	}
	a.expectClose(4000)
	if err := s.InjectEvent(0, "MARKER", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	b.readDispatch("MARKER") // the other session is untouched
	if code := rest(t, "POST", s.URL()+"/_fake/sessions/"+rb.SessionID+"/drop", "", "", nil).StatusCode; code != 200 {
		t.Fatalf("drop %d", code)
	}
	eventually(t, "b detached", func() bool { return !attached(s, rb.SessionID) })
	if err := s.DropSession(rb.SessionID); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("second drop: %v", err)
	}
	if err := s.CloseSession("nope", 4000); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("unknown session: %v", err)
	}
	for _, r := range []readyData{ra, rb} { // both kept their sessions
		c, _ := dial(t, r.ResumeGatewayURL)
		c.send(resumePayload(r.SessionID, 3))
		c.readDispatch("RESUMED")
	}
}
