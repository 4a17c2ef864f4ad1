package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gotp/gotp/dist"
)

// Load makes an application known to the controller (OTP application:load). An application
// named in Config.Distributed becomes distributed; its permission comes from
// Config.Permissions. Included applications must be loaded first.
func (c *Controller) Load(spec Spec) error {
	if spec.Name == "" || spec.App == nil {
		return &Error{Err: ErrBadSpec, App: spec.Name, Cause: fmt.Errorf("a spec needs a name and an App")}
	}
	c.mu.Lock()
	if c.specs[spec.Name] != nil {
		c.mu.Unlock()
		return appErr(ErrAlreadyLoaded, spec.Name)
	}
	for _, inc := range spec.Included {
		if c.specs[inc] == nil {
			c.mu.Unlock()
			return &Error{Err: ErrNotLoaded, App: inc, Cause: fmt.Errorf("included by %s", spec.Name)}
		}
	}
	s := spec
	s.Env = maps.Clone(spec.Env)
	c.specs[spec.Name] = &s
	c.mu.Unlock()
	permit := true
	if p, ok := c.cfg.Permissions[spec.Name]; ok {
		permit = p
	}
	ev := evLoad{App: spec.Name, Required: slices.Clone(spec.Applications), Dist: c.dist[spec.Name], Permit: permit}
	if !c.postFunc(func() { c.apply(ev) }) {
		return ErrShutdown
	}
	return nil
}

// Unload forgets a loaded application that is not running (OTP application:unload).
func (c *Controller) Unload(ctx context.Context, name string) error {
	err := c.call(ctx, func(r reqID) event { return evUnload{Req: r, App: name} })
	if err == nil {
		c.mu.Lock()
		delete(c.specs, name)
		c.mu.Unlock()
	}
	return err
}

// Start starts a loaded application with a restart type (OTP application:start/2). Its
// required applications must run already (else an error matching ErrNotStarted names the
// first missing one). For a distributed application it returns once the placement is known:
// started here, running elsewhere, or permitted nowhere (then the application counts as
// started and runs when permitted).
func (c *Controller) Start(ctx context.Context, name string, rt RestartType) error {
	if err := c.barrier(ctx, name); err != nil {
		return err
	}
	return c.call(ctx, func(r reqID) event { return evStart{Req: r, App: name, RT: rt} })
}

// Stop stops an application on this node (OTP application:stop). On the node running a
// distributed application it stops the instance and tells the others (nothing moves); on a
// standby it only forgets the application here.
func (c *Controller) Stop(ctx context.Context, name string) error {
	return c.call(ctx, func(r reqID) event { return evStop{Req: r, App: name} })
}

// Takeover moves a distributed application, running on another node, to this node with
// StartType Takeover and the given restart type (OTP application:takeover/2). It returns once
// the new instance started. Errors: ErrInvalidRestartType, ErrAlreadyRunningLocally,
// ErrNotRunningDistributed, or the start's error (the old instance then keeps running).
func (c *Controller) Takeover(ctx context.Context, name string, rt RestartType) error {
	if err := c.barrier(ctx, name); err != nil {
		return err
	}
	return c.call(ctx, func(r reqID) event { return evTakeover{Req: r, App: name, RT: rt} })
}

// Permit sets whether the application may run on this node (OTP application:permit/2) and
// returns after the resulting move: permit false on the runner returns when another node
// took it over (or it stopped), permit true returns when it started here if this node wins.
func (c *Controller) Permit(ctx context.Context, name string, permit bool) error {
	if err := c.barrier(ctx, name); err != nil {
		return err
	}
	return c.call(ctx, func(r reqID) event { return evPermit{Req: r, App: name, Permit: permit} })
}

// RunningApp is an application running on this node.
type RunningApp struct {
	Name        string
	Description string
}

// WhichApplications lists the applications running on this node, most recently started first
// (OTP application:which_applications/0).
func (c *Controller) WhichApplications() []RunningApp {
	var names []string
	_ = c.query(func() {
		for _, n := range c.core.sortedApps() {
			if a := c.core.apps[n]; a.phase == phLocal || a.phase == phStopping {
				names = append(names, n)
			}
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := map[string]uint64{}
	for n, in := range c.insts {
		seq[n] = in.seq
	}
	slices.SortStableFunc(names, func(a, b string) int { return int(seq[b]) - int(seq[a]) })
	out := make([]RunningApp, 0, len(names))
	for _, n := range names {
		ra := RunningApp{Name: n}
		if s := c.specs[n]; s != nil {
			ra.Description = s.Description
		}
		out = append(out, ra)
	}
	return out
}

// Placement is where an application runs as this node sees it, and the last decision.
type Placement struct {
	App       string
	Node      dist.Node // the runner; "" when it runs nowhere known
	Epoch     uint64    // the runner's epoch (the highest known when it runs nowhere)
	Since     time.Time // when this node learned of the current placement
	StartType StartType // the runner's start type
	State     string    // this node's view: none, idle, deciding, starting, local, stopping, remote, failover
	Decision  string
	Reason    string
}

// Where returns the placement of a loaded application.
func (c *Controller) Where(name string) (Placement, error) {
	var p Placement
	var err error
	qerr := c.query(func() {
		a := c.core.apps[name]
		if a == nil {
			err = appErr(ErrNotLoaded, name)
			return
		}
		p = Placement{App: name, Epoch: a.epoch, Since: a.since, State: a.phase.String(), Decision: a.decision, Reason: a.reason}
		switch a.phase {
		case phLocal, phStopping:
			p.Node, p.StartType, p.Epoch = c.self, a.local, a.local.Epoch
		case phRemote:
			p.Node, p.StartType, p.Epoch = a.node, a.runner, a.runner.Epoch
		}
	})
	if qerr != nil {
		return Placement{}, qerr
	}
	return p, err
}

// StartedApp is an application on which Start was called here.
type StartedApp struct {
	Name        string
	RestartType RestartType
}

// RunningInfo says where a started application runs: Node is this node when local, another
// node for a standby (OTP {distributed, Node}), "" when it runs nowhere known.
type RunningInfo struct {
	Name string
	Node dist.Node
}

// Info is the controller's state (OTP application_controller:info/0).
type Info struct {
	Loaded  []string
	Started []StartedApp
	Running []RunningInfo
}

// Info returns the loaded, started and running applications.
func (c *Controller) Info() Info {
	var inf Info
	_ = c.query(func() {
		for _, n := range c.core.sortedApps() {
			a := c.core.apps[n]
			if !a.loaded {
				continue
			}
			inf.Loaded = append(inf.Loaded, n)
			if !a.started {
				continue
			}
			inf.Started = append(inf.Started, StartedApp{Name: n, RestartType: a.rt})
			switch a.phase {
			case phLocal, phStopping:
				inf.Running = append(inf.Running, RunningInfo{Name: n, Node: c.self})
			case phRemote:
				inf.Running = append(inf.Running, RunningInfo{Name: n, Node: a.node})
			default:
				if a.dist != nil {
					inf.Running = append(inf.Running, RunningInfo{Name: n})
				}
			}
		}
	})
	return inf
}

// Env returns the value of key in an application's environment: the config file's value,
// else the spec's default, else the first included application that has it.
func (c *Controller) Env(name, key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.envLocked(name, key, 0)
}

func (c *Controller) envLocked(name, key string, depth int) (any, bool) {
	if v, ok := c.cfg.Env[name][key]; ok {
		return v, true
	}
	s := c.specs[name]
	if s == nil || depth > 16 {
		return nil, false
	}
	if v, ok := s.Env[key]; ok {
		return v, true
	}
	for _, inc := range s.Included {
		if v, ok := c.envLocked(inc, key, depth+1); ok {
			return v, true
		}
	}
	return nil, false
}

// The default controller, set by the node runtime, on which the package-level functions act.
var defaultController atomic.Pointer[Controller]

// SetDefault makes c the controller the package-level functions act on.
func SetDefault(c *Controller) { defaultController.Store(c) }

// Default returns the default controller, or nil.
func Default() *Controller { return defaultController.Load() }

func withDefault(f func(c *Controller) error) error {
	c := Default()
	if c == nil {
		return ErrNoController
	}
	return f(c)
}

// Start starts an application on the default controller (see Controller.Start).
func Start(ctx context.Context, name string, rt RestartType) error {
	return withDefault(func(c *Controller) error { return c.Start(ctx, name, rt) })
}

// Stop stops an application on the default controller (see Controller.Stop).
func Stop(ctx context.Context, name string) error {
	return withDefault(func(c *Controller) error { return c.Stop(ctx, name) })
}

// Takeover moves an application to this node (see Controller.Takeover).
func Takeover(ctx context.Context, name string, rt RestartType) error {
	return withDefault(func(c *Controller) error { return c.Takeover(ctx, name, rt) })
}

// Permit sets this node's permission for an application (see Controller.Permit).
func Permit(ctx context.Context, name string, permit bool) error {
	return withDefault(func(c *Controller) error { return c.Permit(ctx, name, permit) })
}

// WhichApplications lists the applications running on this node (see
// Controller.WhichApplications); nil without a default controller.
func WhichApplications() []RunningApp {
	if c := Default(); c != nil {
		return c.WhichApplications()
	}
	return nil
}

// Where returns an application's placement (see Controller.Where).
func Where(name string) (Placement, error) {
	c := Default()
	if c == nil {
		return Placement{}, ErrNoController
	}
	return c.Where(name)
}

// ConfigChange changes an application's environment (OTP: after a release upgrade): changed
// keys are set, removed keys deleted, and the running instance's ConfigChanger is told.
func (c *Controller) ConfigChange(ctx context.Context, name string, changed map[string]any, removed []string) error {
	c.mu.Lock()
	if c.specs[name] == nil {
		c.mu.Unlock()
		return appErr(ErrNotLoaded, name)
	}
	env := maps.Clone(c.cfg.Env)
	if env == nil {
		env = map[string]map[string]any{}
	}
	appEnv := maps.Clone(env[name])
	if appEnv == nil {
		appEnv = map[string]any{}
	}
	maps.Copy(appEnv, changed)
	for _, k := range removed {
		delete(appEnv, k)
		delete(c.specs[name].Env, k)
	}
	env[name] = appEnv
	c.cfg.Env = env
	in := c.insts[name]
	c.mu.Unlock()
	if in == nil {
		return nil
	}
	if cc, ok := in.app.(ConfigChanger); ok {
		safeCall(func() { cc.ConfigChange(withInst(ctx, in.info), changed, removed) })
	}
	return nil
}
