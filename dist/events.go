package dist

import "context"

// DownReason says why a node went down.
type DownReason string

// The reasons a node is reported down.
const (
	// DownClosed: the link was lost and a reconnect was refused (the process is gone).
	DownClosed DownReason = "closed"
	// DownTimeout: the node went silent and the mesh confirmed it dead (hang, partition).
	DownTimeout DownReason = "timeout"
	// DownLeft: the node left the cluster gracefully.
	DownLeft DownReason = "left"
)

// NodeEvent is a nodeup or nodedown notice from the monitor.
type NodeEvent struct {
	Node   Node
	Up     bool
	Reason DownReason // set when Up is false
	BootID uint64     // the instance of Node this event is about
}

// Handler serves one named service on the local node: messages sent with Send and requests
// made with Request by peers (hidden peers included) arrive here. For a Request the returned
// bytes are the reply and a non-nil error is returned to the caller as a remote error; for a
// Send both are ignored. Handlers for one peer and service run in the order sent.
type Handler func(ctx context.Context, from Peer, payload []byte) ([]byte, error)

// Peer describes the sender of a message.
type Peer struct {
	Node   Node
	Hidden bool   // a hidden node (a tool such as the gotp CLI): never part of membership
	BootID uint64 // the sender's instance
}
