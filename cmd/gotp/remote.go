package main

import (
	"context"

	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/app/node"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/kernelcfg"
)

// remoteFlags are the flags of every command that asks a node.
var remoteFlags = []flagDef{
	{name: "node", value: true, help: "the node to ask, e.g. joe@myhost (required)"},
	{name: "cookie", value: true, help: "the cluster cookie (default: $HOME/.erlang.cookie)"},
	{name: "epmd-port", value: true, help: "the port mapper's port (default: $ERL_EPMD_PORT, else 4369)"},
	{name: "config", value: true, help: "a node's config file, for its gotp tls settings and cluster label"},
	{name: "json", help: "print the answer (or the error) as JSON on stdout"},
}

// remoteTimeout bounds one command against a node (connecting included).
const remoteTimeout = 90 * time.Second

func remoteCommands() []command {
	return []command{
		{words: []string{"nodes"}, summary: "the asked node's view of the cluster, itself included", flags: remoteFlags, run: cmdNodes},
		{words: []string{"apps"}, summary: "which application runs where: epoch, since, start type", flags: remoteFlags, run: cmdApps},
		{words: []string{"where"}, args: "APP", summary: "where APP runs and the reason of the last decision", flags: remoteFlags, run: cmdWhere},
		{words: []string{"takeover"}, args: "APP", summary: "move APP to --node (application:takeover; --restart-type permanent by default)",
			flags: append([]flagDef{{name: "restart-type", value: true, help: "permanent (default), transient or temporary"}}, remoteFlags...), run: cmdTakeover},
		{words: []string{"permit"}, args: "APP true|false", summary: "allow or forbid APP on --node (application:permit)", flags: remoteFlags, run: cmdPermit},
	}
}

// remote is a connection to the asked node through a hidden endpoint.
type remote struct {
	inv  *invocation
	node dist.Node
	ep   *dist.Endpoint
}

// failure is a command's error: OTP's name for it (for --json) and the one-line message.
type failure struct {
	name string
	msg  string
}

func (inv *invocation) fail(f failure) int {
	msg := strings.Join(strings.Fields(f.msg), " ")
	fmt.Fprintf(inv.stderr, "gotp: %s\n", msg)
	if inv.bool("json") {
		writeJSON(inv.stdout, map[string]string{"error": f.name, "message": msg})
	}
	return exitFail
}

// connect starts the hidden endpoint gotp_<pid>@<host of --node>. It returns a usage error
// code, a failure code, or 0 and the connection.
func connect(inv *invocation) (*remote, int) {
	target := inv.flags["node"]
	if target == "" {
		return nil, usageErr(inv.stderr, "--node is required")
	}
	n, err := dist.ParseNode(target)
	if err != nil {
		return nil, usageErr(inv.stderr, "--node: %v", err)
	}
	cfg := dist.Config{
		Name: dist.Node(fmt.Sprintf("gotp_%d@%s", os.Getpid(), n.Host())), Kind: n.Kind(),
		Cookie: inv.flags["cookie"], Hidden: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if p := inv.flags["epmd-port"]; p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, usageErr(inv.stderr, "--epmd-port %q is not a port number", p)
		}
		cfg.MapperPort = port
	}
	if f := inv.flags["config"]; f != "" {
		kc, err := kernelcfg.Load([]string{f}, kernelcfg.LoadOptions{})
		if err != nil {
			return nil, inv.fail(failure{"bad_config", err.Error()})
		}
		if t := kc.Gotp.TLS; t != nil {
			cfg.TLS = &dist.TLSConfig{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CACertFile}
		}
		cfg.Cluster = kc.Gotp.Cluster
	}
	ep, err := dist.Start(inv.ctx, cfg)
	if err != nil {
		return nil, inv.fail(failure{"bad_config", err.Error()})
	}
	return &remote{inv: inv, node: n, ep: ep}, 0
}

func (r *remote) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.ep.Close(ctx)
}

// netFailure describes an error reaching the node.
func (r *remote) netFailure(err error) failure {
	return failure{"nodedown", fmt.Sprintf("node %s: %v", r.node, err)}
}

// control runs one control request and turns an error reply into a failure.
func (r *remote) control(ctx context.Context, req app.ControlRequest) (app.ControlReply, *failure) {
	rep, err := app.Control(ctx, r.ep, r.node, req)
	if err != nil {
		f := r.netFailure(err)
		return rep, &f
	}
	if rep.Error != "" || rep.Message != "" {
		name := rep.Error
		if name == "" {
			name = "error"
		}
		return rep, &failure{name, rep.Message}
	}
	return rep, nil
}

// withRemote connects, runs f with a bounded context, and closes.
func withRemote(inv *invocation, nargs int, usage string, f func(ctx context.Context, r *remote) int) int {
	if len(inv.args) != nargs {
		return usageErr(inv.stderr, "usage: gotp %s", usage)
	}
	r, code := connect(inv)
	if r == nil {
		return code
	}
	defer r.close()
	ctx, cancel := context.WithTimeout(inv.ctx, remoteTimeout)
	defer cancel()
	return f(ctx, r)
}

func cmdNodes(inv *invocation) int {
	return withRemote(inv, 0, "nodes --node N", func(ctx context.Context, r *remote) int {
		ns, err := node.RemoteNodes(ctx, r.ep, r.node)
		if err != nil {
			return inv.fail(r.netFailure(err))
		}
		names := make([]string, len(ns))
		for i, n := range ns {
			names[i] = string(n)
		}
		if inv.bool("json") {
			writeJSON(inv.stdout, map[string]any{"node": string(r.node), "nodes": names})
			return exitOK
		}
		for _, n := range names {
			fmt.Fprintln(inv.stdout, n)
		}
		return exitOK
	})
}

// appOut is one application in the JSON of apps and where.
type appOut struct {
	Name      string  `json:"name"`
	RunningOn *string `json:"running_on"`
	Epoch     uint64  `json:"epoch"`
	Since     *string `json:"since"`
	StartType *string `json:"start_type"`
	From      *string `json:"from"`
	Reason    *string `json:"reason,omitempty"`
}

func placementOut(p app.Placement, withReason bool) appOut {
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	o := appOut{Name: p.App, RunningOn: str(string(p.Node)), Epoch: p.Epoch}
	if !p.Since.IsZero() {
		o.Since = str(p.Since.UTC().Format(time.RFC3339Nano))
	}
	if p.Node != "" {
		o.StartType = str(p.StartType.Kind.String())
		o.From = str(string(p.StartType.From))
	}
	if withReason {
		reason := p.Reason
		o.Reason = &reason
	}
	return o
}

func (o appOut) text() string {
	s := func(p *string, def string) string {
		if p == nil {
			return def
		}
		return *p
	}
	line := fmt.Sprintf("%s: running on %s, epoch %d, since %s, start type %s", o.Name, s(o.RunningOn, "no node"),
		o.Epoch, s(o.Since, "-"), s(o.StartType, "-"))
	if o.From != nil {
		line += " from " + *o.From
	}
	if o.Reason != nil {
		line += "; reason: " + *o.Reason
	}
	return line
}

func (r *remote) where(ctx context.Context, name string) (app.Placement, *failure) {
	rep, f := r.control(ctx, app.ControlRequest{Op: "where", App: name})
	if f != nil {
		return app.Placement{}, f
	}
	if rep.Placement == nil {
		return app.Placement{}, &failure{"error", "node " + string(r.node) + " sent no placement for " + name}
	}
	return *rep.Placement, nil
}

func cmdApps(inv *invocation) int {
	return withRemote(inv, 0, "apps --node N", func(ctx context.Context, r *remote) int {
		rep, f := r.control(ctx, app.ControlRequest{Op: "info"})
		if f != nil {
			return inv.fail(*f)
		}
		out := []appOut{}
		if rep.Info != nil {
			for _, s := range rep.Info.Started {
				p, f := r.where(ctx, s.Name)
				if f != nil {
					if f.name == "not_loaded" {
						continue
					}
					return inv.fail(*f)
				}
				out = append(out, placementOut(p, false))
			}
		}
		if inv.bool("json") {
			writeJSON(inv.stdout, map[string]any{"node": string(r.node), "apps": out})
			return exitOK
		}
		for _, o := range out {
			fmt.Fprintln(inv.stdout, o.text())
		}
		return exitOK
	})
}

func cmdWhere(inv *invocation) int {
	return withRemote(inv, 1, "where APP --node N", func(ctx context.Context, r *remote) int {
		p, f := r.where(ctx, inv.args[0])
		if f != nil {
			return inv.fail(*f)
		}
		o := placementOut(p, true)
		if inv.bool("json") {
			writeJSON(inv.stdout, map[string]any{"node": string(r.node), "apps": []appOut{o}})
			return exitOK
		}
		fmt.Fprintln(inv.stdout, o.text())
		return exitOK
	})
}

func ok(inv *invocation) int {
	if inv.bool("json") {
		writeJSON(inv.stdout, map[string]bool{"ok": true})
	} else {
		fmt.Fprintln(inv.stdout, "ok")
	}
	return exitOK
}

func cmdTakeover(inv *invocation) int {
	rt := inv.flags["restart-type"]
	if rt == "" {
		rt = "permanent" // the seed's application:takeover(mybot, permanent)
	}
	return withRemote(inv, 1, "takeover APP --node N [--restart-type T]", func(ctx context.Context, r *remote) int {
		if _, f := r.control(ctx, app.ControlRequest{Op: "takeover", App: inv.args[0], RestartType: rt}); f != nil {
			return inv.fail(*f)
		}
		return ok(inv)
	})
}

func cmdPermit(inv *invocation) int {
	if len(inv.args) == 2 && inv.args[1] != "true" && inv.args[1] != "false" {
		return usageErr(inv.stderr, "permit: %q is not true or false", inv.args[1])
	}
	return withRemote(inv, 2, "permit APP true|false --node N", func(ctx context.Context, r *remote) int {
		req := app.ControlRequest{Op: "permit", App: inv.args[0], Permit: inv.args[1] == "true"}
		if _, f := r.control(ctx, req); f != nil {
			return inv.fail(*f)
		}
		return ok(inv)
	})
}
