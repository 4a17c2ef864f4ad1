package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden output of the scenario scripts under testdata/")

// TestScenarios drives one node's decision core with the scripts testdata/*.txt and compares
// the transcript with testdata/*.golden (regenerate with go test ./app -run TestScenarios -rewrite).
//
// Script commands (one per line, '#' starts a comment):
//
//	self a                         this node's name (first line)
//	startwait 30s | infinity       start_wait (default 30s)
//	dist APP TIMEOUT TIERS...      a distributed entry; a tier is a or {a,b}; TIMEOUT ms|infinity
//	load APP [nopermit] [req=x,y]  load (distributed if a dist line names it)
//	start APP [RT] | stop APP | takeover APP [RT] | permit APP true|false | unload APP
//	started APP [err=TEXT]         the local start at the current local epoch returned
//	stopped APP                    the local instance finished stopping
//	exited APP [abnormal]          the local instance exited by itself
//	up N | down N                  nodeup / nodedown
//	hello N [STATUS | STATUS ...]  N's hello; STATUS = APP flags (see parseStatus)
//	status N STATUS                N's status report
//	weight N APP W [ask] [epoch=E] N's election weight
//	fire APP                       the last timer armed for APP fires
//	resync [full]                  the periodic resync (hello asks; full: hellos to all)
//	advance DURATION               the clock moves on
//	state                          print every application's state
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario scripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := runScript(t, string(in))
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if *rewrite {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -rewrite to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (run with -rewrite to accept):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

type scriptRun struct {
	t     *testing.T
	c     *core
	now   time.Time
	dists map[string]*Distributed
	gens  map[string]uint64
	req   reqID
	out   strings.Builder
}

func runScript(t *testing.T, text string) string {
	r := &scriptRun{t: t, now: time.Unix(1_000_000, 0), dists: map[string]*Distributed{}, gens: map[string]uint64{}}
	startWait := 30 * time.Second
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		fail := func(format string, args ...any) {
			t.Fatalf("line %d %q: %s", i+1, line, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "self":
			r.c = newCore(dist.Node(f[1]), startWait)
			continue
		case "startwait":
			startWait = parseDur(f[1], fail)
			if r.c != nil {
				r.c.startWait = startWait
			}
			continue
		case "dist":
			r.dists[f[1]] = &Distributed{App: f[1], Timeout: parseDur(f[2], fail), Nodes: parseTiers(f[3:])}
			if r.c == nil {
				fail("dist needs self first")
			}
			r.c.configure(r.dists[f[1]], true)
			continue
		}
		if r.c == nil {
			fail("the first command must be self")
		}
		r.out.WriteString(strings.Join(f, " ") + "\n")
		r.command(f, fail)
	}
	return r.out.String()
}

func (r *scriptRun) command(f []string, fail func(string, ...any)) {
	arg := func(i int) string {
		if i >= len(f) {
			fail("missing argument %d", i)
		}
		return f[i]
	}
	var ev event
	switch f[0] {
	case "load":
		e := evLoad{App: arg(1), Dist: r.dists[arg(1)], Permit: true}
		for _, o := range f[2:] {
			switch {
			case o == "nopermit":
				e.Permit = false
			case strings.HasPrefix(o, "req="):
				e.Required = strings.Split(o[4:], ",")
			default:
				fail("unknown option %s", o)
			}
		}
		ev = e
	case "start":
		ev = evStart{Req: r.next(), App: arg(1), RT: parseRT(f, 2, fail)}
	case "stop":
		ev = evStop{Req: r.next(), App: arg(1)}
	case "unload":
		ev = evUnload{Req: r.next(), App: arg(1)}
	case "takeover":
		ev = evTakeover{Req: r.next(), App: arg(1), RT: parseRT(f, 2, fail)}
	case "permit":
		ev = evPermit{Req: r.next(), App: arg(1), Permit: arg(2) == "true"}
	case "started":
		e := evLocalStarted{App: arg(1)}
		if a := r.c.apps[e.App]; a != nil {
			e.Epoch = a.local.Epoch
		}
		if len(f) > 2 && strings.HasPrefix(f[2], "err=") {
			e.Err = errors.New(f[2][4:])
		}
		ev = e
	case "stopped":
		ev = evLocalStopped{App: arg(1)}
	case "exited":
		ev = evLocalExited{App: arg(1), Abnormal: len(f) > 2 && f[2] == "abnormal", Reason: "exit"}
	case "up":
		ev = evNodeUp{Node: dist.Node(arg(1))}
	case "down":
		ev = evNodeDown{Node: dist.Node(arg(1))}
	case "hello":
		var sts []appStatus
		if len(f) > 2 {
			for _, part := range strings.Split(strings.Join(f[2:], " "), "|") {
				sts = append(sts, r.parseStatus(strings.Fields(part), fail))
			}
		}
		ev = evPeer{From: dist.Node(arg(1)), Msg: wireMsg{IsHello: true, Hello: sts}}
	case "status":
		st := r.parseStatus(f[2:], fail)
		ev = evPeer{From: dist.Node(arg(1)), Msg: wireMsg{Status: &st}}
	case "weight":
		w, err := strconv.Atoi(arg(3))
		if err != nil {
			fail("bad weight")
		}
		m := weightMsg{App: arg(2), Weight: w}
		if a := r.c.apps[m.App]; a != nil {
			m.Epoch = a.epoch
		}
		for _, o := range f[4:] {
			switch {
			case o == "ask":
				m.Ask = true
			case strings.HasPrefix(o, "epoch="):
				m.Epoch = parseUint(o[6:], fail)
			}
		}
		ev = evPeer{From: dist.Node(arg(1)), Msg: wireMsg{Weight: &m}}
	case "resync":
		ev = evResync{Full: len(f) > 1 && f[1] == "full"}
	case "fire":
		ev = evTimer{App: arg(1), Gen: r.gens[arg(1)]}
	case "advance":
		r.now = r.now.Add(parseDur(arg(1), fail))
		return
	case "state":
		r.printState("")
		return
	default:
		fail("unknown command")
	}
	for _, a := range r.c.step(r.now, ev) {
		if arm, ok := a.(actArm); ok {
			r.gens[arm.App] = arm.Gen
		}
		r.out.WriteString("  > " + fmtAction(a) + "\n")
	}
	app := ""
	if len(f) > 1 && f[0] != "up" && f[0] != "down" && f[0] != "hello" {
		app = f[1]
		if f[0] == "status" || f[0] == "weight" {
			app = f[2]
		}
	}
	r.printState(app)
}

func (r *scriptRun) next() reqID { r.req++; return r.req }

// parseStatus reads "APP [started] [permit] [running] [failed] [epoch=E] [kind=K] [from=N]
// [iepoch=E] [nodes=TIERS]"; nodes default to this node's dist line for APP.
func (r *scriptRun) parseStatus(f []string, fail func(string, ...any)) appStatus {
	if len(f) == 0 {
		fail("empty status")
	}
	st := appStatus{App: f[0]}
	if d := r.dists[f[0]]; d != nil {
		st.Nodes = d.Nodes
	}
	for _, o := range f[1:] {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "started":
			st.Started = true
		case "permit":
			st.Permit = true
		case "running":
			st.Running = true
		case "failed":
			st.Failed = true
		case "epoch":
			st.Epoch = parseUint(v, fail)
		case "iepoch":
			st.IEpoch = parseUint(v, fail)
		case "kind":
			st.Kind = map[string]StartKind{"normal": KindNormal, "failover": KindFailover, "takeover": KindTakeover}[v]
		case "from":
			st.From = dist.Node(v)
		case "nodes":
			st.Nodes = parseTiers(strings.Split(v, ";"))
		default:
			fail("unknown status flag %s", o)
		}
	}
	if st.Running && st.IEpoch == 0 {
		st.IEpoch = st.Epoch
	}
	return st
}

func (r *scriptRun) printState(only string) {
	names := r.c.sortedApps()
	for _, n := range names {
		if only != "" && n != only {
			continue
		}
		a := r.c.apps[n]
		fmt.Fprintf(&r.out, "  = %s %s", n, a.phase)
		if a.node != "" {
			fmt.Fprintf(&r.out, "(%s)", a.node)
		}
		fmt.Fprintf(&r.out, " epoch=%d started=%t permit=%t", a.epoch, a.started, a.permit)
		if a.phase == phLocal || a.phase == phStarting || a.phase == phStopping {
			fmt.Fprintf(&r.out, " local=%s@%d", a.local, a.local.Epoch)
		}
		if len(a.excluded) > 0 {
			fmt.Fprintf(&r.out, " skipped=%v", sortedNodes(a.excluded))
		}
		r.out.WriteString("\n")
	}
}

func fmtAction(a action) string {
	switch x := a.(type) {
	case actSend:
		return "send " + string(x.To) + " " + fmtMsg(x.Msg)
	case actStartLocal:
		return fmt.Sprintf("start-local %s %s epoch=%d rt=%s", x.App, x.ST, x.ST.Epoch, x.RT)
	case actStopLocal:
		return fmt.Sprintf("stop-local %s %s", x.App, x.Reason)
	case actAbortHandoff:
		return "handoff-aborted " + x.App
	case actReply:
		if x.Err == nil {
			return fmt.Sprintf("reply req%d ok", x.Req)
		}
		return fmt.Sprintf("reply req%d error %s (%v)", x.Req, OTPName(x.Err), x.Err)
	case actArm:
		return fmt.Sprintf("arm %s after %v", x.App, x.After)
	case actLog:
		s := fmt.Sprintf("log %s %q: %s", x.App, x.Decision, x.Reason)
		if x.ST != "" {
			s += fmt.Sprintf(" [%s epoch %d]", x.ST, x.Epoch)
		}
		return s
	case actFatal:
		return "fatal " + x.App + ": " + x.Reason
	}
	return fmt.Sprintf("%#v", a)
}

func fmtMsg(m wireMsg) string {
	switch {
	case m.IsHello:
		var parts []string
		for _, st := range m.Hello {
			parts = append(parts, fmtStatus(st))
		}
		h := "hello"
		if m.HelloAsk {
			h += "?"
		}
		return h + "[" + strings.Join(parts, " | ") + "]"
	case m.Status != nil:
		return "status{" + fmtStatus(*m.Status) + "}"
	case m.Weight != nil:
		s := fmt.Sprintf("weight{%s %d epoch=%d", m.Weight.App, m.Weight.Weight, m.Weight.Epoch)
		if m.Weight.Ask {
			s += " ask"
		}
		return s + "}"
	}
	return "?"
}

func fmtStatus(st appStatus) string {
	f := []string{st.App}
	for _, b := range []struct {
		on   bool
		name string
	}{{st.Started, "started"}, {st.Permit, "permit"}, {st.Running, "running"}, {st.Failed, "failed"}} {
		if b.on {
			f = append(f, b.name)
		}
	}
	f = append(f, fmt.Sprintf("epoch=%d", st.Epoch))
	if st.Running || st.Failed {
		f = append(f, fmt.Sprintf("instance=%s@%d", StartType{Kind: st.Kind, From: st.From}, st.IEpoch))
	}
	return strings.Join(f, " ")
}

func parseTiers(f []string) [][]dist.Node {
	var out [][]dist.Node
	for _, t := range f {
		t = strings.Trim(t, "{}")
		var tier []dist.Node
		for _, n := range strings.Split(t, ",") {
			tier = append(tier, dist.Node(n))
		}
		out = append(out, tier)
	}
	return out
}

func parseDur(s string, fail func(string, ...any)) time.Duration {
	if s == "infinity" {
		return Infinity
	}
	if ms, err := strconv.Atoi(s); err == nil {
		return time.Duration(ms) * time.Millisecond
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		fail("bad duration %s", s)
	}
	return d
}

func parseUint(s string, fail func(string, ...any)) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		fail("bad number %s", s)
	}
	return v
}

func parseRT(f []string, i int, fail func(string, ...any)) RestartType {
	if i >= len(f) {
		return Temporary
	}
	if f[i] == "bogus" {
		return RestartType(7)
	}
	rt, err := ParseRestartType(f[i])
	if err != nil {
		fail("%v", err)
	}
	return rt
}

// lineDiff shows the first differing lines of two transcripts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n want: %q\n  got: %q\ncontext (got):\n%s", i+1, wl, gl,
				strings.Join(g[lo:min(len(g), i+4)], "\n"))
		}
	}
	return "(equal)"
}

var _ = slices.Sort[[]string]
