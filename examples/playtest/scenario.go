package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Step is one step of the playtest and what was observed.
type Step struct {
	Name     string
	Expected string
	Observed string
	Delay    time.Duration // the step's measured time (see Name)
	Ping     string        // the !ping answer at this stage
	OK       bool
	Why      string // why not OK

	move       bool // a move of the app: events are counted over its window
	start, end time.Time
	nonce0     int // the fake's nonce hits when the step began
	Lost       int // injected during the move, never handled
	Twice      int // injected during the move, handled more than once
	DupReplies int // pongs created more than once for one !ping (should be 0: reply nonces)
	NonceHits  int // replies sent again during the move, answered by the fake's nonce check
}

// Report is a playtest run.
type Report struct {
	Steps  []*Step
	Traces []Trace

	nonceHits func() int
}

// OK reports whether every step happened as expected.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return len(r.Steps) > 0
}

func (r *Report) step(name, expected string) *Step {
	s := &Step{Name: name, Expected: expected, start: time.Now()}
	if r.nonceHits != nil {
		s.nonce0 = r.nonceHits()
	}
	r.Steps = append(r.Steps, s)
	return s
}

func (s *Step) fail(format string, a ...any) {
	s.OK = false
	why := fmt.Sprintf(format, a...)
	if s.Why != "" {
		s.Why += "; "
	}
	s.Why += why
}

func strp(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Run plays the seed's story on c and returns what happened; an error means the run could
// not go on (a step that did not happen in time). out gets the progress.
func Run(ctx context.Context, c *Cluster, out io.Writer) (*Report, error) {
	rep := &Report{nonceHits: func() int { return c.Fake.Stats().NonceHits }}
	timeout := c.opts.Timeout
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	ping := func(s *Step) error {
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		n, took, err := c.Ping(pctx)
		if err != nil {
			s.fail("no pong")
			return err
		}
		s.Ping = fmt.Sprintf("pong from %s in %v", n, took.Round(time.Millisecond))
		say("    %s", s.Ping)
		return nil
	}

	// 1. Boot: three terminals, three nodes; mybot runs on joe (normal).
	s := rep.step("boot joe, robert, mike", "joe starts mybot (normal)")
	say("1. starting joe, robert and mike (mybot -sname N -setcookie %s -config mybot_N.config)", c.opts.Cookie)
	for _, n := range Names {
		if _, err := c.Start(n); err != nil {
			return rep, err
		}
	}
	tr, idx, err := c.WaitTrace(ctx, "mybot to start on joe", 0, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		return rep, err
	}
	s.Observed, s.OK = tr.String(), tr.Node == "joe" && strp(tr.Type) == "normal"
	s.Delay = tr.At().Sub(c.Proc("joe").Started)
	if !s.OK {
		s.fail("expected joe start normal")
	}
	say("    %s (%v after joe's process started)", s.Observed, s.Delay.Round(time.Millisecond))
	if err := ping(s); err != nil {
		return rep, err
	}
	// Chatter: a message every 50 ms from now on, so every move has events in flight. Joe
	// handles it for a second first, as a bot that has been running: its session is
	// checkpointed (nostrum/ha checkpoints while events are handled) before it dies.
	for _, n := range Names {
		if err := c.WaitBooted(ctx, n); err != nil {
			return rep, err
		}
	}
	c.StartChatter(50 * time.Millisecond)
	say("    (posting a message every 50 ms from now on; joe handles them for 1 s)")
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return rep, ctx.Err()
	}

	// 2. SIGKILL joe: after Timeout mike or robert starts mybot with failover from joe.
	s = rep.step("SIGKILL joe", fmt.Sprintf("failover from joe on mike or robert after %v", timeout))
	s.move = true
	say("2. killing joe (SIGKILL, pid %d)", c.Proc("joe").Cmd.Process.Pid)
	killed := time.Now()
	if err := c.Signal("joe", syscall.SIGKILL); err != nil {
		return rep, err
	}
	tr, idx, err = c.WaitTrace(ctx, fmt.Sprintf("the failover (Timeout %v)", timeout), idx+1, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		return rep, err
	}
	s.Observed, s.Delay = tr.String(), tr.At().Sub(killed)
	s.OK = (tr.Node == "mike" || tr.Node == "robert") && strp(tr.Type) == "failover" && strp(tr.From) == "joe"
	if !s.OK {
		s.fail("expected mike or robert start failover from joe")
	}
	if s.Delay < timeout || s.Delay > timeout+3*time.Second {
		s.fail("failover %v after the kill, expected Timeout %v .. +3s", s.Delay.Round(time.Millisecond), timeout)
	}
	say("    %s, %v after the kill", s.Observed, s.Delay.Round(time.Millisecond))
	if err := ping(s); err != nil {
		return rep, err
	}
	runner := tr.Node

	// 3. joe comes back: it takes mybot over from the runner, which then stops.
	s = rep.step("start joe again", "joe starts mybot (takeover from "+runner+"), then "+runner+" stops it")
	s.move = true
	say("3. starting joe again")
	if _, err := c.Start("joe"); err != nil {
		return rep, err
	}
	tr, idx, err = c.WaitTrace(ctx, "joe to take mybot over", idx+1, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		return rep, err
	}
	s.Observed, s.Delay = tr.String(), tr.At().Sub(c.Proc("joe").Started)
	s.OK = tr.Node == "joe" && strp(tr.Type) == "takeover" && strp(tr.From) == runner
	if !s.OK {
		s.fail("expected joe start takeover from %s", runner)
	}
	stop, _, err := c.WaitTrace(ctx, runner+" to stop its instance", idx+1, func(t Trace) bool { return t.Node == runner && t.Event == "stop" })
	if err != nil {
		return rep, err
	}
	s.Observed += fmt.Sprintf("; %s stop +%v", runner, stop.At().Sub(tr.At()).Round(time.Millisecond))
	say("    %s (%v after joe's process started)", s.Observed, s.Delay.Round(time.Millisecond))
	if err := ping(s); err != nil {
		return rep, err
	}

	// 4. A manual takeover through the CLI: gotp takeover mybot --node robert@host.
	s = rep.step("gotp takeover mybot --node robert", "robert starts mybot (takeover from joe), then joe stops it; {\"ok\":true}")
	s.move = true
	say("4. gotp takeover mybot --node %s --json", c.Node("robert"))
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	called := time.Now()
	code, stdout, stderr, err := c.CLI(cctx, "takeover", "mybot", "--node", c.Node("robert"), "--json")
	cancel()
	if err != nil {
		return rep, err
	}
	s.Delay = time.Since(called)
	tr, idx, err = c.WaitTrace(ctx, "robert to take mybot over", idx+1, func(t Trace) bool { return t.Event == "start" })
	if err != nil {
		return rep, err
	}
	stop, _, err = c.WaitTrace(ctx, "joe to stop its instance", idx+1, func(t Trace) bool { return t.Node == "joe" && t.Event == "stop" })
	if err != nil {
		return rep, err
	}
	s.Observed = fmt.Sprintf("exit %d %s; %s; joe stop +%v", code, strings.TrimSpace(stdout), tr, stop.At().Sub(tr.At()).Round(time.Millisecond))
	s.OK = code == 0 && strings.TrimSpace(stdout) == `{"ok":true}` && tr.Node == "robert" && strp(tr.Type) == "takeover" && strp(tr.From) == "joe"
	if !s.OK {
		s.fail("cli exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	say("    %s (the CLI returned after %v)", s.Observed, s.Delay.Round(time.Millisecond))
	if err := ping(s); err != nil {
		return rep, err
	}

	// 5. The same takeover on the node already running it: already_running_locally.
	s = rep.step("gotp takeover mybot --node robert (again)", `exit 1, {"error":"already_running_locally",…}`)
	cctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	code, stdout, _, err = c.CLI(cctx, "takeover", "mybot", "--node", c.Node("robert"), "--json")
	cancel()
	if err != nil {
		return rep, err
	}
	var ej struct{ Error, Message string }
	_ = json.Unmarshal([]byte(stdout), &ej)
	s.Observed = fmt.Sprintf("exit %d, error %s", code, ej.Error)
	s.OK = code == 1 && ej.Error == "already_running_locally"
	if !s.OK {
		s.fail("stdout %q", stdout)
	}
	say("5. again on robert: %s", s.Observed)

	// 6. Where is it, as mike sees it.
	s = rep.step("gotp apps --node mike", "mybot running on robert, takeover from joe")
	// mike learns of the move asynchronously (the move's messages reach it after the CLI's
	// answer): ask until its view shows robert, for at most 10 s.
	for deadline := time.Now().Add(10 * time.Second); ; {
		cctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		code, stdout, _, err = c.CLI(cctx, "apps", "--node", c.Node("mike"), "--json")
		cancel()
		if err != nil {
			return rep, err
		}
		if strings.Contains(stdout, `"running_on":"`+c.Node("robert")+`"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var aj struct {
		Apps []struct {
			Name      string  `json:"name"`
			RunningOn *string `json:"running_on"`
			Epoch     uint64  `json:"epoch"`
			StartType *string `json:"start_type"`
			From      *string `json:"from"`
		} `json:"apps"`
	}
	_ = json.Unmarshal([]byte(stdout), &aj)
	s.Observed = strings.TrimSpace(stdout)
	s.OK = code == 0 && len(aj.Apps) == 1 && strp(aj.Apps[0].RunningOn) == c.Node("robert") &&
		strp(aj.Apps[0].StartType) == "takeover" && strp(aj.Apps[0].From) == c.Node("joe")
	if !s.OK {
		s.fail("exit %d", code)
	}
	say("6. gotp apps --node %s: %s", c.Node("mike"), s.Observed)

	// Every injected message handled? Then count per move.
	c.StopChatter()
	end := time.Now()
	say("    … waiting for every posted message to be handled")
	drain(ctx, c, 15*time.Second)
	if err := countMoves(c, rep, end); err != nil {
		return rep, err
	}

	// Epochs only grow.
	s = rep.step("epochs", "strictly increasing over the starts")
	rep.Traces, _ = c.Traces()
	var epochs []uint64
	for _, t := range rep.Traces {
		if t.Event == "start" {
			epochs = append(epochs, t.Epoch)
		}
	}
	s.Observed, s.OK = fmt.Sprint(epochs), len(epochs) == 4
	for i := 1; i < len(epochs); i++ {
		if epochs[i] <= epochs[i-1] {
			s.OK = false
		}
	}

	// 7. SIGTERM every node: each stops cleanly.
	s = rep.step("SIGTERM joe, robert, mike", "every node exits 0")
	say("7. stopping every node (SIGTERM)")
	for _, n := range Names {
		_ = c.Signal(n, syscall.SIGTERM)
	}
	var codes []string
	s.OK = true
	for _, n := range Names {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		code, err := c.WaitExit(wctx, n)
		cancel()
		if err != nil {
			return rep, err
		}
		codes = append(codes, fmt.Sprintf("%s %d", n, code))
		if code != 0 {
			s.fail("%s exit %d", n, code)
		}
	}
	s.Observed = strings.Join(codes, ", ")
	return rep, nil
}

// drain waits until every injected message has been handled somewhere, or limit passed.
func drain(ctx context.Context, c *Cluster, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		evs, _ := c.Events()
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.ID] = true
		}
		missing := 0
		for _, in := range c.Injected() {
			if !seen[in.ID] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countMoves fills each move's counters over its window (from its start to the next step).
func countMoves(c *Cluster, rep *Report, end time.Time) error {
	evs, err := c.Events()
	if err != nil {
		return err
	}
	handled := map[string]int{}
	for _, e := range evs {
		handled[e.ID]++
	}
	pongs := map[string]int{}
	for _, m := range c.Fake.Messages() {
		if m.Content == "pong" {
			pongs[string(m.Nonce)]++
		}
	}
	injected := c.Injected()
	for i, s := range rep.Steps {
		if !s.move {
			continue
		}
		s.end = end
		if i+1 < len(rep.Steps) {
			s.end = rep.Steps[i+1].start
		}
		for _, in := range injected {
			if in.At.Before(s.start) || !in.At.Before(s.end) {
				continue
			}
			switch n := handled[in.ID]; {
			case n == 0:
				s.Lost++
			case n > 1:
				s.Twice++
			}
			if pongs[`"r`+in.ID+`"`] > 1 {
				s.DupReplies++
			}
		}
		if s.Lost > 0 || s.DupReplies > 0 {
			s.fail("%d events lost, %d duplicate replies", s.Lost, s.DupReplies)
		}
	}
	final := c.Fake.Stats().NonceHits
	for i, s := range rep.Steps {
		if !s.move {
			continue
		}
		next := final
		if i+1 < len(rep.Steps) {
			next = rep.Steps[i+1].nonce0
		}
		s.NonceHits = next - s.nonce0
	}
	return nil
}

// PrintTable writes the final table.
func PrintTable(w io.Writer, rep *Report) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESULT\tTIME\tLOST\tTWICE\tDUP REPLIES\tNONCE HITS\tOBSERVED")
	for _, s := range rep.Steps {
		res := "ok"
		if !s.OK {
			res = "FAILED: " + s.Why
		}
		d, lost, twice, dup, hits := "", "", "", "", ""
		if s.Delay > 0 {
			d = s.Delay.Round(time.Millisecond).String()
		}
		if s.move {
			lost, twice, dup = fmt.Sprint(s.Lost), fmt.Sprint(s.Twice), fmt.Sprint(s.DupReplies)
			hits = fmt.Sprint(s.NonceHits)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, res, d, lost, twice, dup, hits, s.Observed)
	}
	tw.Flush()
}
