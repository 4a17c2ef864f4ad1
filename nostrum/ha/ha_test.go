package ha_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/nostrum/ha"
	"github.com/gotp/gotp/nostrum/ha/hatest"
)

const (
	rate  = 200 // posted messages per second, as the issue asks
	limit = 60 * time.Second
)

var errBoom = errors.New("boom")

// cluster boots nodes a and b (a runs the bot) and waits until a handles messages.
func cluster(t *testing.T, opts hatest.Options) *hatest.Cluster {
	t.Helper()
	opts.Nodes = []string{"a", "b"}
	c, err := hatest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	t.Cleanup(func() { // registered after Close, so it runs before it
		if t.Failed() {
			for _, x := range c.Events.All() {
				t.Logf("%s %s: %s", x.At.Format("15:04:05.000000"), x.Node, x.Event)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for _, n := range opts.Nodes {
		if _, err := c.Boot(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if r := c.Runner("b"); r != "a" {
		t.Fatalf("the bot runs on %q, want a", r)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

func eventsOf[T ha.Event](c *hatest.Cluster, node string) []T {
	var out []T
	for _, x := range c.Events.All() {
		if e, ok := x.Event.(T); ok && x.Node == node {
			out = append(out, e)
		}
	}
	return out
}

// A takeover a → b under a continuous stream handles every posted message exactly once:
// a detaches (no 1000/1001 close), b RESUMEs on the resume URL from a's committed sequence.
func TestTakeoverHandlesEachEventOnce(t *testing.T) {
	c := cluster(t, hatest.Options{})
	f, err := c.Move(ctxT(t), hatest.MoveSpec{Kind: hatest.Takeover, From: "a", To: "b", Rate: rate, Warm: 100, After: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("takeover: %+v", f)
	if f.Injected < 150 || f.Lost != 0 || f.HandledTwice != 0 {
		t.Fatalf("takeover figures %+v: want ≥150 injected, none lost, none handled twice", f)
	}
	st := c.Fake.Stats()
	if st.Identifies != 1 || st.Resumes != 1 || st.ResumesByURL[c.Fake.ResumeURL()] != 1 {
		t.Fatalf("identifies %d, resumes %d (by URL %v), want 1 identify and 1 resume on %s",
			st.Identifies, st.Resumes, st.ResumesByURL, c.Fake.ResumeURL())
	}
	if n := st.CloseCodesReceived[1000] + st.CloseCodesReceived[1001]; n != 0 {
		t.Fatalf("%d sessions ended with 1000/1001 during a takeover", n)
	}
	handed := eventsOf[ha.HandedOff](c, "a")
	started := eventsOf[ha.Started](c, "b")
	if len(handed) != 1 || len(started) != 1 || len(started[0].Resuming) != 1 ||
		started[0].Resuming[0] != handed[0].Shards[0] || started[0].Type.Kind != app.KindTakeover {
		t.Fatalf("a handed off %+v, b started %+v", handed, started)
	}
	if r := c.Runner("a"); r != "b" {
		t.Fatalf("a sees the bot on %q", r)
	}
	if b := c.Node("b").Bot.Cache(); b == nil || b.Guilds() != 1 {
		t.Fatal("b's cache was not restored from the handoff")
	}
}

// A takeover whose new start fails (after it took the handoff) leaves a running: a resumes
// its own sessions and no message is lost or handled twice.
func TestFailedTakeoverKeepsOldInstance(t *testing.T) {
	c := cluster(t, hatest.Options{FailStart: func(node string, st app.StartType) error {
		if st.Kind == app.KindTakeover {
			return errBoom
		}
		return nil
	}})
	ctx := ctxT(t)
	w := hatest.Mark(c.Fake, c.Log)
	stop := c.Fake.StartStream(rate, c.Channel)
	defer stop()
	waitHandled(ctx, t, c, w.Log, 100)
	mark := c.Events.Len()
	if err := c.Takeover(ctx, "b"); !errors.Is(err, errBoom) {
		t.Fatalf("takeover = %v, want the start's error", err)
	}
	if _, err := c.Events.Wait(ctx, mark, func(x hatest.NodeEvent) bool {
		_, ok := x.Event.(ha.HandoffAborted)
		return ok && x.Node == "a"
	}); err != nil {
		t.Fatal(err)
	}
	after := c.Log.Len()
	waitHandled(ctx, t, c, after, 100)
	stop()
	f := c.Settle(ctx, "a", "a", w, nil)
	t.Logf("failed takeover: %+v", f)
	if f.Lost != 0 || f.HandledTwice != 0 {
		t.Fatalf("figures %+v: want none lost, none handled twice", f)
	}
	for _, h := range c.Log.Entries(w.Log) {
		if h.Node != "a" {
			t.Fatalf("node %s handled a message; only a runs the bot", h.Node)
		}
	}
	if len(eventsOf[ha.HandedOff](c, "a")) != 1 {
		t.Fatal("a never handed off: the takeover failed before the handoff")
	}
	st := c.Fake.Stats()
	if st.Identifies != 1 || st.Resumes != 1 {
		t.Fatalf("identifies %d, resumes %d, want 1 and 1 (a resumed its own session)", st.Identifies, st.Resumes)
	}
	if r := c.Runner("b"); r != "a" {
		t.Fatalf("b sees the bot on %q, want a", r)
	}
}

// Killing a (its sockets drop, no close frame) fails the bot over to b, which resumes
// from a's last checkpoint: nothing is lost, messages a handled after its checkpoint are
// handled again, and the replies carry a nonce so none is created twice.
func TestFailoverLosesNothingAndRepliesOnce(t *testing.T) {
	c := cluster(t, hatest.Options{Reply: true})
	f, err := c.Move(ctxT(t), hatest.MoveSpec{Kind: hatest.Failover, From: "a", To: "b", Rate: rate, Warm: 100, After: 100})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Fake.Stats()
	t.Logf("failover: %+v; nonce hits %d", f, st.NonceHits)
	if f.Injected < 150 || f.Lost != 0 || f.DuplicateReplies != 0 || f.Replies != f.Injected {
		t.Fatalf("failover figures %+v: want ≥150 injected, none lost, one reply each", f)
	}
	if st.NonceHits < f.HandledTwice {
		t.Fatalf("%d messages handled twice but only %d replies refused by nonce", f.HandledTwice, st.NonceHits)
	}
	if st.Identifies != 1 || st.Resumes != 1 {
		t.Fatalf("identifies %d, resumes %d, want 1 and 1", st.Identifies, st.Resumes)
	}
	if lost := eventsOf[ha.SessionLost](c, "b"); len(lost) != 0 {
		t.Fatalf("session lost on failover: %+v", lost)
	}
	started := eventsOf[ha.Started](c, "b")
	if len(started) != 1 || started[0].Type.Kind != app.KindFailover || len(started[0].Resuming) != 1 {
		t.Fatalf("b started %+v", started)
	}
}

// A failover whose session expired meanwhile reports SessionLost and identifies afresh;
// the bot then handles new messages on b.
func TestFailoverExpiredSessionIdentifies(t *testing.T) {
	c := cluster(t, hatest.Options{})
	ctx := ctxT(t)
	w := hatest.Mark(c.Fake, c.Log)
	stop := c.Fake.StartStream(rate, c.Channel)
	defer stop()
	waitHandled(ctx, t, c, w.Log, 50)
	// Two checkpoints, so one is out before a dies (a kill may drop the last one queued).
	if err := c.WaitCheckpoints(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	mark := c.Events.Len()
	if err := c.Fake.ExpireSessions(); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	x, err := c.Events.Wait(ctx, mark, func(x hatest.NodeEvent) bool {
		_, ok := x.Event.(ha.SessionLost)
		return ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if lost := x.Event.(ha.SessionLost); x.Node != "b" || lost.Shard != 0 {
		t.Fatalf("session lost %+v on %s, want shard 0 on b", lost, x.Node)
	}
	after := c.Log.Len()
	waitHandled(ctx, t, c, after, 50)
	for _, h := range c.Log.Entries(after) {
		if h.Node != "b" {
			t.Fatalf("%s handled a message after the failover", h.Node)
		}
	}
	st := c.Fake.Stats()
	if st.Identifies != 2 || st.Resumes != 0 || st.ResumesFailed != 1 {
		t.Fatalf("identifies %d, resumes %d, failed resumes %d; want 2, 0, 1", st.Identifies, st.Resumes, st.ResumesFailed)
	}
}

// Shutdown of the runner ends the session with close 1000.
func TestShutdownClosesSession(t *testing.T) {
	c := cluster(t, hatest.Options{})
	ctx := ctxT(t)
	if _, err := c.Fake.InjectMessage(c.Channel, "hello"); err != nil {
		t.Fatal(err)
	}
	waitHandled(ctx, t, c, 0, 1)
	if err := c.Node("a").Ctl.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := eventsOf[ha.Stopped](c, "a")
	if len(stopped) != 1 || !stopped[0].Closed {
		t.Fatalf("a stopped %+v, want one closing stop", stopped)
	}
	if n := c.Fake.Stats().CloseCodesReceived[1000]; n != 1 {
		t.Fatalf("close 1000 received %d times", n)
	}
}

// Config errors name the field.
func TestConfigValidate(t *testing.T) {
	c, err := hatest.New(hatest.Options{Nodes: []string{"a"}, Fake: func(*fakediscord.Config) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ha.New(ha.Config{}); !errors.Is(err, ha.ErrInvalidConfig) {
		t.Fatalf("empty config: %v", err)
	}
	if _, err := ha.New(ha.Config{CheckpointInterval: -1}); !errors.Is(err, ha.ErrInvalidConfig) {
		t.Fatalf("negative interval: %v", err)
	}
}

// Every shard's session moves: a takeover of a two-shard bot resumes both, exactly once.
func TestTakeoverCarriesEveryShard(t *testing.T) {
	c := cluster(t, hatest.Options{Shards: 2})
	f, err := c.Move(ctxT(t), hatest.MoveSpec{Kind: hatest.Takeover, From: "a", To: "b", Rate: rate, Warm: 100, After: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("two-shard takeover: %+v", f)
	if f.Lost != 0 || f.HandledTwice != 0 {
		t.Fatalf("figures %+v: want none lost, none handled twice", f)
	}
	shards := map[int]bool{}
	for _, h := range c.Log.Entries(0) {
		if h.Node == "b" {
			shards[h.Shard] = true
		}
	}
	st := c.Fake.Stats()
	if len(shards) != 2 || st.Identifies != 2 || st.Resumes != 2 {
		t.Fatalf("b handled shards %v; identifies %d, resumes %d; want both shards, 2 and 2", shards, st.Identifies, st.Resumes)
	}
}

// A failover with no checkpoint from the dead node (it never wrote one) identifies afresh and
// says so with SessionLost for every shard (-1).
func TestFailoverWithoutCheckpointIdentifies(t *testing.T) {
	c := cluster(t, hatest.Options{Ha: func(cfg *ha.Config) {
		cfg.CheckpointInterval, cfg.CheckpointEvents = time.Hour, 1<<30
	}})
	ctx := ctxT(t)
	mark := c.Events.Len()
	if err := c.Kill(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	x, err := c.Events.Wait(ctx, mark, func(x hatest.NodeEvent) bool {
		_, ok := x.Event.(ha.SessionLost)
		return ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if lost := x.Event.(ha.SessionLost); x.Node != "b" || lost.Shard != -1 {
		t.Fatalf("session lost %+v on %s, want shard -1 on b", lost, x.Node)
	}
	if _, err := c.Events.Wait(ctx, mark, func(x hatest.NodeEvent) bool {
		_, ok := x.Event.(gateway.Ready)
		return ok && x.Node == "b"
	}); err != nil {
		t.Fatal(err)
	}
	if st := c.Fake.Stats(); st.Identifies != 2 || st.Resumes != 0 {
		t.Fatalf("identifies %d, resumes %d, want 2 and 0", st.Identifies, st.Resumes)
	}
}

// A rolling restart: a node shutting down with HandoverOnShutdown moves the bot to its peer
// through the takeover path first, so the session moves instead of ending.
func TestShutdownWithHandoverMovesSession(t *testing.T) {
	c := cluster(t, hatest.Options{Controller: func(cfg *app.Config) { cfg.HandoverOnShutdown = true }})
	ctx := ctxT(t)
	w := hatest.Mark(c.Fake, c.Log)
	stop := c.Stream(rate)
	defer stop()
	waitHandled(ctx, t, c, w.Log, 100)
	if err := c.Node("a").Ctl.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	after := c.Log.Len()
	waitHandled(ctx, t, c, after, 100)
	stop()
	f := c.Settle(ctx, "a", "b", w, nil)
	t.Logf("handover on shutdown: %+v", f)
	if f.Lost != 0 || f.HandledTwice != 0 {
		t.Fatalf("figures %+v: want none lost, none handled twice", f)
	}
	st := c.Fake.Stats()
	if st.Identifies != 1 || st.Resumes != 1 || st.CloseCodesReceived[1000] != 0 {
		t.Fatalf("identifies %d, resumes %d, closes %v; want the session moved, not ended", st.Identifies, st.Resumes, st.CloseCodesReceived)
	}
	if stopped := eventsOf[ha.Stopped](c, "a"); len(stopped) != 1 || stopped[0].Closed {
		t.Fatalf("a stopped %+v, want one detaching stop", stopped)
	}
}

// With KeepSessionOnShutdown, OTP's default shutdown (stop, leave, peers fail over) keeps
// the session: the peer resumes it from the last checkpoint and loses nothing.
func TestShutdownKeepingSessionFailsOver(t *testing.T) {
	c := cluster(t, hatest.Options{Ha: func(cfg *ha.Config) { cfg.KeepSessionOnShutdown = true }})
	ctx := ctxT(t)
	w := hatest.Mark(c.Fake, c.Log)
	stop := c.Stream(rate)
	defer stop()
	// Two checkpoints: the controller's Shutdown drops sends still queued when it closes, so
	// the first one has to be out before a shuts down (the second may be lost with it).
	if err := c.WaitCheckpoints(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Node("a").Ctl.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.Net.Kill(hatest.NodeName("a")) // a leaves the mesh; b fails over from it
	after := c.Log.Len()
	waitHandled(ctx, t, c, after, 100)
	stop()
	f := c.Settle(ctx, "a", "b", w, nil)
	t.Logf("shutdown keeping the session: %+v", f)
	st := c.Fake.Stats()
	if f.Lost != 0 || st.Identifies != 1 || st.Resumes != 1 || st.CloseCodesReceived[1000] != 0 {
		t.Fatalf("figures %+v; identifies %d, resumes %d, closes %v; want nothing lost and the session resumed",
			f, st.Identifies, st.Resumes, st.CloseCodesReceived)
	}
	if stopped := eventsOf[ha.Stopped](c, "a"); len(stopped) != 1 || stopped[0].Closed || stopped[0].Reason != "shutdown" {
		t.Fatalf("a stopped %+v, want one detaching shutdown", stopped)
	}
}

// If the node taking over dies after the handoff but before its start ended, nobody tells
// the old instance; past HandoffTimeout it resumes its sessions itself and loses nothing.
func TestTakeoverByDyingNodeResumes(t *testing.T) {
	inStart, release := make(chan struct{}), make(chan struct{})
	c := cluster(t, hatest.Options{
		Ha: func(cfg *ha.Config) { cfg.HandoffTimeout = 300 * time.Millisecond },
		FailStart: func(node string, st app.StartType) error {
			if st.Kind != app.KindTakeover {
				return nil
			}
			close(inStart)
			<-release // the node dies while its start waits here
			return errBoom
		},
	})
	ctx := ctxT(t)
	w := hatest.Mark(c.Fake, c.Log)
	stop := c.Stream(rate)
	defer stop()
	waitHandled(ctx, t, c, w.Log, 100)
	mark := c.Events.Len()
	takeover := make(chan error, 1)
	go func() { takeover <- c.Takeover(ctx, "b") }()
	select {
	case <-inStart:
	case <-ctx.Done():
		t.Fatal("b's takeover start never ran")
	}
	c.Net.Kill(hatest.NodeName("b")) // b is gone before it could report the failure
	close(release)
	<-takeover
	c.Node("b").Ctl.Halt()
	if _, err := c.Events.Wait(ctx, mark, func(x hatest.NodeEvent) bool {
		_, ok := x.Event.(ha.HandoffAborted)
		return ok && x.Node == "a"
	}); err != nil {
		t.Fatal(err)
	}
	after := c.Log.Len()
	waitHandled(ctx, t, c, after, 100)
	stop()
	f := c.Settle(ctx, "a", "a", w, nil)
	t.Logf("takeover by a dying node: %+v", f)
	if f.Lost != 0 || f.HandledTwice != 0 {
		t.Fatalf("figures %+v: want none lost, none handled twice", f)
	}
	if st := c.Fake.Stats(); st.Identifies != 1 || st.Resumes != 1 {
		t.Fatalf("identifies %d, resumes %d, want 1 and 1 (a resumed its own session)", st.Identifies, st.Resumes)
	}
}

// waitHandled waits until at least n more messages were handled after log position from.
func waitHandled(ctx context.Context, t *testing.T, c *hatest.Cluster, from, n int) {
	t.Helper()
	if err := c.Log.Wait(ctx, from, func(hs []hatest.Handled) bool { return len(hs) >= n }); err != nil {
		t.Fatal(err)
	}
}
