package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotp/gotp/nostrum/fakediscord"
)

// Names are the seed's three nodes, in the order the playtest starts them.
var Names = []string{"joe", "robert", "mike"}

// Options configure a Cluster of mybot processes.
type Options struct {
	Dir         string        // work folder: configs, traces, events, logs (required)
	MyBot, Gotp string        // built binaries (required)
	Host        string        // host part of the node names (default: this host's short name)
	Cookie      string        // default "foo", as the seed
	Timeout     time.Duration // mybot's failover Timeout; default 5000 ms, as the seed
	SyncTimeout time.Duration // sync_nodes_timeout; default 30000 ms, as the seed
	GotpSection []string      // entries of a gotp section, e.g. "{detection, test}"; none by default
	CLIConfig   bool          // pass --config (joe's file) to the CLI, for its tls settings
	Out         io.Writer     // progress lines; default io.Discard
}

// Cluster is a fake Discord, a private port mapper port and the mybot processes.
type Cluster struct {
	opts       Options
	Fake       *fakediscord.Server
	MapperPort int
	Channel    string

	mu       sync.Mutex
	procs    map[string]*Proc
	injected []Injected
	stopChat chan struct{}
	chatDone chan struct{}
}

// Injected is a message the playtest posted to the fake Discord.
type Injected struct {
	ID string
	At time.Time
}

// Proc is one OS process the cluster started.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	Started time.Time
	done    chan struct{}
	err     error
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitCode returns the exit status once Done is closed (-1 when killed by a signal).
func (p *Proc) ExitCode() int {
	if p.Cmd.ProcessState == nil {
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// ShortHost returns this host's name up to its first dot, as -sname uses it.
func ShortHost() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	h, _, _ = strings.Cut(h, ".")
	return h, nil
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// NewCluster starts the fake Discord and writes the three config files.
func NewCluster(opts Options) (*Cluster, error) {
	if opts.Host == "" {
		h, err := ShortHost()
		if err != nil {
			return nil, err
		}
		opts.Host = h
	}
	if opts.Cookie == "" {
		opts.Cookie = "foo"
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5000 * time.Millisecond
	}
	if opts.SyncTimeout == 0 {
		opts.SyncTimeout = 30000 * time.Millisecond
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	fake, err := fakediscord.Start(fakediscord.Config{Logger: discardLogger(), SessionTTL: 5 * time.Minute,
		ReplayBuffer: 100000, RESTBucketLimit: 1000, RESTBucketWindow: time.Second, GlobalLimit: 1000})
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, Fake: fake, MapperPort: port, Channel: fake.Guilds()[0].Channels[0].ID,
		procs: map[string]*Proc{}}
	for _, n := range Names {
		if err := os.WriteFile(c.ConfigPath(n), []byte(c.ConfigText(n)), 0o644); err != nil {
			fake.Close()
			return nil, err
		}
	}
	return c, nil
}

// Node returns a short name's full node name.
func (c *Cluster) Node(short string) string { return short + "@" + c.opts.Host }

// ConfigPath is the path of a node's generated config file.
func (c *Cluster) ConfigPath(short string) string {
	return filepath.Join(c.opts.Dir, "mybot_"+short+".config")
}

// ConfigText is the seed's config of a node with HOSTNAME replaced and the options applied.
func (c *Cluster) ConfigText(short string) string {
	var others []string
	for _, n := range Names {
		if n != short {
			others = append(others, c.Node(n))
		}
	}
	slices.Sort(others)
	h := c.opts.Host
	text := fmt.Sprintf(`%% mybot_%s.config (the seed's, HOSTNAME replaced by %s)
[{kernel,
  [{distributed, [{mybot, %d, [joe@%s, {mike@%s, robert@%s}]}]},
   {sync_nodes_mandatory, [%s]},
   {sync_nodes_timeout, %d}]}`, short, h, c.opts.Timeout.Milliseconds(), h, h, h, strings.Join(others, ", "), c.opts.SyncTimeout.Milliseconds())
	if len(c.opts.GotpSection) > 0 {
		text += ",\n {gotp, [" + strings.Join(c.opts.GotpSection, ", ") + "]}"
	}
	return text + "].\n"
}

// TracePath and EventsPath are a node's mybot output files; LogPath its stderr.
func (c *Cluster) TracePath(short string) string {
	return filepath.Join(c.opts.Dir, "trace_"+short+".jsonl")
}

// EventsPath is the node's events file.
func (c *Cluster) EventsPath(short string) string {
	return filepath.Join(c.opts.Dir, "events_"+short+".jsonl")
}

// LogPath is the node's log file (stdout and stderr of every run).
func (c *Cluster) LogPath(short string) string { return filepath.Join(c.opts.Dir, short+".log") }

// Env is the environment of the cluster's processes.
func (c *Cluster) Env() []string {
	return append(os.Environ(), "ERL_EPMD_PORT="+strconv.Itoa(c.MapperPort), "DISCORD_TOKEN=playtest-token",
		"MYBOT_TRACE=", "MYBOT_EVENTS=", "DISCORD_URL=")
}

// Start starts node short as the seed does: mybot -sname N -setcookie C -config F, plus the
// fake Discord and the output files. extra replaces the cookie or config when given.
func (c *Cluster) Start(short string, extra ...string) (*Proc, error) {
	args := []string{"-sname", short, "-setcookie", c.opts.Cookie, "-config", c.ConfigPath(short),
		"-discord", c.Fake.URL(), "-trace", c.TracePath(short), "-events", c.EventsPath(short)}
	return c.StartArgs(short, append(args, extra...)...)
}

// StartArgs starts mybot with exactly args; its output is appended to LogPath(short).
func (c *Cluster) StartArgs(short string, args ...string) (*Proc, error) {
	logf, err := os.OpenFile(c.LogPath(short), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.opts.MyBot, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = c.Env(), logf, logf, c.opts.Dir
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Proc{Name: short, Cmd: cmd, Started: time.Now(), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs[short] = p
	c.mu.Unlock()
	return p, nil
}

// Proc returns the last process started under a name.
func (c *Cluster) Proc(short string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[short]
}

// Signal sends sig to a node's process, by pid.
func (c *Cluster) Signal(short string, sig syscall.Signal) error {
	p := c.Proc(short)
	if p == nil {
		return fmt.Errorf("no process %s", short)
	}
	return syscall.Kill(p.Cmd.Process.Pid, sig)
}

// WaitExit waits for a node's process to exit and returns its status.
func (c *Cluster) WaitExit(ctx context.Context, short string) (int, error) {
	p := c.Proc(short)
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("%s (pid %d) did not exit: %w", short, p.Cmd.Process.Pid, ctx.Err())
	}
}

// Close stops every process still running (SIGTERM, then SIGKILL after grace), by pid, the
// chatter, and the fake Discord.
func (c *Cluster) Close(grace time.Duration) {
	c.StopChatter()
	c.mu.Lock()
	procs := make([]*Proc, 0, len(c.procs))
	for _, p := range c.procs {
		procs = append(procs, p)
	}
	c.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
			continue
		default:
		}
		_ = syscall.Kill(p.Cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			_ = syscall.Kill(p.Cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	c.Fake.Close()
}

// Dump asks every process still running for a goroutine dump (SIGQUIT: a Go program prints
// its goroutines to stderr, here its log, and exits).
func (c *Cluster) Dump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(p.Cmd.Process.Pid, syscall.SIGQUIT)
		}
	}
}

// Trace is one line of mybot's trace.
type Trace struct {
	TMs   int64   `json:"t_ms"`
	TUs   int64   `json:"t_us"`
	Node  string  `json:"node"`
	Event string  `json:"event"`
	Type  *string `json:"type"`
	From  *string `json:"from"`
	Epoch uint64  `json:"epoch"`
}

// At is the line's wall-clock time.
func (t Trace) At() time.Time { return time.UnixMicro(t.TUs) }

// String renders the line as "joe start failover from joe @2".
func (t Trace) String() string {
	s := t.Node + " " + t.Event
	if t.Type != nil {
		s += " " + *t.Type
	}
	if t.From != nil {
		s += " from " + *t.From
	}
	return s + fmt.Sprintf(" @%d", t.Epoch)
}

// Traces reads every node's trace, sorted by time.
func (c *Cluster) Traces() ([]Trace, error) {
	var out []Trace
	for _, n := range Names {
		lines, err := readLines[Trace](c.TracePath(n))
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	slices.SortStableFunc(out, func(a, b Trace) int { return int(a.TUs - b.TUs) })
	return out, nil
}

// Event is one line of mybot's events file.
type Event struct {
	TUs   int64  `json:"t_us"`
	Node  string `json:"node"`
	Shard int    `json:"shard"`
	Seq   int64  `json:"seq"`
	ID    string `json:"id"`
}

// Events reads every node's events file.
func (c *Cluster) Events() ([]Event, error) {
	var out []Event
	for _, n := range Names {
		lines, err := readLines[Event](c.EventsPath(n))
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	return out, nil
}

func readLines[T any](path string) ([]T, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasSuffix(data, []byte("\n")) && len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			continue // a line being written right now
		}
		out = append(out, v)
	}
	return out, nil
}

// WaitTrace waits until a trace line after index from satisfies match; it prints what it
// waits for once, then returns the line and its index.
func (c *Cluster) WaitTrace(ctx context.Context, what string, from int, match func(Trace) bool) (Trace, int, error) {
	fmt.Fprintf(c.opts.Out, "    … waiting for %s\n", what)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout+25*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ts, err := c.Traces()
		if err != nil {
			return Trace{}, 0, err
		}
		for i := from; i < len(ts); i++ {
			if match(ts[i]) {
				return ts[i], i, nil
			}
		}
		select {
		case <-ctx.Done():
			return Trace{}, 0, fmt.Errorf("waiting for %s: %w (trace: %v)", what, ctx.Err(), ts)
		case <-tick.C:
		}
	}
}

// Ping posts "!ping" and waits for the "pong" reply (matched by its reply nonce); it returns
// the node that handled it and how long the answer took.
func (c *Cluster) Ping(ctx context.Context) (string, time.Duration, error) {
	fmt.Fprintf(c.opts.Out, "    … waiting for pong to a !ping\n")
	// A session must be attached: a message posted while no session exists reaches nobody
	// (events posted while a session is detached are replayed when it resumes).
	if err := c.waitAttached(ctx); err != nil {
		return "", 0, err
	}
	m, err := c.inject("!ping")
	if err != nil {
		return "", 0, err
	}
	sent := time.Now()
	nonce := `"r` + m.ID + `"`
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, r := range c.Fake.Messages() {
			if r.Content == "pong" && string(r.Nonce) == nonce {
				took := time.Since(sent)
				evs, _ := c.Events()
				for _, e := range evs {
					if e.ID == m.ID {
						return e.Node, took, nil
					}
				}
				return "?", took, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", 0, fmt.Errorf("no pong to !ping %s: %w", m.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *Cluster) waitAttached(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, ss := range c.Fake.Stats().Sessions {
			if ss.Attached {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no Discord session attached: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *Cluster) inject(content string) (fakediscord.Message, error) {
	m, err := c.Fake.InjectMessage(c.Channel, content)
	if err != nil {
		return m, err
	}
	c.mu.Lock()
	c.injected = append(c.injected, Injected{ID: m.ID, At: time.Now()})
	c.mu.Unlock()
	return m, nil
}

// StartChatter posts a message every period until StopChatter, so every move has events in
// flight.
func (c *Cluster) StartChatter(period time.Duration) {
	c.stopChat, c.chatDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.chatDone)
		t := time.NewTicker(period)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-c.stopChat:
				return
			case <-t.C:
				_, _ = c.inject("chatter " + strconv.Itoa(i))
			}
		}
	}()
}

// StopChatter stops the chatter (idempotent).
func (c *Cluster) StopChatter() {
	if c.stopChat == nil {
		return
	}
	select {
	case <-c.stopChat:
	default:
		close(c.stopChat)
		<-c.chatDone
	}
}

// Injected returns the messages posted so far.
func (c *Cluster) Injected() []Injected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.injected)
}

// CLI runs the gotp binary against the cluster's port mapper with the cluster's cookie.
func (c *Cluster) CLI(ctx context.Context, args ...string) (code int, stdout, stderr string, err error) {
	full := []string{"--epmd-port", strconv.Itoa(c.MapperPort), "--cookie", c.opts.Cookie}
	if c.opts.CLIConfig {
		full = append(full, "--config", c.ConfigPath("joe"))
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, c.opts.Gotp, full...)
	cmd.Env = c.Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String(), nil
	}
	if err != nil {
		return -1, out.String(), errb.String(), err
	}
	return 0, out.String(), errb.String(), nil
}

// WaitBooted waits until a node's runtime logged that mybot's start returned (its boot is
// over: a signal now is a shutdown, not a boot failure).
func (c *Cluster) WaitBooted(ctx context.Context, short string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		data, _ := os.ReadFile(c.LogPath(short))
		if bytes.Contains(data, []byte(`msg="node: application started" app=mybot`)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never finished booting: %w", short, ctx.Err())
		case <-tick.C:
		}
	}
}

// LogTail returns the last lines of a node's log, for failure messages.
func (c *Cluster) LogTail(short string, n int) string {
	data, _ := os.ReadFile(c.LogPath(short))
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
