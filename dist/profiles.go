package dist

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile names a failure-detection profile (the `detection` key of the gotp config section).
// Each profile fixes memberlist's timers, the link heartbeat and the re-join period; the
// budgets below are the expected times until every peer reports a *hung or cut-off* node down
// (reason timeout). A killed process is reported at once in every profile (reason closed:
// link EOF and a refused reconnect, a few milliseconds on a LAN).
type Profile string

// The detection profiles.
const (
	// ProfileLAN (default) is memberlist's LAN preset tuned as memberlist.md §5.1 advises:
	// probe 500 ms, probe timeout 250 ms, suspicion ×4 (min 2 s up to 9 nodes, 4 s at 100).
	// Budget for a hang: ≈ 0.5 (first probe) + 0.5 (failed probe) + 2 (suspicion) ≈ 3 s,
	// up to 12 s when peers do not confirm (minority side of a partition).
	// Link heartbeat every 500 ms; re-join of missing configured nodes every 2–5 s.
	ProfileLAN Profile = "lan"
	// ProfileLocal is memberlist's Local preset with RetransmitMult 4 (avoids the slow
	// convergence outliers of §2.3). Budget for a hang: ≈ 4.5–6 s. Heartbeat 1 s; re-join 2–5 s.
	ProfileLocal Profile = "local"
	// ProfileWAN is memberlist's WAN preset. Budget for a hang: ≈ 37–45 s (up to 78 s without
	// confirmations). Heartbeat 5 s; re-join 2–5 s.
	ProfileWAN Profile = "wan"
	// ProfileTest is for in-process tests. It starts from memberlist.md §5.1's test profile
	// (probe 100 ms, timeout 50 ms, suspicion ×3, push/pull 1 s) but probes every 250 ms with
	// a 200 ms timeout, suspicion ×6 (min 1.5 s, max 3 s), gossip every 100 ms and push/pull
	// every 2 s: the §5.1 timings flapped healthy nodes (false nodedowns, stalled streams)
	// when ten nodes ran in one -race test process on a shared 2-core machine at load average
	// 10–17 (fuzzers of other packages), where goroutine wake-ups were late by up to a second.
	// Budget for a hang: ≈ 0.25 + 0.25 + 1.5 ≈ 2 s (up to 3.5 s without confirmations).
	// Heartbeat 250 ms, link read deadline 5 s (a stalled test process must not drop links);
	// re-join of missing nodes every 0.5–1 s.
	// Never for production.
	ProfileTest Profile = "test"
)

// timings holds everything a profile decides besides memberlist's own config.
type timings struct {
	heartbeat   time.Duration // link heartbeat period
	linkTimeout time.Duration // read deadline on a link (missed heartbeats ⇒ link suspected)
	rejoinMin   time.Duration // re-join period lower bound (jittered up to rejoinMax)
	rejoinMax   time.Duration
	leaveWait   time.Duration // how long Close waits for memberlist's Leave broadcast
}

// Validate reports whether p names a known profile ("" counts as lan).
func (p Profile) Validate() error {
	switch p {
	case "", ProfileLAN, ProfileLocal, ProfileWAN, ProfileTest:
		return nil
	}
	return fmt.Errorf("detection profile %q unknown (known: lan, local, wan, test)", string(p))
}

func (p Profile) timings() timings {
	switch p {
	case ProfileTest:
		return timings{heartbeat: 250 * time.Millisecond, linkTimeout: 5 * time.Second,
			rejoinMin: 500 * time.Millisecond, rejoinMax: time.Second, leaveWait: time.Second}
	case ProfileLocal:
		return timings{heartbeat: time.Second, linkTimeout: 4 * time.Second,
			rejoinMin: 2 * time.Second, rejoinMax: 5 * time.Second, leaveWait: 2 * time.Second}
	case ProfileWAN:
		return timings{heartbeat: 5 * time.Second, linkTimeout: 20 * time.Second,
			rejoinMin: 2 * time.Second, rejoinMax: 5 * time.Second, leaveWait: 5 * time.Second}
	default:
		return timings{heartbeat: 500 * time.Millisecond, linkTimeout: 2 * time.Second,
			rejoinMin: 2 * time.Second, rejoinMax: 5 * time.Second, leaveWait: 2 * time.Second}
	}
}

// memberlistConfig returns memberlist's config for the profile. Transport, names, keys and
// delegates are filled in by the caller.
func (p Profile) memberlistConfig() *memberlist.Config {
	var c *memberlist.Config
	switch p {
	case ProfileTest:
		c = memberlist.DefaultLocalConfig()
		c.ProbeInterval = 250 * time.Millisecond
		c.ProbeTimeout = 200 * time.Millisecond
		c.SuspicionMult = 6
		c.SuspicionMaxTimeoutMult = 2
		c.GossipInterval = 100 * time.Millisecond
		c.RetransmitMult = 4
		c.PushPullInterval = 2 * time.Second
		c.GossipToTheDeadTime = 2 * time.Second
		c.DeadNodeReclaimTime = 500 * time.Millisecond
		c.TCPTimeout = 2 * time.Second
	case ProfileLocal:
		c = memberlist.DefaultLocalConfig()
		c.RetransmitMult = 4
		c.DeadNodeReclaimTime = 2 * time.Second
	case ProfileWAN:
		c = memberlist.DefaultWANConfig()
		c.DeadNodeReclaimTime = 30 * time.Second
	default:
		c = memberlist.DefaultLANConfig()
		c.ProbeInterval = 500 * time.Millisecond
		c.ProbeTimeout = 250 * time.Millisecond
		c.SuspicionMult = 4
		c.SuspicionMaxTimeoutMult = 6
		c.GossipInterval = 100 * time.Millisecond
		c.RetransmitMult = 4
		c.PushPullInterval = 15 * time.Second
		c.GossipToTheDeadTime = 30 * time.Second
		c.DeadNodeReclaimTime = 5 * time.Second
		c.TCPTimeout = 2 * time.Second
	}
	return c
}
