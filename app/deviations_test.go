package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

// Multi-node tests of design.md's deviations, handoff and checkpoints, and shutdown modes.

func twoNodes(t *testing.T, timeout time.Duration, nodes ...string) *cluster {
	if len(nodes) == 0 {
		nodes = []string{"cp1", "cp2"}
	}
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Timeout: timeout, Nodes: tiers(nodes...)}}})
	cl.boot("cp1")
	cl.boot("cp2")
	return cl
}

// §2.11 with deviation 4: a permanent application exits abnormally on its runner; the node
// stops (OTP halts it too) AND the peer fails over after Timeout (OTP's peers do nothing).
func TestCrashPermanentFailsOver(t *testing.T) {
	cl := twoNodes(t, 100*time.Millisecond)
	exit := make(chan error, 1)
	cl.nodes["cp1"].apps["app1"].exitCh = exit
	fatal := make(chan string, 1)
	cl.nodes["cp1"].ctl.cfg.OnFatal = func(app, reason string) { fatal <- app; cl.net.Kill(node("cp1")) }
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	exit <- errBoom
	select {
	case app := <-fatal:
		if app != "app1" {
			t.Fatalf("fatal for %s", app)
		}
	case <-time.After(waitLimit):
		t.Fatal("node did not stop")
	}
	<-cl.ctl("cp1").Done()
	if err := cl.ctl("cp1").Err(); err == nil {
		t.Fatal("no fatal error recorded")
	}
	cl.r.expect(t, m, "cp1 app1 prep_stop crashed", "cp1 app1 stop crashed", "cp2 app1 start {failover,cp1}@2")
	cl.r.epochsGrow(t)
}

// §2.11: a temporary application that exits runs nowhere; nobody fails over (as OTP).
func TestCrashTemporaryRunsNowhere(t *testing.T) {
	cl := twoNodes(t, 0)
	exit := make(chan error, 1)
	cl.nodes["cp1"].apps["app1"].exitCh = exit
	cl.startAll("app1", Temporary, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	exit <- errBoom
	m = cl.r.expect(t, m, "cp1 app1 prep_stop crashed", "cp1 app1 stop crashed")
	cl.waitWhere("cp2", "app1", "")
	cl.r.quiet(t, m, quietWindow)
	select {
	case <-cl.ctl("cp1").Done():
		t.Fatal("a temporary application's exit stopped the node")
	default:
	}
}

// Deviation 3: a failed takeover leaves the old instance running; it is told (HandoffAborted).
func TestFailedTakeoverKeepsOldInstance(t *testing.T) {
	cl := twoNodes(t, 0)
	cl.nodes["cp2"].apps["app1"].startErr = func(st StartType) error {
		if st.Kind == KindTakeover {
			return errBoom
		}
		return nil
	}
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	err := cl.takeover("cp2", "app1", Permanent)
	if !errors.Is(err, ErrStartFailed) || !errors.Is(err, errBoom) {
		t.Fatalf("takeover: %v", err)
	}
	// OTP stops the old instance anyway (app down everywhere); we keep it.
	m = cl.r.expect(t, m, "cp2 app1 start {takeover,cp1}@2", "cp1 app1 handoff_aborted")
	cl.waitWhere("cp2", "app1", "cp1")
	if p, _ := cl.ctl("cp1").Where("app1"); p.State != "local" || p.Epoch != 1 {
		t.Fatalf("cp1: %+v", p)
	}
	cl.r.quiet(t, m, quietWindow)
}

// Deviation 5: after a partition heals, the higher-priority node keeps the application.
func TestPartitionHealsToHigherPriority(t *testing.T) {
	cl := twoNodes(t, 0)
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	cl.net.Partition([]dist.Node{node("cp1")}, []dist.Node{node("cp2")})
	m = cl.r.expect(t, m, "cp2 app1 start {failover,cp1}@2") // both run it now (OTP too)
	cl.waitWhere("cp2", "app1", "cp2")
	cl.net.Heal()
	// OTP: both keep running forever. Ours: cp2 stops through the takeover path.
	m = cl.r.expect(t, m, "cp2 app1 prep_stop moved(cp1@h)", "cp2 app1 stop moved(cp1@h)")
	cl.waitWhere("cp2", "app1", "cp1")
	cl.waitWhere("cp1", "app1", "cp1")
	cl.r.quiet(t, m, quietWindow)
}

// Deviation 5 within a tier: the higher epoch keeps it.
func TestPartitionHealsToHigherEpochInTier(t *testing.T) {
	cl := twoNodes(t, 0, "{cp1,cp2}")
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	cl.net.Partition([]dist.Node{node("cp1")}, []dist.Node{node("cp2")})
	m = cl.r.expect(t, m, "cp2 app1 start {failover,cp1}@2")
	cl.waitWhere("cp2", "app1", "cp2")
	cl.net.Heal()
	m = cl.r.expect(t, m, "cp1 app1 prep_stop moved(cp2@h)", "cp1 app1 stop moved(cp2@h)")
	cl.waitWhere("cp1", "app1", "cp2")
	cl.r.quiet(t, m, quietWindow)
}

// Handoff bytes on a takeover, and a checkpoint read on a failover.
func TestHandoffAndCheckpoint(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Nodes: tiers("cp1", "cp2", "cp3")}}})
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		cl.boot(n)
	}
	got := make(chan string, 4)
	for _, n := range []string{"cp1", "cp2", "cp3"} {
		ta := cl.nodes[n].apps["app1"]
		ta.handoff = []byte("state of " + n)
		ta.onStart = func(ctx context.Context, st StartType) {
			switch st.Kind {
			case KindTakeover:
				b, err := HandoffFrom(ctx)
				got <- fmt.Sprintf("handoff %q %v", b, err)
			case KindFailover:
				b, epoch, ok := LastCheckpoint(ctx)
				got <- fmt.Sprintf("checkpoint %q %d %t", b, epoch, ok)
			}
		}
		ta.serveHook = func(ctx context.Context) {
			_ = Checkpoint(ctx, []byte(fmt.Sprintf("checkpoint of %s@%d", n, instFrom(ctx).st.Epoch)))
		}
	}
	cl.startAll("app1", Permanent, "cp1", "cp2", "cp3")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	if err := cl.takeover("cp2", "app1", Permanent); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, "cp2 app1 start {takeover,cp1}@2", "cp1 app1 prep_stop moved(cp2@h)", "cp1 app1 stop moved(cp2@h)")
	if g := <-got; g != `handoff "state of cp1" <nil>` {
		t.Fatalf("takeover got %s", g)
	}
	// Wait until cp1 holds cp2's checkpoint, then kill cp2: cp1 (first in priority) fails
	// over and reads it.
	waitCond(t, func() bool { _, e, ok := cl.ctl("cp1").lastCheckpoint("app1", node("cp2")); return ok && e == 2 })
	cl.kill("cp2")
	m = cl.r.expect(t, m, "cp1 app1 start {failover,cp2}@3")
	if g := <-got; g != `checkpoint "checkpoint of cp2@2" 2 true` {
		t.Fatalf("failover got %s", g)
	}
	cl.r.epochsGrow(t)
}

// Shutdown, default mode (as OTP): the node stops its applications and leaves; the peer fails
// over after Timeout with Failover from it.
func TestShutdownDefault(t *testing.T) {
	cl := twoNodes(t, 100*time.Millisecond)
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := cl.ctl("cp1").Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, "cp1 app1 prep_stop shutdown", "cp1 app1 stop shutdown")
	cl.r.quiet(t, m, 2*100*time.Millisecond) // still in the mesh: nothing moves
	cl.net.Kill(node("cp1"))                 // leaves the mesh
	cl.r.expect(t, m, "cp2 app1 start {failover,cp1}@2")
}

// Shutdown with handover_on_shutdown: the successor takes over before the node stops it.
func TestShutdownHandover(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{{App: "app1", Timeout: 100 * time.Millisecond, Nodes: tiers("cp1", "cp2")}}})
	cl.boot("cp1", func(c *Config) { c.HandoverOnShutdown = true })
	cl.boot("cp2")
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := cl.ctl("cp1").Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, "cp2 app1 start {takeover,cp1}@2", "cp1 app1 prep_stop moved(cp2@h)", "cp1 app1 stop moved(cp2@h)")
	cl.net.Kill(node("cp1"))
	cl.r.quiet(t, m, quietWindow)
	cl.waitWhere("cp2", "app1", "cp2")
}

// The controller's API served to a hidden node (the CLI's path).
func TestControlFromHiddenNode(t *testing.T) {
	cl := twoNodes(t, 0)
	cl.startAll("app1", Permanent, "cp1", "cp2")
	m := cl.r.expect(t, 0, "cp1 app1 start normal@1")
	cl.waitWhere("cp2", "app1", "cp1")
	cli, err := cl.net.AddHidden("gotp-cli@h")
	if err != nil {
		t.Fatal(err)
	}
	cli.Monitor()
	if got := cl.nodes["cp1"].ep.Nodes(); len(got) != 1 {
		t.Fatalf("the hidden node is visible: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	rep, err := Control(ctx, cli, node("cp1"), ControlRequest{Op: "takeover", App: "app1", RestartType: "permanent"})
	if err != nil || rep.Error != "already_running_locally" || !errors.Is(rep.Err(), ErrAlreadyRunningLocally) {
		t.Fatalf("takeover on the runner: %+v %v", rep, err)
	}
	rep, err = Control(ctx, cli, node("cp2"), ControlRequest{Op: "takeover", App: "app1", RestartType: "bogus"})
	if err != nil || rep.Error != "invalid_restart_type" {
		t.Fatalf("bad restart type: %+v %v", rep, err)
	}
	rep, err = Control(ctx, cli, node("cp2"), ControlRequest{Op: "takeover", App: "app1", RestartType: "permanent"})
	if err != nil || rep.Err() != nil {
		t.Fatalf("takeover on cp2: %+v %v", rep, err)
	}
	cl.r.expect(t, m, "cp2 app1 start {takeover,cp1}@2", "cp1 app1 prep_stop moved(cp2@h)", "cp1 app1 stop moved(cp2@h)")
	rep, err = Control(ctx, cli, node("cp1"), ControlRequest{Op: "where", App: "app1"})
	if err != nil || rep.Placement == nil || rep.Placement.Node != node("cp2") || rep.Placement.Epoch != 2 {
		t.Fatalf("where: %+v %v", rep, err)
	}
	rep, err = Control(ctx, cli, node("cp2"), ControlRequest{Op: "apps"})
	if err != nil || len(rep.Apps) != 1 || rep.Apps[0].Name != "app1" {
		t.Fatalf("apps: %+v %v", rep, err)
	}
}
