package fakediscord

import (
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestIdentifyReadyGuildCreate(t *testing.T) {
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	if r.V != 10 || r.SessionID == "" || r.ResumeGatewayURL != s.ResumeURL() || r.User.ID != s.BotUser().ID {
		t.Fatalf("ready %+v", r)
	}
	if r.ResumeGatewayURL == s.GatewayURL() {
		t.Fatalf("resume url must be a second listener, got %s", r.ResumeGatewayURL)
	}
	if len(r.Guilds) != 1 || !r.Guilds[0].Unavailable || r.Guilds[0].ID != s.Guilds()[0].ID {
		t.Fatalf("ready guilds %+v", r.Guilds)
	}
	if st := s.Stats(); st.Identifies != 1 || st.SessionStartLeft != 999 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInjectMessageDispatch(t *testing.T) {
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	m, err := s.InjectMessage(firstChannel(s), "hello")
	if err != nil {
		t.Fatal(err)
	}
	p := c.readDispatch("MESSAGE_CREATE")
	if p.seq() != 3 { // READY 1, GUILD_CREATE 2
		t.Fatalf("seq %d, want 3", p.seq())
	}
	var got map[string]any
	if err := json.Unmarshal(p.D, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "channel_id", "guild_id", "author", "content", "timestamp",
		"edited_timestamp", "tts", "mention_everyone", "mentions", "mention_roles", "attachments",
		"embeds", "pinned", "type", "member"} {
		if _, ok := got[k]; !ok {
			t.Errorf("MESSAGE_CREATE lacks %q: %s", k, p.D)
		}
	}
	if got["id"] != m.ID || got["content"] != "hello" || got["edited_timestamp"] != nil {
		t.Fatalf("message %s", p.D)
	}
}

func TestHeartbeatAckAndZombie(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, interval := dial(t, s.GatewayURL())
	if interval != time.Hour.Milliseconds() {
		t.Fatalf("heartbeat_interval %d", interval)
	}
	c.identify(s, 0, 1)
	c.send(map[string]any{"op": 1, "d": 2})
	if p := c.read(); p.Op != 11 {
		t.Fatalf("op %d, want ACK", p.Op)
	}
	if err := s.SetZombie(0, true); err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"op": 1, "d": 2})
	eventually(t, "second heartbeat handled", func() bool { return s.Stats().Heartbeats == 2 })
	// An ACK would be queued before this event; the event comes first, so no ACK was sent.
	if err := s.InjectEvent(0, "MARKER", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if p := c.read(); p.Op != 0 || p.typ() != "MARKER" {
		t.Fatalf("zombie: got op %d t %q, want MARKER and no ACK", p.Op, p.typ())
	}
	// Zombie mode is per connection: a new connection gets its ACKs.
	c2, _ := dial(t, s.GatewayURL())
	c2.identify(s, 0, 1)
	c2.send(map[string]any{"op": 1, "d": 2})
	if p := c2.read(); p.Op != 11 {
		t.Fatalf("new connection: op %d, want ACK", p.Op)
	}
	if err := s.SetZombie(0, false); err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"op": 1, "d": 3})
	if p := c.read(); p.Op != 11 {
		t.Fatalf("op %d, want ACK after zombie off", p.Op)
	}
	if err := s.SetZombie(3, true); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("zombie on an empty shard: %v", err)
	}
	if err := s.SetZombie(3, false); err != nil {
		t.Fatalf("zombie off on an empty shard: %v", err)
	}
	if st := s.Stats(); st.Heartbeats != 4 || st.HeartbeatACKs != 3 {
		t.Fatalf("heartbeats %d acks %d", st.Heartbeats, st.HeartbeatACKs)
	}
}

func TestHeartbeatBeforeIdentifyAllowed(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	c.send(map[string]any{"op": 1, "d": nil})
	if p := c.read(); p.Op != 11 {
		t.Fatalf("op %d, want ACK", p.Op)
	}
	c.identify(s, 0, 1)
}

func TestServerRequestsHeartbeat(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	if err := s.RequestHeartbeat(0); err != nil {
		t.Fatal(err)
	}
	if p := c.read(); p.Op != 1 || string(p.D) != "2" {
		t.Fatalf("got op %d d %s, want op 1 with the seq", p.Op, p.D)
	}
	if err := s.RequestHeartbeat(5); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("shard 5: %v, want ErrNoConnection", err)
	}
}

func TestIdentifyBuckets(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) {
		c.Now = clock.Now
		c.IdentifyWindow = 5 * time.Second
		c.MaxConcurrency = 2
	})
	a, _ := dial(t, s.GatewayURL())
	a.identify(s, 0, 4) // bucket 0
	b, _ := dial(t, s.GatewayURL())
	b.send(identifyPayload(testToken, allIntents, 2, 4)) // bucket 0 again, too soon
	b.expectOp9(false)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 1, 4) // bucket 1 is free
	clock.Advance(5 * time.Second)
	b.identify(s, 2, 4) // same socket, after the window
	st := s.Stats()
	if st.Identifies != 3 || st.IdentifyRejected != 1 || st.SessionStartLeft != 997 {
		t.Fatalf("stats: identifies %d rejected %d left %d", st.Identifies, st.IdentifyRejected, st.SessionStartLeft)
	}
}

func TestRoutingShardsDMsAndParallelSessions(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) {
		c.Guilds = MakeGuilds(2, 1)
		c.DMChannels = []Channel{{Name: "dm"}}
	})
	g := s.Guilds()
	ch0, ch1, dm := g[0].Channels[0].ID, g[1].Channels[0].ID, s.DMChannels()[0].ID
	a, _ := dial(t, s.GatewayURL())
	if r := a.identify(s, 0, 2); len(r.Guilds) != 1 || r.Guilds[0].ID != g[0].ID {
		t.Fatalf("shard 0/2 guilds %+v", r.Guilds)
	}
	b, _ := dial(t, s.GatewayURL())
	b.identify(s, 1, 2)
	c, _ := dial(t, s.GatewayURL()) // a second session on shard 0/2
	c.identify(s, 0, 2)
	d, _ := dial(t, s.GatewayURL()) // an unsharded session sees everything
	if r := d.identify(s, 0, 1); len(r.Guilds) != 2 {
		t.Fatalf("shard 0/1 guilds %+v", r.Guilds)
	}
	var ids = map[string]string{}
	for _, ch := range []string{ch1, ch0, dm} {
		m, err := s.InjectMessage(ch, "x")
		if err != nil {
			t.Fatal(err)
		}
		ids[ch] = m.ID
	}
	if err := s.InjectEvent(-1, "MARKER", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	want := map[*client][]string{a: {ch0, dm}, b: {ch1}, c: {ch0, dm}, d: {ch1, ch0, dm}}
	for cl, chans := range want {
		for _, ch := range chans {
			var m Message
			if err := json.Unmarshal(cl.readDispatch("MESSAGE_CREATE").D, &m); err != nil {
				t.Fatal(err)
			}
			if m.ID != ids[ch] || m.ChannelID != ch {
				t.Fatalf("got message %s in %s, want %s in %s", m.ID, m.ChannelID, ids[ch], ch)
			}
		}
		cl.readDispatch("MARKER")
	}
}

func TestIntentsGateAndBlankContent(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.DMChannels = []Channel{{Name: "dm"}} })
	c, _ := dial(t, s.GatewayURL())
	c.send(identifyPayload(testToken, IntentGuilds|IntentGuildMessages, 0, 1))
	c.readDispatch("READY")
	c.readDispatch("GUILD_CREATE")
	if _, err := s.InjectMessage(s.DMChannels()[0].ID, "dm"); err != nil { // no DIRECT_MESSAGES intent
		t.Fatal(err)
	}
	if _, err := s.InjectMessage(firstChannel(s), "secret"); err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := json.Unmarshal(c.readDispatch("MESSAGE_CREATE").D, &m); err != nil {
		t.Fatal(err)
	}
	if m.Content != "" || m.GuildID == "" {
		t.Fatalf("without MESSAGE_CONTENT: %+v", m)
	}
	// The bot's own messages keep their content.
	rest(t, "POST", s.URL()+"/api/v10/channels/"+firstChannel(s)+"/messages", "Bot "+testToken, `{"content":"mine"}`, nil)
	if err := json.Unmarshal(c.readDispatch("MESSAGE_CREATE").D, &m); err != nil {
		t.Fatal(err)
	}
	if m.Content != "mine" || !m.Author.Bot {
		t.Fatalf("bot message: %+v", m)
	}
}

func TestReconnectOp7ThenGraceClose(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.ReconnectGrace = 50 * time.Millisecond })
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	if err := s.Reconnect(0); err != nil {
		t.Fatal(err)
	}
	if p := c.read(); p.Op != 7 {
		t.Fatalf("op %d, want 7", p.Op)
	}
	c.expectClose(4000) // the client ignored op 7
	c2, _ := dial(t, r.ResumeGatewayURL)
	c2.send(resumePayload(r.SessionID, 2))
	c2.readDispatch("RESUMED")
}

func TestReconnectBeforeHello(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	s.SetReconnectBeforeHello(true)
	c := dialRaw(t, s.GatewayURL()+"/?v=10&encoding=json")
	if p := c.read(); p.Op != 7 {
		t.Fatalf("op %d, want 7 before Hello", p.Op)
	}
	if p := c.read(); p.Op != 10 {
		t.Fatalf("op %d, want Hello", p.Op)
	}
}

func TestInvalidSessionControl(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	if err := s.InvalidSession(0, true); err != nil {
		t.Fatal(err)
	}
	c.expectOp9(true)
	c.send(resumePayload(r.SessionID, 2)) // same socket
	c.readDispatch("RESUMED")
	if err := s.InvalidSession(0, false); err != nil {
		t.Fatal(err)
	}
	c.expectOp9(false)
	c.send(resumePayload(r.SessionID, 3))
	c.expectOp9(false) // the session is gone
	c.identify(s, 0, 1)
}

func TestZlibStream(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	ws, _, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"/?v=10&encoding=json&compress=zlib-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pr, pw := io.Pipe()
	go func() {
		for {
			mt, data, err := ws.ReadMessage()
			if err != nil || mt != websocket.BinaryMessage {
				pw.CloseWithError(fmt.Errorf("message type %d: %v", mt, err))
				return
			}
			if _, err := pw.Write(data); err != nil {
				return
			}
		}
	}()
	zr, err := zlib.NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(zr)
	var p payload
	if err := dec.Decode(&p); err != nil || p.Op != 10 {
		t.Fatalf("hello: %+v %v", p, err)
	}
	if err := ws.WriteJSON(identifyPayload(testToken, allIntents, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&p); err != nil || p.typ() != "READY" {
		t.Fatalf("ready: %+v %v", p, err)
	}
	ws.Close()
	pr.Close()
}

func TestIdentifyRejectionDelayedAndBudgetReset(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) {
		c.Now = clock.Now
		c.IdentifyWindow = 5 * time.Second
		c.InvalidSessionDelay = 20 * time.Millisecond
		c.SessionStartTotal = 2
		c.SessionStartReset = time.Hour
	})
	a, _ := dial(t, s.GatewayURL())
	a.identify(s, 0, 1)
	b, _ := dial(t, s.GatewayURL())
	b.send(identifyPayload(testToken, allIntents, 0, 1))
	b.expectOp9(false) // after the delay
	clock.Advance(5 * time.Second)
	b.identify(s, 0, 1)
	if left := s.Stats().SessionStartLeft; left != 0 {
		t.Fatalf("left %d, want 0", left)
	}
	clock.Advance(time.Hour) // the budget period is over
	if left := s.Stats().SessionStartLeft; left != 2 {
		t.Fatalf("left %d after the reset, want 2", left)
	}
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
}
