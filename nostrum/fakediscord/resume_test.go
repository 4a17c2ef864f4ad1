package fakediscord

import (
	"encoding/json"
	"testing"
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
