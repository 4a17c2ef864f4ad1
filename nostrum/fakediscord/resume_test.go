package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func attached(s *Server, id string) bool {
	for _, ss := range s.Stats().Sessions {
		if ss.ID == id {
			return ss.Attached
		}
	}
	return false
}

func TestResumeReplaysEventsMissedWhileDetached(t *testing.T) {
	s := startFake(t, nil)
	ch := firstChannel(s)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	var last int64
	for i := 0; i < 2; i++ {
		if _, err := s.InjectMessage(ch, "before"); err != nil {
			t.Fatal(err)
		}
		last = c.readDispatch("MESSAGE_CREATE").seq()
	}
	c.ws.NetConn().Close() // TCP drop, no close frame: the session survives
	eventually(t, "session detached", func() bool { return !attached(s, r.SessionID) })
	var missed []string
	for i := 0; i < 3; i++ {
		m, err := s.InjectMessage(ch, "while detached")
		if err != nil {
			t.Fatal(err)
		}
		missed = append(missed, m.ID)
	}
	c2, _ := dial(t, r.ResumeGatewayURL)
	c2.send(resumePayload(r.SessionID, last))
	for i, id := range missed {
		p := c2.readDispatch("MESSAGE_CREATE")
		var m Message
		if err := json.Unmarshal(p.D, &m); err != nil {
			t.Fatal(err)
		}
		if p.seq() != last+int64(i)+1 || m.ID != id {
			t.Fatalf("replay %d: seq %d id %s, want seq %d id %s", i, p.seq(), m.ID, last+int64(i)+1, id)
		}
	}
	if p := c2.readDispatch("RESUMED"); p.seq() != last+4 {
		t.Fatalf("RESUMED seq %d, want %d", p.seq(), last+4)
	}
	st := s.Stats()
	if st.Resumes != 1 || st.ResumesByURL[s.ResumeURL()] != 1 || st.ResumesByURL[s.GatewayURL()] != 0 {
		t.Fatalf("resume stats %+v", st)
	}
	// Live again: a new event arrives on the resumed connection.
	if _, err := s.InjectMessage(ch, "after"); err != nil {
		t.Fatal(err)
	}
	if p := c2.readDispatch("MESSAGE_CREATE"); p.seq() != last+5 {
		t.Fatalf("seq after resume %d, want %d", p.seq(), last+5)
	}
}

func TestClientCloseCodeDecidesSessionFate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code      int
		resumable bool
	}{{1000, false}, {1001, false}, {4000, true}, {3000, true}}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			t.Parallel()
			s := startFake(t, nil)
			c, _ := dial(t, s.GatewayURL())
			r := c.identify(s, 0, 1)
			msg := websocket.FormatCloseMessage(tc.code, "bye")
			if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			c.expectClose(tc.code) // the echo
			// The fake decides the session's fate before it echoes the close.
			if n := s.Stats().CloseCodesReceived[tc.code]; n != 1 {
				t.Fatalf("close %d counted %d times when the echo arrived", tc.code, n)
			}
			if attached(s, r.SessionID) {
				t.Fatal("session still attached when the echo arrived")
			}
			c2, _ := dial(t, r.ResumeGatewayURL)
			c2.send(resumePayload(r.SessionID, 2))
			if tc.resumable {
				c2.readDispatch("RESUMED")
			} else {
				c2.expectOp9(false)
			}
		})
	}
}

func TestSessionTTL(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) { c.Now = clock.Now; c.SessionTTL = 10 * time.Second })
	drop := func() readyData {
		c, _ := dial(t, s.GatewayURL())
		r := c.identify(s, 0, 1)
		c.ws.NetConn().Close()
		eventually(t, "session detached", func() bool { return !attached(s, r.SessionID) })
		return r
	}
	r := drop()
	clock.Advance(9 * time.Second) // inside the TTL
	c, _ := dial(t, r.ResumeGatewayURL)
	c.send(resumePayload(r.SessionID, 2))
	c.readDispatch("RESUMED")

	r = drop()
	clock.Advance(11 * time.Second)
	c, _ = dial(t, r.ResumeGatewayURL)
	c.send(resumePayload(r.SessionID, 2))
	c.expectOp9(false)
	if st := s.Stats(); st.ResumesFailed != 1 || st.Resumes != 1 {
		t.Fatalf("resumes %d failed %d", st.Resumes, st.ResumesFailed)
	}
}

func TestExpireSessions(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	a, _ := dial(t, s.GatewayURL())
	ra := a.identify(s, 0, 1)
	a.ws.NetConn().Close()
	eventually(t, "session detached", func() bool { return !attached(s, ra.SessionID) })
	b, _ := dial(t, s.GatewayURL())
	rb := b.identify(s, 0, 1)
	if err := s.ExpireSessions(); err != nil {
		t.Fatal(err)
	}
	// The attached session keeps working while its connection lives.
	if _, err := s.InjectMessage(firstChannel(s), "still here"); err != nil {
		t.Fatal(err)
	}
	b.readDispatch("MESSAGE_CREATE")
	for _, sid := range []string{ra.SessionID, rb.SessionID} {
		c, _ := dial(t, s.ResumeURL())
		c.send(resumePayload(sid, 2))
		c.expectOp9(false)
	}
	if !attached(s, rb.SessionID) {
		t.Fatal("a failed resume must not take the attached session away")
	}
}

func TestResumeSeqOlderThanBuffer(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.ReplayBuffer = 3 })
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1) // seq 1, 2
	for i := 0; i < 5; i++ { // seq 3..7; the buffer keeps 5, 6, 7
		if _, err := s.InjectMessage(firstChannel(s), "m"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "seq 7", func() bool { return s.Stats().LastSeq[r.SessionID] == 7 })
	c.ws.NetConn().Close()
	eventually(t, "session detached", func() bool { return !attached(s, r.SessionID) })
	c2, _ := dial(t, r.ResumeGatewayURL)
	c2.send(resumePayload(r.SessionID, 3)) // needs seq 4: gone
	c2.expectOp9(false)
	c3, _ := dial(t, r.ResumeGatewayURL)
	c3.send(resumePayload(r.SessionID, 4))
	for want := int64(5); want <= 7; want++ {
		if p := c3.readDispatch("MESSAGE_CREATE"); p.seq() != want {
			t.Fatalf("seq %d, want %d", p.seq(), want)
		}
	}
	c3.readDispatch("RESUMED")
}

func TestResumeWhileAttached(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	a, _ := dial(t, s.GatewayURL())
	r := a.identify(s, 0, 1)
	b, _ := dial(t, s.GatewayURL()) // the base URL: counted apart from the resume URL
	b.send(resumePayload(r.SessionID, 2))
	a.expectClose(4000)
	b.readDispatch("RESUMED")
	st := s.Stats()
	if st.ResumesByURL[s.GatewayURL()] != 1 || st.ResumesByURL[s.ResumeURL()] != 0 {
		t.Fatalf("resumes by url %v", st.ResumesByURL)
	}
	if _, err := s.InjectMessage(firstChannel(s), "to b"); err != nil {
		t.Fatal(err)
	}
	b.readDispatch("MESSAGE_CREATE")
}

func TestResumeWhileAttachedRejected(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.RejectResumeWhileAttached = true })
	a, _ := dial(t, s.GatewayURL())
	r := a.identify(s, 0, 1)
	b, _ := dial(t, s.ResumeURL())
	b.send(resumePayload(r.SessionID, 2))
	b.expectOp9(true)
	if _, err := s.InjectMessage(firstChannel(s), "to a"); err != nil {
		t.Fatal(err)
	}
	a.readDispatch("MESSAGE_CREATE")
}

func TestCloseAndDropControls(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	if err := s.CloseShard(0, 4000); err != nil {
		t.Fatal(err)
	}
	c.expectClose(4000)
	c, _ = dial(t, r.ResumeGatewayURL)
	c.send(resumePayload(r.SessionID, 2))
	c.readDispatch("RESUMED") // seq 3
	if err := s.DropShard(0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.tryRead(); err == nil || websocket.IsCloseError(err, 4000, 1000, 1006) {
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("drop sent a close frame: %v", err)
		}
	}
	c, _ = dial(t, r.ResumeGatewayURL)
	c.send(resumePayload(r.SessionID, 3))
	c.readDispatch("RESUMED")
	if err := s.CloseShard(0, 4009); err != nil {
		t.Fatal(err)
	}
	c.expectClose(4009)
	c, _ = dial(t, r.ResumeGatewayURL)
	c.send(resumePayload(r.SessionID, 4))
	c.expectOp9(false) // 4009 ended the session
	if err := s.CloseShard(0, 4000); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("close with no connection: %v", err)
	}
}

// TestStreamAcrossReconnects: every MESSAGE_CREATE arrives exactly once and
// in order while the client drops and resumes repeatedly.
func TestStreamAcrossReconnects(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.ReplayBuffer = 5000 })
	ch := firstChannel(s)
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	const total = 2000
	injected := make(chan []string, 1)
	go func() {
		var ids []string
		for i := 0; i < total; i++ {
			m, err := s.InjectMessage(ch, "m")
			if err != nil {
				break
			}
			ids = append(ids, m.ID)
		}
		injected <- ids
	}()
	var got []string
	last := int64(2)
	for len(got) < total {
		p := c.read()
		if p.Op != 0 {
			t.Fatalf("after %d messages: op %d d %s", len(got), p.Op, p.D)
		}
		if p.seq() != last+1 {
			t.Fatalf("seq %d after %d", p.seq(), last)
		}
		last = p.seq()
		if p.typ() != "MESSAGE_CREATE" {
			continue
		}
		var m Message
		if err := json.Unmarshal(p.D, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m.ID)
		if len(got)%400 == 0 && len(got) < total {
			c.ws.NetConn().Close()
			eventually(t, "detached", func() bool { return !attached(s, r.SessionID) })
			c, _ = dial(t, r.ResumeGatewayURL)
			c.send(resumePayload(r.SessionID, last))
		}
	}
	ids := <-injected
	if len(ids) != total {
		t.Fatalf("injected %d", len(ids))
	}
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("message %d: got %s, want %s", i, got[i], ids[i])
		}
	}
	if st := s.Stats(); st.ResumesByURL[s.ResumeURL()] != 4 {
		t.Fatalf("resumes %v", st.ResumesByURL)
	}
}

func TestBotPrefixedTokenOnGateway(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	c, _ := dial(t, s.GatewayURL())
	c.send(identifyPayload("Bot "+testToken, allIntents, 0, 1))
	var r readyData
	if err := json.Unmarshal(c.readDispatch("READY").D, &r); err != nil {
		t.Fatal(err)
	}
	c.ws.NetConn().Close()
	eventually(t, "session detached", func() bool { return !attached(s, r.SessionID) })
	c2, _ := dial(t, r.ResumeGatewayURL)
	c2.send(resumePayload(r.SessionID, 1)) // token without the prefix: same bot
	c2.readDispatch("GUILD_CREATE")
	c2.readDispatch("RESUMED")
}

func TestDispatchLogBounded(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.DispatchLog = 10 })
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	for i := 0; i < 50; i++ {
		if _, err := s.InjectMessage(firstChannel(s), "m"); err != nil {
			t.Fatal(err)
		}
	}
	ds := s.Dispatched()
	if len(ds) < 10 || len(ds) >= 20 || ds[len(ds)-1].Seq != 52 {
		t.Fatalf("log of %d, last %+v", len(ds), ds[len(ds)-1])
	}
}

func TestInvalidSeqEndsDetachedSessionOnly(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	a, _ := dial(t, s.GatewayURL())
	r := a.identify(s, 0, 1)
	bad, _ := dial(t, s.ResumeURL())
	bad.send(resumePayload(r.SessionID, 99))
	bad.expectClose(4007)
	if _, err := s.InjectMessage(firstChannel(s), "still mine"); err != nil {
		t.Fatal(err)
	}
	a.readDispatch("MESSAGE_CREATE") // the holder keeps its session
	a.ws.NetConn().Close()
	eventually(t, "session detached", func() bool { return !attached(s, r.SessionID) })
	bad, _ = dial(t, s.ResumeURL())
	bad.send(resumePayload(r.SessionID, 99))
	bad.expectClose(4007)
	c, _ := dial(t, s.ResumeURL())
	c.send(resumePayload(r.SessionID, 3))
	c.expectOp9(false) // 4007 ended the detached session
}
