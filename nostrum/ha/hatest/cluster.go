package hatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/app/apptest"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/nostrum/ha"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// AppName is the name of the bot application on every node.
const AppName = "bot"

const token = "hatest-bot-token"

// Options configure a Cluster.
type Options struct {
	Nodes   []string      // short node names, all in one priority tier
	Shards  int           // gateway shards, one guild each; default 1
	Timeout time.Duration // failover timeout of the application (0: at once)
	// Reply makes the handler answer every posted message with "re <id>", with the
	// message's reply nonce and EnforceNonce.
	Reply bool
	// FailStart, if set, can fail a node's start after the adapter's Start ran (so a
	// takeover has already taken the handoff).
	FailStart func(node string, st app.StartType) error
	// Ha adjusts each node's adapter config.
	Ha   func(*ha.Config)
	Fake func(*fakediscord.Config)
	// Controller adjusts each node's controller config.
	Controller func(*app.Config)
	Logger     *slog.Logger // default: discard
}

// Cluster is a fake Discord and nodes running the bot application on an in-memory mesh.
type Cluster struct {
	Fake     *fakediscord.Server
	Net      *apptest.Net
	Log      *Log
	Events   *Events
	Channel  string   // the first guild's text channel
	Channels []string // one text channel per shard

	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	nodes map[string]*Node
}

// Node is one node: its controller and its adapter.
type Node struct {
	Name string
	Ctl  *app.Controller
	Bot  *ha.Bot
}

// NodeName is the mesh name of a short name.
func NodeName(short string) dist.Node { return dist.Node(short + "@h") }

// New starts the fake Discord and an empty mesh; Boot adds nodes.
func New(opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	fc := fakediscord.Config{
		Token: token, HeartbeatInterval: time.Second, HeartbeatTimeout: 20 * time.Second,
		IdentifyWindow: 20 * time.Millisecond, ReplayBuffer: 200000, SessionTTL: 5 * time.Minute,
		RESTBucketLimit: 1 << 30, RESTBucketWindow: time.Second, GlobalLimit: 1 << 30, Logger: log,
	}
	opts.Shards = max(opts.Shards, 1)
	if opts.Shards > 1 {
		fc.Shards = opts.Shards
		for i := range opts.Shards {
			// Discord routes a guild to shard (id >> 22) % shards.
			id := (uint64(opts.Shards) + uint64(i)) << 22
			fc.Guilds = append(fc.Guilds, fakediscord.Guild{ID: fmt.Sprint(id), Name: fmt.Sprint("guild ", i),
				Channels: []fakediscord.Channel{{Name: "general"}}})
		}
	}
	if opts.Fake != nil {
		opts.Fake(&fc)
	}
	srv, err := fakediscord.Start(fc)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Fake: srv, Net: apptest.New(), Log: NewLog(), Events: NewEvents(), opts: opts, log: log,
		nodes: map[string]*Node{}}
	for _, g := range srv.Guilds() {
		c.Channels = append(c.Channels, g.Channels[0].ID)
	}
	c.Channel = c.Channels[0]
	return c, nil
}

// Close kills every node and stops the fake.
func (c *Cluster) Close() {
	c.mu.Lock()
	nodes := make([]*Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	c.mu.Unlock()
	for _, n := range nodes {
		n.Ctl.Halt()
	}
	c.Net.Close()
	_ = c.Fake.Close()
}

// Node returns a booted node.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[name]
}

// Boot starts (or restarts) node name and starts the bot application there; it returns
// once the application's placement is known (running elsewhere, or here with its shard
// connected).
func (c *Cluster) Boot(ctx context.Context, name string) (*Node, error) {
	ep, err := c.Net.Add(NodeName(name))
	if err != nil {
		return nil, err
	}
	var tier []dist.Node
	for _, n := range c.opts.Nodes {
		tier = append(tier, NodeName(n))
	}
	acfg := app.Config{Network: ep, Logger: c.log,
		Distributed: []app.Distributed{{App: AppName, Timeout: c.opts.Timeout, Nodes: [][]dist.Node{tier}}}}
	if c.opts.Controller != nil {
		c.opts.Controller(&acfg)
	}
	ctl, err := app.New(acfg)
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, Ctl: ctl}
	cfg := ha.Config{Bot: c.botOptions(n), OnEvent: func(e ha.Event) { c.Events.add(name, e) }, Logger: c.log}
	if c.opts.Ha != nil {
		c.opts.Ha(&cfg)
	}
	if n.Bot, err = ha.New(cfg); err != nil {
		ctl.Halt()
		return nil, err
	}
	var a app.App = n.Bot.App()
	if c.opts.FailStart != nil {
		a = &failingApp{App: n.Bot.App(), b: n.Bot, fail: func(st app.StartType) error { return c.opts.FailStart(name, st) }}
	}
	if err := ctl.Load(app.Spec{Name: AppName, App: a}); err != nil {
		ctl.Halt()
		return nil, err
	}
	c.mu.Lock()
	c.nodes[name] = n
	c.mu.Unlock()
	mark := c.Events.Len()
	if err := ctl.Start(ctx, AppName, app.Permanent); err != nil {
		return nil, fmt.Errorf("start on %s: %w", name, err)
	}
	if c.Runner(name) == name {
		up := map[int]bool{}
		_, err := c.Events.Wait(ctx, mark, func(x NodeEvent) bool {
			if x.Node != name {
				return false
			}
			switch e := x.Event.(type) {
			case gateway.Ready:
				up[e.Shard] = true
			case gateway.Resumed:
				up[e.Shard] = true
			}
			return len(up) == c.opts.Shards
		})
		if err != nil {
			return nil, fmt.Errorf("%s never connected: %w", name, err)
		}
	}
	return n, nil
}

func (c *Cluster) botOptions(n *Node) nostrum.Options {
	return nostrum.Options{
		Name: "bot-" + n.Name, Token: token,
		Intents: nostrum.IntentGuilds | nostrum.IntentGuildMessages | nostrum.IntentMessageContent,
		Shards:  nostrum.Shards{Mode: nostrum.ShardsCount, Count: c.opts.Shards},
		Handler: c.handler(n), BaseURL: c.Fake.URL(), Logger: c.log,
		OnGatewayEvent: func(e gateway.Event) { c.Events.add(n.Name, e) },
		IdentifyWindow: 20 * time.Millisecond, InvalidSessionMin: 5 * time.Millisecond,
		InvalidSessionMax: 20 * time.Millisecond, BackoffMin: 10 * time.Millisecond,
		BackoffMax: 200 * time.Millisecond, RESTGlobalLimit: 1 << 30, RESTRetryDelay: 10 * time.Millisecond,
		DrainTimeout: 5 * time.Second,
	}
}

// handler answers every posted message idempotently (with Options.Reply), then records it.
func (c *Cluster) handler(n *Node) nostrum.Handler {
	return func(ctx context.Context, ev nostrum.Event) error {
		if ev.Type != "MESSAGE_CREATE" || ev.Message == nil || ev.Message.Author.Bot {
			return nil
		}
		defer c.Log.Add(n.Name, ev) // handled once the reply is made
		if !c.opts.Reply {
			return nil
		}
		rc := n.Bot.REST()
		if rc == nil {
			return errors.New("no REST client")
		}
		m := ev.Message
		_, err := rc.CreateMessage(ctx, m.ChannelID, rest.MessageCreate{
			Content: ReplyPrefix + m.ID.String(), Nonce: rest.ReplyNonce(m.ID), EnforceNonce: true,
			Reference: &rest.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID},
		})
		return err
	}
}

// Kill makes node name die, as SIGKILL: its instance stops with no callbacks and its
// Discord sockets drop without a close frame (as the OS closes a dead process's sockets),
// then it leaves the mesh and its peers see it down.
func (c *Cluster) Kill(ctx context.Context, name string) error {
	n := c.Node(name)
	mark := c.Events.Len()
	running := c.Runner(name) == name
	n.Ctl.Halt()
	if running {
		_, err := c.Events.Wait(ctx, mark, func(x NodeEvent) bool {
			_, ok := x.Event.(ha.Stopped)
			return ok && x.Node == name
		})
		if err != nil {
			return err
		}
	}
	c.Net.Kill(NodeName(name))
	return nil
}

// Runner returns the short name of the node running the application, as name's
// controller sees it ("" when nowhere).
func (c *Cluster) Runner(name string) string {
	p, err := c.Node(name).Ctl.Where(AppName)
	if err != nil || p.Node == "" {
		return ""
	}
	return p.Node.Name()
}

// Takeover moves the application to node name (app.Controller.Takeover).
func (c *Cluster) Takeover(ctx context.Context, name string) error {
	return c.Node(name).Ctl.Takeover(ctx, AppName, app.Permanent)
}

// failingApp can fail a start after the adapter's Start ran.
type failingApp struct {
	app.App
	b    *ha.Bot
	fail func(app.StartType) error
}

// Start runs the adapter's start, then the failure hook.
func (a *failingApp) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	svc, err := a.App.Start(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := a.fail(st); err != nil {
		return nil, err
	}
	return svc, nil
}

// Handoff delegates to the adapter.
func (a *failingApp) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	return a.b.Handoff(ctx, to)
}

// HandoffAborted delegates to the adapter.
func (a *failingApp) HandoffAborted(ctx context.Context) { a.b.HandoffAborted(ctx) }

// Events records the adapters' and the gateways' events per node.
type Events struct {
	mu     sync.Mutex
	list   []NodeEvent
	notify chan struct{}
}

// NodeEvent is an adapter event and the node it happened on.
type NodeEvent struct {
	Node  string
	Event fmt.Stringer // an ha.Event or a gateway.Event
	At    time.Time
}

// NewEvents returns an empty event log.
func NewEvents() *Events { return &Events{notify: make(chan struct{})} }

func (e *Events) add(node string, ev fmt.Stringer) {
	e.mu.Lock()
	e.list = append(e.list, NodeEvent{Node: node, Event: ev, At: time.Now()})
	close(e.notify)
	e.notify = make(chan struct{})
	e.mu.Unlock()
}

// All returns every event so far.
func (e *Events) All() []NodeEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]NodeEvent(nil), e.list...)
}

// Wait waits for an event from index from on that match accepts, and returns it.
func (e *Events) Wait(ctx context.Context, from int, match func(NodeEvent) bool) (NodeEvent, error) {
	for {
		e.mu.Lock()
		list, ch := e.list, e.notify
		e.mu.Unlock()
		for _, x := range list[min(from, len(list)):] {
			if match(x) {
				return x, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return NodeEvent{}, fmt.Errorf("waiting for an adapter event: %w", ctx.Err())
		}
	}
}

// Len returns the number of events so far.
func (e *Events) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.list)
}
