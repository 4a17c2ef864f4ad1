// Package dist connects gotp nodes: node names, the port mapper, the gossip mesh, links with
// cookie authentication and encryption, messaging, node monitoring and the boot barrier.
//
// # One port per node
//
// A node listens on one port number (Config.PortMin..PortMax, kernel
// inet_dist_listen_min/max). TCP carries links and memberlist streams, told apart by the first
// byte ('L' link, 'M' memberlist stream); UDP on the same number carries memberlist gossip. The
// node registers that port with the host's port mapper (package dist/epmd, the EPMD protocol;
// a node embeds one when none runs) and peers resolve it with PORT_PLEASE2. Explicit
// "host:port" Seeds work without a mapper. Every socket is opened through Config.Network, so
// a test network (dist/disttest) can crash, hang or partition a node as a whole.
//
// # Links
//
// One link per pair of nodes. Either side may dial; when both dial at once, the link dialed by
// the node with the lower name wins (the other dial is answered "duplicate"). The handshake:
//
//	dialer → acceptor   hello{version, name, boot id, hidden, long names, nonce_d}
//	acceptor → dialer   hello{…, nonce_a}
//	dialer → acceptor   proof{HMAC-SHA256(K_auth, "dialer"  ‖ hello_d ‖ hello_a)}
//	acceptor → dialer   proof{status, reason, HMAC-SHA256(K_auth, "acceptor" ‖ hello_d ‖ hello_a)}
//
// with K_auth = HKDF-SHA256(cookie, "gotp link auth v1"): the cookie never crosses the wire.
// Then each direction has its own AES-256-GCM key, HKDF-SHA256(cookie, salt nonce_d ‖ nonce_a,
// direction label), with counter nonces; every frame is a 4-byte length and the sealed
// msgpack body. With Config.TLS (mutual TLS, certificates checked against the CA and the
// peer's host in their SANs) TLS replaces that layer. Frames: heartbeat (every heartbeat
// period of the profile; a silent link times out after a few), send, request (id, deadline),
// reply, error, leaving. Payloads are capped (Config.MaxFrame, 16 MiB); a malformed frame
// closes its link, never the node.
//
// # Membership and node monitoring
//
// Visible nodes form a hashicorp/memberlist mesh (gossip key = HKDF(cookie), label = cluster
// label, meta = boot id + cluster id; alive and merge delegates refuse other clusters). A node
// is up when memberlist lists an instance of it alive that is not known to be gone:
//
//	down(X) = memberlist says dead/left ∨ (link lost ∧ reconnect refused) ∨ X said it is leaving
//
// so a killed process is reported at once (reason closed), a hung or cut-off one when
// memberlist confirms it (reason timeout, budget per Profile), and a closed one at once
// (reason left). A new boot id is a new instance: nodedown for the old, then nodeup. Every node
// re-joins the configured nodes it does not see every re-join period, so partitions heal by
// themselves. Hidden nodes (Config.Hidden) only dial links and never appear in membership.
package dist
