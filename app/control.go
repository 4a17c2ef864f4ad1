package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/dist"
)

// ControlRequest is a call of the controller's API from another node (the gotp CLI connects
// as a hidden node). Op is one of "start", "stop", "takeover", "permit", "apps", "where",
// "info".
type ControlRequest struct {
	Op          string `msgpack:"op"`
	App         string `msgpack:"app,omitempty"`
	RestartType string `msgpack:"rt,omitempty"` // permanent | transient | temporary (default temporary)
	Permit      bool   `msgpack:"permit,omitempty"`
}

// ControlReply is the answer to a ControlRequest. Error is OTP's name for a failure
// ("already_running_locally", …) and Message its text; both empty on success.
type ControlReply struct {
	Error     string       `msgpack:"error,omitempty"`
	Message   string       `msgpack:"message,omitempty"`
	Apps      []RunningApp `msgpack:"apps,omitempty"`
	Placement *Placement   `msgpack:"where,omitempty"`
	Info      *Info        `msgpack:"info,omitempty"`
}

// Err turns a reply's error back into an error matching the sentinels (errors.Is).
func (r ControlReply) Err() error {
	if r.Error == "" && r.Message == "" {
		return nil
	}
	for _, s := range []*otpError{ErrAlreadyRunningLocally, ErrNotRunningDistributed, ErrInvalidRestartType,
		ErrNotLoaded, ErrAlreadyLoaded, ErrAlreadyStarted, ErrNotStarted, ErrNotRunning, ErrRunning, ErrStopped,
		ErrAppNotLoaded, ErrDistributionMismatch, ErrNodeDown, ErrStartFailed, ErrShutdown, ErrNoController, ErrBadSpec} {
		if s.name == r.Error {
			return fmt.Errorf("%w: %s", s, r.Message)
		}
	}
	return errors.New(r.Message)
}

// Control sends a ControlRequest to node over net and returns the reply.
func Control(ctx context.Context, net Network, node dist.Node, req ControlRequest) (ControlReply, error) {
	b, err := msgpack.Marshal(&req)
	if err != nil {
		return ControlReply{}, err
	}
	out, err := net.Request(ctx, node, ServiceControl, b)
	if err != nil {
		return ControlReply{}, err
	}
	var rep ControlReply
	if err := checkMsgpack(out); err != nil {
		return ControlReply{}, err
	}
	if err := msgpack.Unmarshal(out, &rep); err != nil {
		return ControlReply{}, fmt.Errorf("malformed control reply from %s: %v", node, err)
	}
	return rep, nil
}

const controlTimeout = 60 * time.Second

func (c *Controller) serveControl(ctx context.Context, from dist.Peer, payload []byte) ([]byte, error) {
	var req ControlRequest
	if err := checkMsgpack(payload); err != nil {
		return nil, err
	}
	if err := msgpack.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("malformed control request: %v", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, controlTimeout)
		defer cancel()
	}
	rep := c.control(ctx, req)
	return msgpack.Marshal(&rep)
}

func (c *Controller) control(ctx context.Context, req ControlRequest) ControlReply {
	var rep ControlReply
	var err error
	rt := Temporary
	if req.RestartType != "" {
		if rt, err = ParseRestartType(req.RestartType); err != nil {
			return replyErr(err)
		}
	}
	switch req.Op {
	case "start":
		err = c.Start(ctx, req.App, rt)
	case "stop":
		err = c.Stop(ctx, req.App)
	case "takeover":
		err = c.Takeover(ctx, req.App, rt)
	case "permit":
		err = c.Permit(ctx, req.App, req.Permit)
	case "apps":
		rep.Apps = c.WhichApplications()
	case "where":
		var p Placement
		if p, err = c.Where(req.App); err == nil {
			rep.Placement = &p
		}
	case "info":
		inf := c.Info()
		rep.Info = &inf
	default:
		err = fmt.Errorf("unknown control operation %q", req.Op)
	}
	if err != nil {
		return replyErr(err)
	}
	return rep
}

func replyErr(err error) ControlReply {
	return ControlReply{Error: OTPName(err), Message: err.Error()}
}
