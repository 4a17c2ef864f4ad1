package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The seed's playtest: mybot on joe, {mike, robert} equal; Timeout 5000 scaled to 300 ms.
func TestPlaytest(t *testing.T) {
	cl := newCluster(t, Config{Distributed: []Distributed{
		{App: "mybot", Timeout: 300 * time.Millisecond, Nodes: tiers("joe", "{mike,robert}")},
	}})
	cl.boot("joe")
	cl.boot("mike")
	cl.boot("robert")
	m := 0
	// Every node starts it at boot; the standbys' starts block until joe runs it.
	chMike := cl.startAsync("mike", "mybot", Permanent)
	chRobert := cl.startAsync("robert", "mybot", Permanent)
	cl.start("joe", "mybot", Permanent)
	m = cl.r.expect(t, m, "joe mybot start normal@1")
	for _, ch := range []<-chan error{chMike, chRobert} {
		if err := recv(t, ch); err != nil {
			t.Fatalf("standby start: %v", err)
		}
	}
	cl.waitWhere("mike", "mybot", "joe")
	cl.waitWhere("robert", "mybot", "joe")

	// Kill joe: after Timeout mike (equal load, lower name) starts it as Failover{From: joe}.
	// OTP would say normal here (no start_phases): deviation 1.
	killed := time.Now()
	cl.kill("joe")
	m = cl.r.expect(t, m, "mike mybot start {failover,joe}@2")
	if d := time.Since(killed); d < 300*time.Millisecond {
		t.Fatalf("failover after %v, before Timeout 300ms", d)
	}
	cl.waitWhere("robert", "mybot", "mike")

	// joe comes back and starts it: takeover from mike; mike stops after joe's start returned.
	cl.boot("joe")
	cl.start("joe", "mybot", Permanent)
	m = cl.r.expect(t, m, "joe mybot start {takeover,mike}@3", "mike mybot prep_stop moved(joe@h)", "mike mybot stop moved(joe@h)")
	cl.waitWhere("robert", "mybot", "joe")

	// app.Takeover on robert moves it there on demand.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := cl.ctl("robert").Takeover(ctx, "mybot", Permanent); err != nil {
		t.Fatal(err)
	}
	m = cl.r.expect(t, m, "robert mybot start {takeover,joe}@4", "joe mybot prep_stop moved(robert@h)", "joe mybot stop moved(robert@h)")
	// On the running node takeover says already_running_locally.
	err := cl.ctl("robert").Takeover(ctx, "mybot", Permanent)
	if !errors.Is(err, ErrAlreadyRunningLocally) || OTPName(err) != "already_running_locally" {
		t.Fatalf("takeover on the runner: %v (%s)", err, OTPName(err))
	}
	p := cl.waitWhere("mike", "mybot", "robert")
	if p.Epoch != 4 || p.StartType.Kind != KindTakeover || short(p.StartType.From) != "joe" {
		t.Fatalf("mike's where: %+v", p)
	}
	cl.r.quiet(t, m, 100*time.Millisecond)
	cl.r.epochsGrow(t)
}
