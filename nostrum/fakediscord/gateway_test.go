package fakediscord

import (
	"encoding/json"
	"testing"
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
