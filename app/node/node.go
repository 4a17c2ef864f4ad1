// Package node is gotp's node runtime: what a program's main calls to become a node, as
// `erl -sname joe -setcookie foo -config joe.config` makes an Erlang VM one.
//
//	func main() {
//		fs := flag.NewFlagSet("mybot", flag.ContinueOnError)
//		discord := fs.String("discord", "", "base URL of a fake Discord")
//		node.Main(node.Options{Apps: []app.Spec{{Name: "mybot", App: newBot(discord)}},
//			RestartType: app.Permanent, Flags: fs})
//	}
//
// Run parses the erl-style flags (see ParseArgs) in any position and hands the rest to the
// program's flag set; loads the config files with kernelcfg; joins the mesh with package dist
// (port mapper from ERL_EPMD_PORT, the gotp section's detection profile, tls, seeds and
// cluster label); passes the boot barrier (kernel sync_nodes_*); builds the application
// controller over the endpoint, loads every application and starts those that no other one
// includes, in order; and runs until its context ends (Main: SIGINT or SIGTERM). Shutdown then
// follows design.md: the controller moves distributed applications away first when
// handover_on_shutdown is set, stops the applications in reverse start order, and the node
// leaves the mesh (peers see reason left and fail over after the application's Timeout).
//
// A boot failure (bad flags, bad config, missing mandatory nodes, a failed start) is a
// *BootError; a permanent application's abnormal exit (deviation 4) a *FatalError. Main
// prints either as one line on stderr and exits with status 1.
package node

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/kernelcfg"
)

// DefaultShutdownTimeout is the default of Options.ShutdownTimeout.
const DefaultShutdownTimeout = 60 * time.Second

// Options configure a node. Only Apps is required.
type Options struct {
	// Apps are loaded in order (an included application must come before the one including
	// it); every application no other one includes is then started, in order.
	Apps []app.Spec
	// RestartType is the restart type every application is started with. The zero value is
	// app.Temporary, the default of OTP's application:start/1; releases use app.Permanent.
	RestartType app.RestartType
	// Flags is the program's own flag set; it parses every argument the runtime does not
	// take. nil: any such argument is a usage error.
	Flags *flag.FlagSet
	// Args are the command-line arguments; nil means os.Args[1:].
	Args []string
	// Home is the directory holding .erlang.cookie; "" means $HOME.
	Home string
	// WorkDir is the directory relative config file names are resolved against; "" means
	// the process's working directory.
	WorkDir string
	// Network opens the node's sockets; nil is the real network (tests inject faults).
	Network dist.Network
	// ShutdownTimeout bounds the whole shutdown (handover, stops, leaving). Default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Ready, if set, is called once every application has been started (placement known).
	Ready func(*Node)
	// Stderr receives boot warnings (and Main's one-line error). Default os.Stderr.
	Stderr io.Writer
	// Logger receives the runtime's, the mesh's and the controller's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// Node is a running node, as handed to Options.Ready.
type Node struct {
	// Name is the node's name; "nonode@nohost" when started without -sname or -name.
	Name dist.Node
	// Endpoint is the node's mesh endpoint; nil when not distributed.
	Endpoint *dist.Endpoint
	// Controller is the node's application controller (also app.Default()).
	Controller *app.Controller
	// Config is the loaded configuration.
	Config *kernelcfg.Config
}

// BootError says why a node could not boot. Its text is one line.
type BootError struct {
	Stage string // "flags", "config", "name", "dist", "sync", "controller", "load" or "start"
	Err   error
}

// Error returns the one-line boot failure: the stage and the cause.
func (e *BootError) Error() string {
	return "boot failed (" + e.Stage + "): " + oneLine(e.Err.Error())
}

// Unwrap returns the cause.
func (e *BootError) Unwrap() error { return e.Err }

// FatalError says that an application whose exit stops the node exited (deviation 4).
type FatalError struct{ Err error }

// Error returns the one-line reason the node stopped.
func (e *FatalError) Error() string { return "node stopped: " + oneLine(e.Err.Error()) }

// Unwrap returns the cause.
func (e *FatalError) Unwrap() error { return e.Err }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Main runs the node until SIGINT or SIGTERM and exits the process: status 0 after a clean
// shutdown, 2 on a command-line error, 1 on any other failure with its reason as one line on
// stderr.
func Main(opts Options) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, opts)
	stop()
	os.Exit(ExitCode(err, opts.Stderr))
}

// ExitCode prints err (if any) as one line on w (os.Stderr when nil), prefixed with the
// program's name, and returns the exit status Main uses: 0, 2 for a usage error, else 1.
func ExitCode(err error, w io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "%s: %s\n", filepath.Base(os.Args[0]), oneLine(err.Error()))
	if errors.Is(err, ErrUsage) {
		return 2
	}
	return 1
}

// Run boots a node, runs it until ctx ends, and shuts it down. It returns nil after a clean
// shutdown, a *BootError when the node could not boot, a *FatalError when an application
// stopped the node.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.Args == nil {
		opts.Args = os.Args[1:]
	}
	n, stop, err := boot(ctx, opts)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrUsage) {
			// A signal during the boot is a request to stop, not a failure: what had
			// started is stopped, and the node left the mesh.
			opts.Logger.Info("node: stopped during boot", "reason", err.Error())
			return nil
		}
		return err
	}
	if opts.Ready != nil {
		opts.Ready(n)
	}
	select {
	case <-ctx.Done():
	case <-n.Controller.Done():
	}
	return stop()
}

// boot does everything up to started applications; stop shuts the node down.
func boot(ctx context.Context, opts Options) (*Node, func() error, error) {
	args, err := ParseArgs(opts.Args)
	if err != nil {
		return nil, nil, &BootError{Stage: "flags", Err: err}
	}
	if err := parseAppFlags(opts.Flags, args.Rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(opts.Stderr, opts.Flags)
		}
		return nil, nil, &BootError{Stage: "flags", Err: err}
	}
	cfg, err := loadConfig(args, opts.WorkDir)
	if err != nil {
		return nil, nil, &BootError{Stage: "config", Err: err}
	}
	n := &Node{Name: "nonode@nohost", Config: cfg}
	log := opts.Logger
	var ep *dist.Endpoint
	var gated *gatedNet
	if args.SName != "" || args.LName != "" {
		dc, err := distConfig(args, cfg, opts)
		if err != nil {
			return nil, nil, &BootError{Stage: "name", Err: err}
		}
		n.Name = dc.Name
		for _, w := range NameWarnings(dc.Name, cfg.Kernel) {
			fmt.Fprintf(opts.Stderr, "warning: %s\n", w)
			log.Warn("node: " + w)
		}
		if ep, err = dist.Start(ctx, dc); err != nil {
			return nil, nil, &BootError{Stage: "dist", Err: err}
		}
		n.Endpoint = ep
		serveNodes(ep)
		gated = newGatedNet(ep)
	}
	leave := func() {
		if ep != nil {
			cctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
			defer cancel()
			_ = ep.Close(cctx)
		}
	}
	// The barrier comes before the controller, so the controller's first view holds every
	// node the barrier saw (a controller built earlier could decide before its monitor
	// reported them); peers' hellos sent before it listens are asked again by its own.
	if ep != nil && cfg.Kernel.SyncNodesTimeout != 0 {
		if err := syncNodes(ctx, ep, cfg.Kernel, log); err != nil {
			leave()
			return nil, nil, &BootError{Stage: "sync", Err: err}
		}
	}
	ctl, err := newController(cfg, gated, n.Name, log)
	if err != nil {
		leave()
		return nil, nil, &BootError{Stage: "controller", Err: err}
	}
	n.Controller = ctl
	app.SetDefault(ctl)
	fail := func(stage string, err error) (*Node, func() error, error) {
		ctl.Halt()
		leave()
		return nil, nil, &BootError{Stage: stage, Err: err}
	}
	for _, s := range opts.Apps {
		if err := ctl.Load(s); err != nil {
			return fail("load", err)
		}
	}
	for _, s := range toStart(opts.Apps) {
		if err := ctl.Start(ctx, s, opts.RestartType); err != nil {
			return fail("start", err)
		}
		log.Info("node: application started", "app", s)
	}
	stop := func() error {
		fatal := ctl.Err()
		sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
		defer cancel()
		if fatal == nil {
			log.Info("node: shutting down", "handover", cfg.Gotp.HandoverOnShutdown)
			_ = ctl.Shutdown(sctx)
		}
		if ep != nil {
			if err := ep.Close(sctx); err != nil {
				log.Warn("node: leaving the mesh", "reason", err.Error())
			}
		}
		if fatal != nil {
			return &FatalError{Err: fatal}
		}
		return nil
	}
	return n, stop, nil
}

// printUsage writes the runtime's flags and the program's.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `usage: %s [node flags] [program flags]
node flags (erl style, anywhere on the line):
  -sname N | --sname N            short node name (N or N@host)
  -name N | --name N              long node name (N@host.domain)
  -setcookie C | --cookie C       cluster cookie (default: $HOME/.erlang.cookie)
  -config F [F...] | --erl-config F   config files, merged in order (.config optional)
  -kernel Par Val | -gotp Par Val     parameter overrides
`, filepath.Base(os.Args[0]))
	if fs != nil {
		fmt.Fprintln(w, "program flags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

func parseAppFlags(fs *flag.FlagSet, rest []string) error {
	if fs == nil {
		if len(rest) > 0 {
			return fmt.Errorf("%w: unknown argument %s", ErrUsage, rest[0])
		}
		return nil
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %s", ErrUsage, fs.Arg(0))
	}
	return nil
}

// loadConfig loads the -config files (an empty configuration when none is given).
func loadConfig(args Args, workDir string) (*kernelcfg.Config, error) {
	if len(args.Configs) == 0 {
		// kernelcfg needs a file: an empty one gives every default (overrides still apply).
		return kernelcfg.Load([]string{"(none)"}, kernelcfg.LoadOptions{Overrides: args.Overrides,
			ReadFile: func(string) ([]byte, error) { return []byte("[]."), nil }})
	}
	return kernelcfg.Load(args.Configs, kernelcfg.LoadOptions{Overrides: args.Overrides, WorkDir: workDir})
}

// distConfig builds the endpoint's config from the flags and the gotp section.
func distConfig(args Args, cfg *kernelcfg.Config, opts Options) (dist.Config, error) {
	dc := dist.Config{Cookie: args.Cookie, Home: opts.Home, Network: opts.Network, Logger: opts.Logger,
		PortMin: cfg.Kernel.InetDistListenMin, PortMax: cfg.Kernel.InetDistListenMax,
		Seeds: cfg.Gotp.Seeds, Cluster: cfg.Gotp.Cluster, Profile: dist.Profile(cfg.Gotp.Detection)}
	var err error
	if args.SName != "" {
		dc.Kind = dist.ShortNames
		dc.Name, err = dist.ShortName(args.SName)
	} else {
		dc.Kind = dist.LongNames
		dc.Name, err = dist.LongName(args.LName, "")
	}
	if err != nil {
		return dc, err
	}
	if t := cfg.Gotp.TLS; t != nil {
		dc.TLS = &dist.TLSConfig{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CACertFile}
	}
	return dc, nil
}

// NameWarnings returns the warnings about self's name in the kernel config: a node whose name
// appears in no `distributed` entry while a name with the same short part does (the seed's
// HOSTNAME placeholder left in the file, or a host name spelled differently).
func NameWarnings(self dist.Node, k kernelcfg.Kernel) []string {
	var out []string
	for _, d := range k.Distributed {
		nodes := d.Nodes()
		if slices.Contains(nodes, string(self)) {
			continue
		}
		for _, n := range nodes {
			if dist.Node(n).Name() == self.Name() {
				out = append(out, fmt.Sprintf("this node is %s but the distributed entry of %s names %s, not it: "+
					"replace the host part with this host's name (quoted, as '%s@my-host.example', if it holds a '-' or '.'); "+
					"%s will never run here", self, d.App, n, self.Name(), d.App))
				break
			}
		}
	}
	return out
}

func syncNodes(ctx context.Context, ep *dist.Endpoint, k kernelcfg.Kernel, log *slog.Logger) error {
	conv := func(ns []string) []dist.Node {
		out := make([]dist.Node, 0, len(ns))
		for _, n := range ns {
			out = append(out, dist.Node(n))
		}
		return out
	}
	timeout := k.SyncNodesTimeout
	if timeout == kernelcfg.Infinity {
		timeout = -1
	}
	log.Info("node: waiting for nodes", "mandatory", k.SyncNodesMandatory, "optional", k.SyncNodesOptional, "timeout", timeout)
	return ep.SyncNodes(ctx, conv(k.SyncNodesMandatory), conv(k.SyncNodesOptional), timeout)
}

func newController(cfg *kernelcfg.Config, ep *gatedNet, self dist.Node, log *slog.Logger) (*app.Controller, error) {
	ac := app.Config{Self: self, Permissions: cfg.Kernel.Permissions, Env: appEnvs(cfg),
		StartWait: cfg.Gotp.StartWait, HandoverOnShutdown: cfg.Gotp.HandoverOnShutdown, Logger: log}
	if ep != nil {
		ac.Network = ep
	}
	if ac.StartWait == kernelcfg.Infinity {
		ac.StartWait = app.Infinity
	}
	for _, d := range cfg.Kernel.Distributed {
		if slices.ContainsFunc(ac.Distributed, func(x app.Distributed) bool { return x.App == d.App }) {
			continue // OTP: the first entry of an application counts
		}
		e := app.Distributed{App: d.App, Timeout: d.Timeout}
		if e.Timeout == kernelcfg.Infinity {
			e.Timeout = app.Infinity
		}
		for _, t := range d.Tiers {
			tier := make([]dist.Node, 0, len(t))
			for _, n := range t {
				tier = append(tier, dist.Node(n))
			}
			e.Nodes = append(e.Nodes, tier)
		}
		ac.Distributed = append(ac.Distributed, e)
	}
	return app.New(ac)
}

// appEnvs turns every application section but kernel's and gotp's into app.Config.Env:
// strings (and binaries) become string, integers int64, floats float64, true/false bool, and
// any other term stays a kernelcfg.Term.
func appEnvs(cfg *kernelcfg.Config) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, name := range cfg.Apps() {
		if name == "kernel" || name == "gotp" {
			continue
		}
		env := cfg.App(name)
		m := map[string]any{}
		for _, k := range env.Keys() {
			t, _ := env.Term(k)
			m[k] = goValue(env, k, t)
		}
		out[name] = m
	}
	return out
}

func goValue(env kernelcfg.Env, key string, t kernelcfg.Term) any {
	switch v := t.(type) {
	case *kernelcfg.String, *kernelcfg.Binary:
		if s, err := env.Text(key, ""); err == nil {
			return s
		}
	case *kernelcfg.Int:
		if n, ok := v.Int64(); ok {
			return n
		}
	case *kernelcfg.Float:
		return v.Value
	case *kernelcfg.Atom:
		switch v.Name {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return t
}

// toStart returns the applications to start: those no other application includes.
func toStart(specs []app.Spec) []string {
	included := map[string]bool{}
	for _, s := range specs {
		for _, inc := range s.Included {
			included[inc] = true
		}
	}
	var out []string
	for _, s := range specs {
		if !included[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out
}
