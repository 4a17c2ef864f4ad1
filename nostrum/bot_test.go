package nostrum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/supervisor"
)

func TestBotHandlesTypedMessagesAndCaches(t *testing.T) {
	srv := startFake(t, nil)
	rec := newRecorder()
	b := testBot(t, srv, rec, nil, nil)
	serve(t, b.ChildSpec())
	waitUntil(t, "guild in cache", func() bool { return b.Cache().Guilds() == 1 })
	ch := channelOf(t, srv, 0)
	subscribed, cancel := b.Subscribe(func(ev Event) bool { return ev.Type == "MESSAGE_CREATE" }, 4)
	defer cancel()
	want, err := srv.InjectMessage(ch, "hello from the fake")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "message", func() bool { return len(rec.messages()) == 1 })
	ev := rec.messages()[0]
	if ev.Message == nil || ev.Message.Content != "hello from the fake" || ev.Message.ID != mustSnowflake(t, want.ID) ||
		ev.Message.ChannelID != mustSnowflake(t, ch) || ev.Message.Author.Username != want.Author.Username {
		t.Fatalf("typed message = %+v", ev.Message)
	}
	select {
	case sev := <-subscribed:
		if sev.Message == nil || sev.Message.ID != ev.Message.ID {
			t.Fatalf("subscriber got %+v", sev)
		}
	case <-time.After(deadline):
		t.Fatal("subscriber got nothing")
	}
	presence := map[string]any{"since": nil, "activities": []any{}, "status": "idle", "afk": false}
	if err := b.UpdatePresence(context.Background(), presence); err != nil {
		t.Fatal(err)
	}
	if me := b.Cache().Me(); me.Username != srv.BotUser().Username {
		t.Fatalf("cached me = %+v", me)
	}
	gid, ok := b.Cache().ChannelGuild(mustSnowflake(t, ch))
	if !ok || gid != mustSnowflake(t, srv.Guilds()[0].ID) {
		t.Fatal("channel → guild not cached")
	}
	// The REST client of the bot replies idempotently.
	reply, err := b.REST().CreateMessage(context.Background(), ev.Message.ChannelID, restReply(ev))
	if err != nil || reply.Content != "pong" {
		t.Fatalf("reply = %+v, %v", reply, err)
	}
}

func TestSeveralBotsInOneProcess(t *testing.T) {
	srv1, srv2 := startFake(t, nil), startFake(t, nil)
	rec1, rec2 := newRecorder(), newRecorder()
	b1 := testBot(t, srv1, rec1, nil, func(o *Options) { o.Name = "bot1" })
	b2 := testBot(t, srv2, rec2, nil, func(o *Options) { o.Name, o.Compress = "bot2", true }) // zlib-stream
	serve(t, b1.ChildSpec(), b2.ChildSpec())
	waitUntil(t, "both ready", func() bool { return b1.Cache().Guilds() == 1 && b2.Cache().Guilds() == 1 })
	if _, err := srv1.InjectMessage(channelOf(t, srv1, 0), "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv2.InjectMessage(channelOf(t, srv2, 0), "two"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "messages", func() bool { return len(rec1.messages()) == 1 && len(rec2.messages()) == 1 })
	if rec1.messages()[0].Message.Content != "one" || rec2.messages()[0].Message.Content != "two" {
		t.Fatal("bots mixed up their events")
	}
}

func TestStreamAcrossFiveReconnectsExactlyOnceInOrder(t *testing.T) {
	const total = 10000
	srv := startFake(t, func(c *fakediscord.Config) { c.HeartbeatInterval = 500 * time.Millisecond })
	rec := newRecorder()
	gw := &gwEvents{}
	b := testBot(t, srv, rec, gw, nil)
	serve(t, b.ChildSpec())
	waitUntil(t, "ready", func() bool { return countOf[gateway.Ready](gw) == 1 })
	ch := channelOf(t, srv, 0)

	injected := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			if _, err := srv.InjectMessage(ch, fmt.Sprint(i)); err != nil {
				injected <- err
				return
			}
		}
		injected <- nil
	}()
	// Five forced reconnects of different kinds while the stream flows.
	kicks := []func() error{
		func() error { return srv.Reconnect(0) },
		func() error { return srv.DropShard(0) },
		func() error { return srv.CloseShard(0, 4000) },
		func() error { return srv.InvalidSession(0, true) },
		func() error { return srv.Reconnect(0) },
	}
	for i, kick := range kicks {
		waitUntil(t, "progress", func() bool { return len(rec.messages()) >= (i+1)*total/7 })
		before := countOf[gateway.Resumed](gw)
		waitUntil(t, fmt.Sprintf("kick %d", i), func() bool { return kick() == nil })
		waitUntil(t, fmt.Sprintf("resume %d", i), func() bool { return countOf[gateway.Resumed](gw) > before })
	}
	if err := <-injected; err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "all messages", func() bool { return len(rec.messages()) >= total })

	got := rec.snapshot()
	var prev int64
	for _, ev := range got {
		if ev.Seq != prev+1 {
			t.Fatalf("seq %d (%s) after %d", ev.Seq, ev.Type, prev)
		}
		prev = ev.Seq
	}
	msgs := rec.messages()
	if len(msgs) != total {
		t.Fatalf("%d messages handled, want %d", len(msgs), total)
	}
	for i, ev := range msgs {
		if ev.Message.Content != fmt.Sprint(i) {
			t.Fatalf("message %d has content %q: lost, repeated or reordered", i, ev.Message.Content)
		}
	}
	st := srv.Stats()
	// Under load the fake may also time a connection out (close 4000): more resumes are
	// fine, a new session is not.
	if st.Identifies != 1 || st.Resumes < 5 {
		gw.mu.Lock()
		defer gw.mu.Unlock()
		t.Fatalf("identifies %d resumes %d, want 1 and 5; events %v", st.Identifies, st.Resumes, gw.ev)
	}
}

func TestDetachThenResumeInSecondBot(t *testing.T) {
	srv := startFake(t, nil)
	ch := channelOf(t, srv, 0)
	recA, recB := newRecorder(), newRecorder()
	slow := func(ctx context.Context, ev Event) error {
		time.Sleep(100 * time.Microsecond) // handlers take time: the drain matters
		return recA.handle(ctx, ev)
	}
	a := testBot(t, srv, recA, nil, func(o *Options) { o.Handler = slow; o.Name = "a" })
	supA, err := supervisor.New(supervisor.Spec{Children: []supervisor.ChildSpec{a.ChildSpec()}})
	if err != nil {
		t.Fatal(err)
	}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() { doneA <- supA.Serve(ctxA) }()
	waitUntil(t, "a ready", func() bool { return a.Cache().Guilds() == 1 })

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a continuous stream across the move
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := srv.InjectMessage(ch, fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 49 {
				time.Sleep(time.Millisecond) // pace the producer a little
			}
		}
	}()
	waitUntil(t, "a handles", func() bool { return len(recA.messages()) > 200 })
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	infos, err := a.Detach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].SessionID == "" || infos[0].ResumeURL != srv.ResumeURL() {
		t.Fatalf("infos = %+v", infos)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	wire, err := EncodeResumeInfos(infos)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wire), testToken) {
		t.Fatal("resume info carries the token")
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	handledA := recA.snapshot()
	if last := handledA[len(handledA)-1].Seq; last != infos[0].Seq {
		t.Fatalf("a handled up to %d but committed %d", last, infos[0].Seq)
	}

	got, err := DecodeResumeInfos(wire)
	if err != nil {
		t.Fatal(err)
	}
	b := testBot(t, srv, recB, nil, func(o *Options) { o.Name = "b" })
	if err := b.ResumeFrom(got); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.Cache().Guilds() != 1 {
		t.Fatal("restored cache is empty")
	}
	serve(t, b.ChildSpec())
	waitUntil(t, "b handles", func() bool { return len(recB.messages()) > 200 })
	close(stop)
	wg.Wait()
	injected := srv.Stats().MessagesInjected
	waitUntil(t, "all handled", func() bool { return len(recA.messages())+len(recB.messages()) >= injected })

	all := append(recA.messages(), recB.messages()...)
	if len(all) != injected {
		t.Fatalf("handled %d messages, injected %d", len(all), injected)
	}
	for i, ev := range all {
		if ev.Message.Content != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: lost or repeated across the move", i, ev.Message.Content)
		}
	}
	if first := recB.snapshot()[0].Seq; first != infos[0].Seq+1 {
		t.Fatalf("b began at seq %d, want %d", first, infos[0].Seq+1)
	}
	st := srv.Stats()
	if st.Identifies != 1 || st.Resumes != 1 || st.CloseCodesReceived[1000]+st.CloseCodesReceived[1001] != 0 {
		t.Fatalf("stats: identifies %d resumes %d closes %v", st.Identifies, st.Resumes, st.CloseCodesReceived)
	}
}

func TestCloseEndsSessions(t *testing.T) {
	srv := startFake(t, nil)
	rec := newRecorder()
	b := testBot(t, srv, rec, nil, nil)
	serve(t, b.ChildSpec())
	waitUntil(t, "ready", func() bool { return b.Cache().Guilds() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().CloseCodesReceived[1000]; n != 1 {
		t.Fatalf("close 1000 received %d times", n)
	}
	if err := b.ResumeFrom(nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("ResumeFrom after start = %v", err)
	}
}

func TestFatalCloseStopsOnlyThatShard(t *testing.T) {
	srv := startFake(t, func(c *fakediscord.Config) {
		c.Shards = 2
		c.Guilds = fakediscord.MakeGuilds(2, 1)
	})
	rec := newRecorder()
	gw := &gwEvents{}
	b := testBot(t, srv, rec, gw, func(o *Options) { o.Shards = Shards{} }) // auto: 2 shards
	serve(t, b.ChildSpec())
	waitUntil(t, "both ready", func() bool { return countOf[gateway.Ready](gw) == 2 })
	if err := srv.CloseShard(0, 4014); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "shard 0 stopped", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, stopped := b.final[0]
		return stopped && b.runs[0] == nil
	})
	// Shard 1 still works; shard 0 never reconnected.
	if _, err := srv.InjectMessage(channelOf(t, srv, 1), "still here"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "message on shard 1", func() bool { return len(rec.messages()) == 1 })
	if st := srv.Stats(); st.Connections != 2 {
		t.Fatalf("connections = %d, want 2 (no retry of shard 0)", st.Connections)
	}
}

func TestIdentifyPacing(t *testing.T) {
	for _, mc := range []int{1, 4} {
		t.Run(fmt.Sprint("max_concurrency=", mc), func(t *testing.T) {
			identifyPacing(t, mc, 8, 100*time.Millisecond)
		})
	}
}

// identifyPacing starts shards shards with max_concurrency mc and checks the fake
// refused no IDENTIFY, buckets start in order and each bucket's IDENTIFYs are window
// apart. Window 0 means Discord's real 5 s on both sides.
func identifyPacing(t *testing.T, mc, shards int, window time.Duration) {
	srv := startFake(t, func(c *fakediscord.Config) {
		c.MaxConcurrency = mc
		c.IdentifyWindow = window
		c.Shards = shards
		c.Guilds = fakediscord.MakeGuilds(shards, 1)
	})
	var mu sync.Mutex
	grants := map[int]time.Time{}
	var order []int
	b := testBot(t, srv, newRecorder(), nil, func(o *Options) {
		o.Shards = Shards{Mode: ShardsAuto}
		o.IdentifyWindow = window
		if window > 0 {
			// Scaled runs: the fake counts IDENTIFYs when it processes them; on a loaded
			// test machine that lags their sending by more than 10 % of 100 ms.
			o.IdentifyMargin = 150 * time.Millisecond
		}
	})
	if window == 0 {
		window = 5 * time.Second
	}
	b.onIdentify = func(shard int, at time.Time) {
		mu.Lock()
		grants[shard] = at
		order = append(order, shard)
		mu.Unlock()
	}
	start := time.Now()
	serve(t, b.ChildSpec())
	waitUntil(t, "all identified", func() bool { return srv.Stats().Identifies == shards })
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if st := srv.Stats(); st.IdentifyRejected != 0 {
		t.Fatalf("%d IDENTIFYs refused with op 9", st.IdentifyRejected)
	}
	for s := mc; s < shards; s++ {
		if gap := grants[s].Sub(grants[s-mc]); gap < window {
			t.Errorf("shard %d identified %v after shard %d, same bucket: want ≥ %v", s, gap, s-mc, window)
		}
	}
	if !slices.IsSortedFunc(order, func(x, y int) int { return x/mc - y/mc }) {
		t.Errorf("buckets started out of order: %v", order)
	}
	if waves := (shards + mc - 1) / mc; elapsed < time.Duration(waves-1)*window {
		t.Errorf("%d waves took %v, less than %v", waves, elapsed, time.Duration(waves-1)*window)
	}
	t.Logf("max_concurrency %d: %d shards identified in %v, order %v", mc, shards, elapsed, order)
}

func TestOptionsValidate(t *testing.T) {
	h := func(context.Context, Event) error { return nil }
	bad := []Options{
		{Handler: h},
		{Token: "t"},
		{Token: "t", Handler: h, Shards: Shards{Mode: ShardsCount}},
		{Token: "t", Handler: h, Shards: Shards{Mode: ShardsRange, From: 2, To: 1, Total: 4}},
		{Token: "t", Handler: h, BaseURL: "ftp://x"},
		{Token: "t", Handler: h, Resume: []ResumeInfo{{ShardID: 1, ShardCount: 1}}},
	}
	for i, o := range bad {
		_, err := New(o)
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("options %d: err = %v", i, err)
		}
	}
	o := Options{Token: "Bot SECRET-x", Handler: h}
	if s := fmt.Sprintf("%v %+v %#v", o, o, o); strings.Contains(s, "SECRET") {
		t.Fatalf("options print the token: %s", s)
	}
	if got := o.tokenFunc()(); got != "SECRET-x" {
		t.Fatalf("token = %q", got)
	}
}

func TestTokenNeverInLogsOrErrors(t *testing.T) {
	srv := startFake(t, nil)
	const wrong = "Bot wrong-VERY-SECRET"
	gw := &gwEvents{}
	// REST refuses the token (401) and the start fails, naming no token.
	b := testBot(t, srv, newRecorder(), gw, func(o *Options) { o.TokenFunc = func() string { return wrong } })
	sup, err := supervisor.New(supervisor.Spec{Children: []supervisor.ChildSpec{b.ChildSpec()}})
	if err != nil {
		t.Fatal(err)
	}
	err = sup.Start(context.Background())
	if err == nil || strings.Contains(err.Error(), "VERY-SECRET") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("start error = %v", err)
	}
	// With a configured gateway URL the shard IDENTIFYs, gets 4004, and stops for good.
	b2 := testBot(t, srv, newRecorder(), gw, func(o *Options) {
		o.TokenFunc = func() string { return wrong }
		o.GatewayURL = srv.GatewayURL()
	})
	serve(t, b2.ChildSpec())
	waitUntil(t, "shard stopped", func() bool {
		b2.mu.Lock()
		defer b2.mu.Unlock()
		_, stopped := b2.final[0]
		return stopped && b2.runs[0] == nil
	})
	if st := srv.Stats(); st.Connections != 1 || st.CloseCodesSent[4004] != 1 {
		t.Fatalf("connections %d, 4004s %d: want one attempt", st.Connections, st.CloseCodesSent[4004])
	}
}

func TestShardRangeOfTotal(t *testing.T) {
	srv := startFake(t, func(c *fakediscord.Config) {
		c.Shards = 4
		c.Guilds = fakediscord.MakeGuilds(4, 1)
	})
	rec := newRecorder()
	b := testBot(t, srv, rec, nil, func(o *Options) { o.Shards = Shards{Mode: ShardsRange, From: 1, To: 2, Total: 4} })
	serve(t, b.ChildSpec())
	waitUntil(t, "two shards", func() bool { return srv.Stats().Identifies == 2 })
	var got []int
	for _, s := range srv.Stats().Sessions {
		if s.NumShards != 4 {
			t.Fatalf("session %+v: want 4 shards in total", s)
		}
		got = append(got, s.Shard)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("shards %v, want [1 2]", got)
	}
	waitUntil(t, "guilds of shards 1 and 2", func() bool { return b.Cache().Guilds() == 2 })
	for _, g := range []int{1, 2} {
		if _, err := srv.InjectMessage(channelOf(t, srv, g), fmt.Sprint("to shard ", g)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "messages", func() bool { return len(rec.messages()) == 2 })
	for _, ev := range rec.messages() {
		if want := "to shard " + fmt.Sprint(ev.Shard); ev.Message.Content != want || ev.ShardCount != 4 {
			t.Fatalf("shard %d/%d got %q", ev.Shard, ev.ShardCount, ev.Message.Content)
		}
	}
}

func TestConcurrentHandlersCommitLowWatermark(t *testing.T) {
	srv := startFake(t, nil)
	rec := newRecorder()
	b := testBot(t, srv, rec, nil, func(o *Options) { o.Concurrency = 4 })
	serve(t, b.ChildSpec())
	waitUntil(t, "ready", func() bool { return b.Cache().Guilds() == 1 })
	for i := 0; i < 200; i++ {
		if _, err := srv.InjectMessage(channelOf(t, srv, 0), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "all handled", func() bool { return len(rec.messages()) == 200 })
	seen := map[string]bool{}
	var maxSeq int64
	for _, ev := range rec.snapshot() {
		if ev.Message != nil {
			if seen[ev.Message.Content] {
				t.Fatalf("message %q handled twice", ev.Message.Content)
			}
			seen[ev.Message.Content] = true
		}
		maxSeq = max(maxSeq, ev.Seq)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	infos, err := b.Detach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Seq != maxSeq {
		t.Fatalf("infos %+v, want committed seq %d", infos, maxSeq)
	}
}
