package fakediscord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const auth = "Bot " + testToken

func messagesURL(s *Server, ch string) string {
	return s.URL() + "/api/v10/channels/" + ch + "/messages"
}

func TestRESTGatewayAndMe(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.Shards = 3; c.MaxConcurrency = 2; c.SessionStartTotal = 10 })
	var gw struct {
		URL string `json:"url"`
	}
	if resp := rest(t, "GET", s.URL()+"/api/v10/gateway", "", "", &gw); resp.StatusCode != 200 || gw.URL != s.GatewayURL() {
		t.Fatalf("/gateway %d %+v", resp.StatusCode, gw)
	}
	var e apiError
	if resp := rest(t, "GET", s.URL()+"/api/v10/gateway/bot", "", "", &e); resp.StatusCode != 401 || e.Message != "401: Unauthorized" {
		t.Fatalf("/gateway/bot without auth: %d %+v", resp.StatusCode, e)
	}
	if resp := rest(t, "GET", s.URL()+"/api/v10/gateway/bot", "Bot other", "", nil); resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	if resp := rest(t, "GET", s.URL()+"/api/v10/gateway/bot", testToken, "", nil); resp.StatusCode != 401 {
		t.Fatalf("token without Bot prefix: %d", resp.StatusCode)
	}
	type gatewayBot struct {
		URL    string `json:"url"`
		Shards int    `json:"shards"`
		Limit  struct {
			Total, Remaining, MaxConcurrency int
			ResetAfter                       int64 `json:"reset_after"`
		} `json:"session_start_limit"`
	}
	var gb gatewayBot
	rest(t, "GET", s.URL()+"/api/v10/gateway/bot", auth, "", &gb)
	if gb.URL != s.GatewayURL() || gb.Shards != 3 || gb.Limit.Total != 10 || gb.Limit.Remaining != 10 {
		t.Fatalf("/gateway/bot %+v", gb)
	}
	c, _ := dial(t, gb.URL)
	c.identify(s, 0, 1)
	rest(t, "GET", s.URL()+"/api/v10/gateway/bot", auth, "", &gb)
	if gb.Limit.Remaining != 9 || gb.Limit.ResetAfter <= 0 {
		t.Fatalf("after identify %+v", gb.Limit)
	}
	var me User
	rest(t, "GET", s.URL()+"/api/v10/users/@me", auth, "", &me)
	if me != s.BotUser() || !me.Bot {
		t.Fatalf("@me %+v", me)
	}
	if resp := rest(t, "GET", s.URL()+"/api/v10/nowhere", auth, "", &e); resp.StatusCode != 404 {
		t.Fatalf("unknown route %d", resp.StatusCode)
	}
}

func TestRESTCreateMessage(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.RESTBucketLimit = 100 })
	ch := firstChannel(s)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	var e apiError
	check := func(status, code int, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != status || e.Code != code {
			t.Fatalf("status %d code %d (%s), want %d %d", resp.StatusCode, e.Code, e.Message, status, code)
		}
	}
	check(401, 0, rest(t, "POST", messagesURL(s, ch), "", `{"content":"x"}`, &e))
	check(404, 10003, rest(t, "POST", messagesURL(s, "123"), auth, `{"content":"x"}`, &e))
	check(400, 50006, rest(t, "POST", messagesURL(s, ch), auth, `{"content":""}`, &e))
	check(400, 50035, rest(t, "POST", messagesURL(s, ch), auth, `{"content":"`+strings.Repeat("é", 2001)+`"}`, &e))
	check(400, 50035, rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x","nonce":"`+strings.Repeat("n", 26)+`"}`, &e))
	check(400, 50109, rest(t, "POST", messagesURL(s, ch), auth, `{"content":`, &e))
	var m Message
	resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"`+strings.Repeat("é", 2000)+`","nonce":42}`, &m)
	if resp.StatusCode != 200 || m.ID == "" || m.ChannelID != ch || !m.Author.Bot || string(m.Nonce) != "42" {
		t.Fatalf("create: %d %+v", resp.StatusCode, m)
	}
	var ev Message
	if err := json.Unmarshal(c.readDispatch("MESSAGE_CREATE").D, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != m.ID || ev.GuildID != s.Guilds()[0].ID || ev.Content != m.Content {
		t.Fatalf("event %+v", ev)
	}
	if ms := s.Messages(); len(ms) != 1 || ms[0].ID != m.ID {
		t.Fatalf("message log %+v", ms)
	}
}

func TestRESTNonceDedupe(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.RESTBucketLimit = 100 })
	ch := firstChannel(s)
	var a, b, d Message
	rest(t, "POST", messagesURL(s, ch), auth, `{"content":"hi","nonce":"n1","enforce_nonce":true}`, &a)
	rest(t, "POST", messagesURL(s, ch), auth, `{"content":"hi again","nonce":"n1","enforce_nonce":true}`, &b)
	if a.ID == "" || b.ID != a.ID || b.Content != "hi" {
		t.Fatalf("dedupe: first %+v second %+v", a, b)
	}
	rest(t, "POST", messagesURL(s, ch), auth, `{"content":"no enforce","nonce":"n1"}`, &d)
	if d.ID == a.ID {
		t.Fatal("without enforce_nonce a new message is created")
	}
	st := s.Stats()
	if st.NonceHits != 1 || st.MessagesCreated != 2 {
		t.Fatalf("nonce hits %d created %d", st.NonceHits, st.MessagesCreated)
	}
	n := 0
	for _, dp := range s.Dispatched() {
		if dp.Type == "MESSAGE_CREATE" {
			n++
		}
	}
	if n != 0 { // no session: nothing dispatched; a session would get 2
		t.Fatalf("dispatched %d MESSAGE_CREATE without sessions", n)
	}
}

func TestRESTNonceDedupeNoSecondEvent(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	ch := firstChannel(s)
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	for i := 0; i < 2; i++ {
		rest(t, "POST", messagesURL(s, ch), auth, `{"content":"once","nonce":7,"enforce_nonce":true}`, nil)
	}
	if err := s.InjectEvent(0, "MARKER", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	c.readDispatch("MESSAGE_CREATE")
	c.readDispatch("MARKER") // not a second MESSAGE_CREATE
}

func TestRESTBucket429(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) {
		c.Now = clock.Now
		c.RESTBucketLimit = 2
		c.RESTBucketWindow = 5 * time.Second
		c.Guilds = []Guild{{Name: "g", Channels: []Channel{{Name: "a"}, {Name: "b"}}}}
	})
	ch, other := s.Guilds()[0].Channels[0].ID, s.Guilds()[0].Channels[1].ID
	var bucket string
	for i, want := range []string{"1", "0"} {
		resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, nil)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != want ||
			h.Get("X-RateLimit-Reset-After") != "5.000" || h.Get("X-RateLimit-Bucket") == "" || h.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, h)
		}
		bucket = h.Get("X-RateLimit-Bucket")
	}
	clock.Advance(1500 * time.Millisecond)
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, &body)
	h := resp.Header
	if resp.StatusCode != 429 || h.Get("X-RateLimit-Scope") != "user" || h.Get("Retry-After") != "3.500" ||
		body.RetryAfter != 3.5 || body.Global || h.Get("X-RateLimit-Global") != "" {
		t.Fatalf("429: %d %v %+v", resp.StatusCode, h, body)
	}
	// Another channel has its own bucket, with the same bucket id.
	if resp := rest(t, "POST", messagesURL(s, other), auth, `{"content":"x"}`, nil); resp.StatusCode != 200 ||
		resp.Header.Get("X-RateLimit-Bucket") != bucket || resp.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("other channel: %d %v", resp.StatusCode, resp.Header)
	}
	clock.Advance(3500 * time.Millisecond)
	if resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, nil); resp.StatusCode != 200 ||
		resp.Header.Get("X-RateLimit-Bucket") != bucket {
		t.Fatalf("after reset: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.RateLimited429 != 1 || st.RateLimitedByScope["user"] != 1 || st.MessagesCreated != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRESTGlobal429(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) { c.Now = clock.Now; c.GlobalLimit = 3 })
	for i := 0; i < 3; i++ {
		if resp := rest(t, "GET", s.URL()+"/api/v10/users/@me", auth, "", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	resp := rest(t, "POST", messagesURL(s, firstChannel(s)), auth, `{"content":"x"}`, &body)
	h := resp.Header
	if resp.StatusCode != 429 || h.Get("X-RateLimit-Global") != "true" || h.Get("X-RateLimit-Scope") != "global" ||
		!body.Global || body.RetryAfter != 1 || h.Get("Retry-After") == "" {
		t.Fatalf("global 429: %d %v %+v", resp.StatusCode, h, body)
	}
	clock.Advance(time.Second)
	if resp := rest(t, "GET", s.URL()+"/api/v10/users/@me", auth, "", nil); resp.StatusCode != 200 {
		t.Fatalf("after the second: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.RateLimitedByScope["global"] != 1 || st.MessagesCreated != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRESTForcedShared429And5xxAndLatency(t *testing.T) {
	t.Parallel()
	s := startFake(t, nil)
	ch := firstChannel(s)
	s.ForceShared429(1, 250*time.Millisecond)
	var body struct {
		RetryAfter float64 `json:"retry_after"`
	}
	resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, &body)
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Scope") != "shared" || body.RetryAfter != 0.25 ||
		resp.Header.Get("X-RateLimit-Global") != "" {
		t.Fatalf("shared 429: %d %v %+v", resp.StatusCode, resp.Header, body)
	}
	s.ForceServerError(1)
	resp = rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, nil)
	if resp.StatusCode != 502 || resp.Header.Get("X-RateLimit-Limit") != "" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("5xx: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := rest(t, "POST", messagesURL(s, ch), auth, `{"content":"x"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("after the knobs: %d", resp.StatusCode)
	}
	s.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/v10/users/@me", nil)
	req.Header.Set("Authorization", auth)
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("latency: want the client deadline to expire first, got %v", err)
	}
	s.SetLatency(0)
	st := s.Stats()
	if st.RateLimitedByScope["shared"] != 1 || st.ServerErrors != 1 || st.MessagesCreated != 1 {
		t.Fatalf("stats %+v", st)
	}
}
