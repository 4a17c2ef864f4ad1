package app

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/dist"
)

// instInfo is what an instance's contexts (its start context and its long-lived context)
// carry: which application, which placement, and why it stops.
type instInfo struct {
	c        *Controller
	app      string
	st       StartType
	starting atomic.Bool
	reason   atomic.Pointer[StopReason]
}

type instKey struct{}

func withInst(ctx context.Context, in *instInfo) context.Context {
	return context.WithValue(ctx, instKey{}, in)
}

func instFrom(ctx context.Context) *instInfo {
	in, _ := ctx.Value(instKey{}).(*instInfo)
	return in
}

// ErrNoInstance is returned by the context helpers when the context does not belong to an
// application instance started by a Controller.
var ErrNoInstance = errors.New("context belongs to no application instance")

// StartTypeFrom returns the start type of the instance ctx belongs to, while it is starting
// (Start, its service's Start and the start phases). After the start it reports false, as
// OTP's application:start_type() returns local then.
func StartTypeFrom(ctx context.Context) (StartType, bool) {
	in := instFrom(ctx)
	if in == nil || !in.starting.Load() {
		return StartType{}, false
	}
	return in.st, true
}

// NameFrom returns the name of the application ctx belongs to.
func NameFrom(ctx context.Context) (string, bool) {
	in := instFrom(ctx)
	if in == nil {
		return "", false
	}
	return in.app, true
}

// StopReasonFrom returns why the instance ctx belongs to is stopping; false while it runs.
func StopReasonFrom(ctx context.Context) (StopReason, bool) {
	in := instFrom(ctx)
	if in == nil {
		return StopReason{}, false
	}
	r := in.reason.Load()
	if r == nil {
		return StopReason{}, false
	}
	return *r, true
}

// Env returns the value of key in the environment of the application ctx belongs to (its
// included applications' environments are visible through it).
func Env(ctx context.Context, key string) (any, bool) {
	in := instFrom(ctx)
	if in == nil {
		return nil, false
	}
	return in.c.Env(in.app, key)
}

// Checkpoint replicates data, the latest state of the running instance ctx belongs to, to the
// application's other nodes with the instance's epoch. A later failover start reads it with
// LastCheckpoint. It returns once the replicas are queued for sending.
func Checkpoint(ctx context.Context, data []byte) error {
	in := instFrom(ctx)
	if in == nil {
		return ErrNoInstance
	}
	if len(data) > MaxHandoff {
		return fmt.Errorf("checkpoint of application %s: %d bytes exceed %d", in.app, len(data), MaxHandoff)
	}
	return in.c.checkpoint(ctx, in.app, in.st.Epoch, data)
}

// LastCheckpoint returns, during a KindFailover start, the newest checkpoint replicated from the
// dead node (StartType.From), and its epoch; false when there is none.
func LastCheckpoint(ctx context.Context) ([]byte, uint64, bool) {
	in := instFrom(ctx)
	if in == nil || in.st.Kind != KindFailover {
		return nil, 0, false
	}
	return in.c.lastCheckpoint(in.app, in.st.From)
}

// HandoffFrom asks, during a KindTakeover start, the previous instance (StartType.From) for its
// handoff bytes (its HandoffGiver.Handoff). The deadline comes from ctx; at most MaxHandoff
// bytes. A previous instance that gives no handoff yields nil bytes and no error.
func HandoffFrom(ctx context.Context) ([]byte, error) {
	in := instFrom(ctx)
	if in == nil {
		return nil, ErrNoInstance
	}
	if in.st.Kind != KindTakeover {
		return nil, fmt.Errorf("handoff for application %s: start type is %s, not a takeover", in.app, in.st)
	}
	return in.c.requestHandoff(ctx, in.app, in.st.From)
}

// handoffReq is the ServiceHandoff request.
type handoffReq struct {
	App string    `msgpack:"a"`
	To  dist.Node `msgpack:"t"`
}

func (c *Controller) requestHandoff(ctx context.Context, app string, from dist.Node) ([]byte, error) {
	if c.net == nil {
		return nil, fmt.Errorf("handoff for application %s: no network", app)
	}
	req, err := msgpack.Marshal(&handoffReq{App: app, To: c.self})
	if err != nil {
		return nil, err
	}
	b, err := c.net.Request(ctx, from, ServiceHandoff, req)
	if err != nil {
		return nil, fmt.Errorf("handoff for application %s from %s: %w", app, from, err)
	}
	if len(b) > MaxHandoff {
		return nil, fmt.Errorf("handoff for application %s from %s: %d bytes exceed %d", app, from, len(b), MaxHandoff)
	}
	return b, nil
}

// serveHandoff answers a handoff request with the local instance's Handoff.
func (c *Controller) serveHandoff(ctx context.Context, from dist.Peer, payload []byte) ([]byte, error) {
	var req handoffReq
	if err := checkMsgpack(payload); err != nil {
		return nil, err
	}
	if err := msgpack.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("malformed handoff request: %v", err)
	}
	inst := c.instance(req.App)
	if inst == nil {
		return nil, appErr(ErrNotRunning, req.App)
	}
	g, ok := inst.app.(HandoffGiver)
	if !ok {
		return nil, nil
	}
	b, err := g.Handoff(withInst(ctx, inst.info), req.To)
	if err != nil {
		return nil, fmt.Errorf("handoff of application %s: %w", req.App, err)
	}
	if len(b) > MaxHandoff {
		return nil, fmt.Errorf("handoff of application %s: %d bytes exceed %d", req.App, len(b), MaxHandoff)
	}
	return b, nil
}
