package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/dist"
)

// Network is what the controller needs from the mesh; *dist.Endpoint satisfies it.
type Network interface {
	Self() dist.Node
	Nodes() []dist.Node
	Monitor() ([]dist.Node, <-chan dist.NodeEvent, func())
	Handle(service string, h dist.Handler)
	Send(ctx context.Context, to dist.Node, service string, payload []byte) error
	Request(ctx context.Context, to dist.Node, service string, payload []byte) ([]byte, error)
}

// The services the controller registers on the Network.
const (
	// ServicePeer carries controller-to-controller messages (Send).
	ServicePeer = "gotp.app"
	// ServiceHandoff serves takeover handoffs (Request).
	ServiceHandoff = "gotp.app.handoff"
	// ServiceControl serves the controller's API to peers and hidden nodes (Request).
	ServiceControl = "gotp.app.ctl"
)

// protocolVersion is carried in every hello; a peer speaking another version is ignored.
const protocolVersion = 1

// MaxHandoff caps the bytes of a handoff and of a checkpoint.
const MaxHandoff = 16 << 20

// appStatus is one node's report about one application: sent in a hello to a node that came
// up, and to every node of the application's list whenever it changes.
type appStatus struct {
	App     string        `msgpack:"a"`
	Nodes   [][]dist.Node `msgpack:"n"`
	Started bool          `msgpack:"s"`
	Permit  bool          `msgpack:"p"`
	Running bool          `msgpack:"r"`
	Epoch   uint64        `msgpack:"e"` // the sender's highest known epoch
	Kind    StartKind     `msgpack:"k"` // the running instance's start type
	From    dist.Node     `msgpack:"f"`
	IEpoch  uint64        `msgpack:"i"` // the running instance's epoch
	Failed  bool          `msgpack:"x"` // the last local start attempt (epoch IEpoch) failed
}

// weightMsg is one node's weight in an equal-priority election.
type weightMsg struct {
	App    string `msgpack:"a"`
	Weight int    `msgpack:"w"`
	Epoch  uint64 `msgpack:"e"`
	Ask    bool   `msgpack:"q"` // the sender runs an election: answer with your weight
}

// checkpointMsg replicates a running instance's checkpoint.
type checkpointMsg struct {
	App   string `msgpack:"a"`
	Epoch uint64 `msgpack:"e"`
	Data  []byte `msgpack:"d"`
}

// wireMsg is the envelope of ServicePeer messages; exactly one field is set.
type wireMsg struct {
	Version    int            `msgpack:"v"`
	Hello      []appStatus    `msgpack:"h,omitempty"`
	IsHello    bool           `msgpack:"hh,omitempty"`
	HelloAsk   bool           `msgpack:"ha,omitempty"` // answer with your own hello
	Status     *appStatus     `msgpack:"s,omitempty"`
	Weight     *weightMsg     `msgpack:"w,omitempty"`
	Checkpoint *checkpointMsg `msgpack:"c,omitempty"`
	Ping       uint64         `msgpack:"pi,omitempty"` // barrier: answer with Pong after what you sent before
	Pong       uint64         `msgpack:"po,omitempty"`
}

func encodeMsg(m wireMsg) ([]byte, error) {
	m.Version = protocolVersion
	return msgpack.Marshal(&m)
}

// maxBatch bounds the messages in one frame.
const maxBatch = 256

// batchMsg is several messages in one frame, handled in order.
type batchMsg struct {
	Version int       `msgpack:"v"`
	Batch   []wireMsg `msgpack:"b"`
}

// encodeMsgs encodes one message as itself and several as a batch.
func encodeMsgs(ms []wireMsg) ([]byte, error) {
	if len(ms) == 1 {
		return encodeMsg(ms[0])
	}
	b := batchMsg{Version: protocolVersion, Batch: make([]wireMsg, len(ms))}
	for i, m := range ms {
		m.Version = protocolVersion
		b.Batch[i] = m
	}
	return msgpack.Marshal(&b)
}

// decodeMsgs decodes a message or a batch of messages.
func decodeMsgs(b []byte) ([]wireMsg, error) {
	if err := checkMsgpack(b); err != nil {
		return nil, err
	}
	var probe struct {
		Version int                  `msgpack:"v"`
		Batch   []msgpack.RawMessage `msgpack:"b"`
	}
	if err := msgpack.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadMessage, err)
	}
	if probe.Batch == nil {
		m, err := decodeMsg(b)
		if err != nil {
			return nil, err
		}
		return []wireMsg{m}, nil
	}
	if probe.Version != protocolVersion {
		return nil, fmt.Errorf("%w: protocol version %d, want %d", errBadMessage, probe.Version, protocolVersion)
	}
	if len(probe.Batch) > maxBatch {
		return nil, fmt.Errorf("%w: batch of %d messages", errBadMessage, len(probe.Batch))
	}
	out := make([]wireMsg, 0, len(probe.Batch))
	for _, raw := range probe.Batch {
		m, err := decodeMsg(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

var errBadMessage = errors.New("malformed controller message")

func decodeMsg(b []byte) (wireMsg, error) {
	if err := checkMsgpack(b); err != nil {
		return wireMsg{}, err
	}
	var m wireMsg
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return wireMsg{}, fmt.Errorf("%w: %v", errBadMessage, err)
	}
	if m.Version != protocolVersion {
		return wireMsg{}, fmt.Errorf("%w: protocol version %d, want %d", errBadMessage, m.Version, protocolVersion)
	}
	n := 0
	if m.IsHello {
		n++
	}
	if m.Status != nil {
		n++
	}
	if m.Weight != nil {
		n++
	}
	if m.Checkpoint != nil {
		n++
	}
	if m.Ping != 0 {
		n++
	}
	if m.Pong != 0 {
		n++
	}
	if n != 1 {
		return wireMsg{}, fmt.Errorf("%w: %d bodies", errBadMessage, n)
	}
	if m.Checkpoint != nil && len(m.Checkpoint.Data) > MaxHandoff {
		return wireMsg{}, fmt.Errorf("%w: checkpoint of %d bytes", errBadMessage, len(m.Checkpoint.Data))
	}
	return m, nil
}

// sameNodes compares two node descriptions positionally, tiers as sets (OTP's mismatch check).
func sameNodes(a, b [][]dist.Node) bool {
	if len(a) != len(b) {
		return false
	}
	equal := true
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			equal = false
			break
		}
	}
	if equal {
		return true
	}
	for i := range a {
		x, y := slices.Clone(a[i]), slices.Clone(b[i])
		slices.Sort(x)
		slices.Sort(y)
		if !slices.Equal(x, y) {
			return false
		}
	}
	return true
}
