package node

import (
	"context"
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/dist"
)

// ServiceNodes is the service every node started by Run serves to its peers (hidden ones
// included, such as the gotp CLI): its view of the cluster, itself included.
// (app's control service has no "nodes" operation; the runtime serves it beside it.)
const ServiceNodes = "gotp.node.nodes"

// nodesReply is ServiceNodes' answer.
type nodesReply struct {
	Self  dist.Node   `msgpack:"self"`
	Nodes []dist.Node `msgpack:"nodes"`
}

func serveNodes(ep *dist.Endpoint) {
	ep.Handle(ServiceNodes, func(context.Context, dist.Peer, []byte) ([]byte, error) {
		ns := append(ep.Nodes(), ep.Self())
		slices.Sort(ns)
		return msgpack.Marshal(&nodesReply{Self: ep.Self(), Nodes: ns})
	})
}

// Requester is the part of a dist endpoint RemoteNodes needs.
type Requester interface {
	Request(ctx context.Context, to dist.Node, service string, payload []byte) ([]byte, error)
}

// RemoteNodes asks node for its view of the cluster: the visible nodes up, itself included,
// sorted (OTP's [node() | nodes()] on that node).
func RemoteNodes(ctx context.Context, r Requester, node dist.Node) ([]dist.Node, error) {
	b, err := r.Request(ctx, node, ServiceNodes, nil)
	if err != nil {
		return nil, err
	}
	var rep nodesReply
	if err := msgpack.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("malformed nodes reply from %s: %v", node, err)
	}
	return rep.Nodes, nil
}
