package app

// # Distributed applications
//
// An application named in Config.Distributed runs on one node of its list at a time. The
// controllers of the nodes decide together where, with OTP dist_ac's rules
// (otp-dist-ac.md): the priority walk of the node list; among equal-priority nodes (a tier),
// the one running the fewest applications, then the lowest name; failover Timeout after the
// runner's node goes down (0 = at once, Infinity = never); takeover when a higher-priority
// node starts it (the new instance starts, then the old one stops: they overlap); Takeover
// and Permit as OTP's application:takeover/2 and permit/2; Start blocks until the placement
// is known.
//
// Deliberate deviations from OTP (design.md), each an improvement a user would ask for:
//
//  1. A failover start is always KindFailover with From = the dead node (OTP says normal
//     unless the application has start phases).
//  2. Controller errors (a peer with another node list, an unloaded application) are returned
//     and logged; they never stop the node. One application's wait never blocks another or
//     the API: every wait is a state with a timeout.
//  3. A failed takeover start leaves the old instance running; it is told through
//     HandoffAborted (OTP stops it anyway: the application then runs nowhere).
//  4. A permanent application that exits (or a transient one, abnormally) stops its node as in
//     OTP, and its peers fail over after Timeout with KindFailover from that node (OTP's
//     peers do nothing).
//  5. After a partition heals, duplicates are reconciled: the instance on the higher-priority
//     node stays; within a tier, the higher epoch, then the lower node name; the other stops
//     through the takeover path (StopReason Moved). OTP keeps both forever.
//  6. Every placement carries an epoch, strictly increasing per application across the
//     cluster (StartType.Epoch); a (re)starting node learns the current epochs from its
//     peers' hellos before it claims anything. Limits: after a full-cluster cold start epochs
//     restart at 1; both sides of a partition may issue the same next epoch.
//  7. Waits on a node that is up but does not start the application are bounded by
//     Config.StartWait (default 30 s) and logged; the node is then skipped (OTP waits
//     forever and its dist_ac stops answering).
//  8. The boot barrier (dist.Endpoint.SyncNodes) keeps retrying listed nodes.
//
// # How the controller is built
//
// The decisions are a pure, deterministic state machine (core*.go): events in (API calls,
// instance results, nodeup/nodedown, peer messages, timer expiries), actions out (messages,
// start or stop the local instance, replies, timers, log lines). Its behaviour is pinned by
// the scenario scripts in testdata/ (go test ./app -run TestScenarios -rewrite regenerates
// the golden transcripts). The Controller runs one goroutine that owns the core and carries
// out its actions; instances, per-peer senders and timers run around it. Peers exchange a
// hello on every nodeup (so a healed partition or a restarted node resynchronises), a status
// per application change, election weights, checkpoints, and barrier pings that make an API
// call see what its peers said before it (the part OTP's global lock plays). Every decision
// is logged through slog with the keys app, node, epoch, start_type and reason; Where returns
// the last one.
