package rest_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/nostrum/discord"
	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/rest"
)

const token = "rest-test-token-SECRET"

func startFake(t *testing.T, mod func(*fakediscord.Config)) (*fakediscord.Server, discord.Snowflake) {
	t.Helper()
	cfg := fakediscord.Config{Token: token, RESTBucketLimit: 3, RESTBucketWindow: 300 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := fakediscord.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ch, _ := discord.ParseSnowflake(srv.Guilds()[0].Channels[0].ID)
	return srv, ch
}

func newClient(t *testing.T, srv *fakediscord.Server, mod func(*rest.Config)) *rest.Client {
	t.Helper()
	cfg := rest.Config{
		Token:            func() string { return token },
		BaseURL:          srv.URL(),
		ServerErrorDelay: 10 * time.Millisecond,
		Logger:           slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestEndpoints(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, nil)
	gb, err := c.GetGatewayBot(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if gb.URL != srv.GatewayURL() || gb.Shards != 1 || gb.SessionStartLimit.MaxConcurrency != 1 {
		t.Fatalf("gateway bot = %+v", gb)
	}
	me, err := c.GetCurrentUser(ctx(t))
	if err != nil || me.Username != srv.BotUser().Username || me.ID == 0 {
		t.Fatalf("me = %+v, %v", me, err)
	}
	m, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "hi"})
	if err != nil || m.Content != "hi" || m.ChannelID != ch || m.ID == 0 {
		t.Fatalf("message = %+v, %v", m, err)
	}
}

func TestBucketExhaustionWaitsWithout429(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, nil)
	for i := 0; i < 10; i++ {
		if _, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	st := srv.Stats()
	if st.MessagesCreated != 10 || st.RateLimited429 != 0 {
		t.Fatalf("created %d, 429s %d: the bucket was not respected", st.MessagesCreated, st.RateLimited429)
	}
}

func TestUser429IsRetried(t *testing.T) {
	srv, ch := startFake(t, nil)
	// Two clients share the bot's bucket without knowing of each other: 429s follow.
	a, b := newClient(t, srv, nil), newClient(t, srv, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for _, c := range []*rest.Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 6; i++ {
				if _, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "y"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.MessagesCreated != 12 || st.RateLimitedByScope["user"] == 0 {
		t.Fatalf("created %d, user 429s %d", st.MessagesCreated, st.RateLimitedByScope["user"])
	}
}

func TestGlobal429PausesAndRetries(t *testing.T) {
	srv, _ := startFake(t, func(c *fakediscord.Config) { c.GlobalLimit = 4 })
	a, b := newClient(t, srv, nil), newClient(t, srv, nil)
	var wg sync.WaitGroup
	for _, c := range []*rest.Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				if _, err := c.GetCurrentUser(ctx(t)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := srv.Stats().RateLimitedByScope["global"]; n == 0 {
		t.Fatal("no global 429: the test did not exercise the global limit")
	}
}

func TestOwnGlobalLimitAvoids429(t *testing.T) {
	srv, _ := startFake(t, func(c *fakediscord.Config) { c.GlobalLimit = 4 })
	// The margin covers the arrival jitter of a loaded 2-core test machine.
	c := newClient(t, srv, func(c *rest.Config) { c.GlobalLimit, c.GlobalMargin = 4, 300*time.Millisecond })
	for i := 0; i < 9; i++ {
		if _, err := c.GetCurrentUser(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Stats().RateLimited429; n != 0 {
		t.Fatalf("%d 429s despite the local global limit", n)
	}
}

func TestShared429RetriedThenBounded(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, func(c *rest.Config) { c.MaxRetries = 3 })
	srv.ForceShared429(2, 20*time.Millisecond)
	if _, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "z"}); err != nil {
		t.Fatalf("after 2 shared 429s: %v", err)
	}
	srv.ForceShared429(100, 5*time.Millisecond)
	_, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "z"})
	var rl *rest.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, rest.ErrRateLimited) || rl.Scope != "shared" || rl.Attempts != 4 {
		t.Fatalf("err = %v (%+v), want a shared RateLimitError after 4 attempts", err, rl)
	}
	if n := srv.Stats().RateLimitedByScope["shared"]; n != 6 {
		t.Fatalf("shared 429s = %d, want 2 + 4", n)
	}
	// The context bounds the retries too.
	srv.ForceShared429(100, time.Hour)
	c2 := newClient(t, srv, nil)
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c2.CreateMessage(short, ch, rest.MessageCreate{Content: "z"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestServerErrorRetried(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, nil)
	srv.ForceServerError(2)
	if _, err := c.CreateMessage(ctx(t), ch, rest.MessageCreate{Content: "5xx"}); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.ServerErrors != 2 || st.MessagesCreated != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReplyNonceIsIdempotent(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, nil)
	trigger := discord.Snowflake(1234567890123456789)
	nonce := rest.ReplyNonce(trigger)
	if len(nonce) > 25 || nonce != rest.ReplyNonce(trigger) {
		t.Fatalf("nonce %q", nonce)
	}
	body := rest.MessageCreate{Content: "reply", Nonce: nonce, EnforceNonce: true}
	m1, err := c.CreateMessage(ctx(t), ch, body)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.CreateMessage(ctx(t), ch, body)
	if err != nil {
		t.Fatal(err)
	}
	if m1.ID != m2.ID || srv.Stats().MessagesCreated != 1 || srv.Stats().NonceHits != 1 {
		t.Fatalf("ids %d/%d, stats %+v", m1.ID, m2.ID, srv.Stats())
	}
}

func TestAPIErrorsDoNotLeakToken(t *testing.T) {
	srv, ch := startFake(t, nil)
	c := newClient(t, srv, func(c *rest.Config) { c.Token = func() string { return "wrong-SECRET" } })
	_, err := c.GetCurrentUser(ctx(t))
	var ae *rest.APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v, want 401", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("token in error %q", err)
	}
	good := newClient(t, srv, nil)
	_, err = good.CreateMessage(ctx(t), ch+1, rest.MessageCreate{Content: "x"})
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != 10003 {
		t.Fatalf("err = %v, want 404 code 10003", err)
	}
	if _, err := rest.New(rest.Config{}); !errors.Is(err, rest.ErrInvalidConfig) {
		t.Fatalf("empty config: %v", err)
	}
}
