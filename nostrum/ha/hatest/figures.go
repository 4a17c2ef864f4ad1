// Package hatest runs bot applications on several in-memory nodes against the fake Discord
// and measures each move of the bot: events lost, events handled twice, duplicate replies,
// and the gap during which no node handled events. The tests of nostrum/ha and the
// benchmark in bench/ha use it.
package hatest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/fakediscord"
)

// ReplyPrefix starts the content of every reply the test handler sends: "re <trigger id>".
const ReplyPrefix = "re "

// Handled is one message event a handler handled.
type Handled struct {
	Node      string
	Shard     int
	Seq       int64
	MessageID string
	At        time.Time
}

// Log records what the handlers of every node handled, in order.
type Log struct {
	mu      sync.Mutex
	entries []Handled
	notify  chan struct{}
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{notify: make(chan struct{})} }

// Add records that node handled ev (a MESSAGE_CREATE).
func (l *Log) Add(node string, ev nostrum.Event) {
	h := Handled{Node: node, Shard: ev.Shard, Seq: ev.Seq, MessageID: ev.Message.ID.String(), At: time.Now()}
	l.mu.Lock()
	l.entries = append(l.entries, h)
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

// Entries returns a copy of the log from index from on.
func (l *Log) Entries(from int) []Handled {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from > len(l.entries) {
		from = len(l.entries)
	}
	return slices.Clone(l.entries[from:])
}

// Len returns the number of entries.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Wait waits until cond holds for the entries from index from on, or ctx ends.
func (l *Log) Wait(ctx context.Context, from int, cond func([]Handled) bool) error {
	for {
		l.mu.Lock()
		ok := cond(l.entries[min(from, len(l.entries)):])
		ch := l.notify
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Figures are the measures of one move.
type Figures struct {
	Injected         int // messages users posted during the move's window
	Handled          int // handler calls on them, repeats included
	Lost             int // injected messages no node handled
	HandledTwice     int // handler calls beyond the first per message
	Replies          int // replies created on Discord for them
	DuplicateReplies int // replies beyond the first per trigger message
	// Gap is the handover: from the last event the old runner handled to the first the new
	// runner handled (0 if they overlap).
	Gap time.Duration
	// Stall is the longest time no node handled an event in the whole window (the move's gap
	// or a pause of the handler on a loaded machine, whichever is longer).
	Stall time.Duration
}

// Window selects one move's part of the fake's and the handlers' records: everything at or
// after these indexes (taken just before the move's stream started).
type Window struct {
	Dispatched int // index into Server.Dispatched()
	Messages   int // index into Server.Messages()
	Log        int // index into Log entries
}

// Mark returns the current window start.
func Mark(srv *fakediscord.Server, log *Log) Window {
	return Window{Dispatched: len(srv.Dispatched()), Messages: len(srv.Messages()), Log: log.Len()}
}

// Injected returns the ids of the messages users posted (MESSAGE_CREATE dispatches of
// messages not created through REST) since w.
func Injected(srv *fakediscord.Server, w Window) []string {
	// Dispatched first: the fake records a created message before dispatching it, so every
	// bot message in this list is also in the later Messages.
	d := srv.Dispatched()
	bot := map[string]bool{}
	for _, m := range srv.Messages() {
		bot[m.ID] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, x := range d[min(w.Dispatched, len(d)):] {
		if x.Type != "MESSAGE_CREATE" || x.MessageID == "" || bot[x.MessageID] || seen[x.MessageID] {
			continue
		}
		seen[x.MessageID] = true
		out = append(out, x.MessageID)
	}
	return out
}

// ReplyTriggers returns, for every reply created since w, the id of the message it answers.
func ReplyTriggers(srv *fakediscord.Server, w Window) []string {
	var out []string
	ms := srv.Messages()
	for _, m := range ms[min(w.Messages, len(ms)):] {
		if id, ok := strings.CutPrefix(m.Content, ReplyPrefix); ok {
			out = append(out, id)
		}
	}
	return out
}

// Compute measures a move from node from to node to: injected are the posted message ids,
// handled the handler's log since the window start (anchor, if not nil, is the last entry
// before it, so a stall that began before the window counts), replies the trigger ids of
// the replies created.
func Compute(from, to string, injected []string, handled []Handled, anchor *Handled, replies []string) Figures {
	f := Figures{Injected: len(injected)}
	want := map[string]bool{}
	for _, id := range injected {
		want[id] = true
	}
	count := map[string]int{}
	for _, h := range handled {
		if !want[h.MessageID] {
			continue
		}
		count[h.MessageID]++
		f.Handled++
	}
	for _, id := range injected {
		switch n := count[id]; {
		case n == 0:
			f.Lost++
		case n > 1:
			f.HandledTwice += n - 1
		}
	}
	rc := map[string]int{}
	for _, id := range replies {
		if want[id] {
			rc[id]++
			f.Replies++
		}
	}
	for _, n := range rc {
		f.DuplicateReplies += n - 1
	}
	times := make([]time.Time, 0, len(handled)+1)
	if anchor != nil {
		times = append(times, anchor.At)
	}
	for _, h := range handled {
		times = append(times, h.At)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		f.Stall = max(f.Stall, times[i].Sub(times[i-1]))
	}
	var lastFrom, firstTo time.Time
	for _, h := range handled {
		if h.Node == to && firstTo.IsZero() {
			firstTo = h.At
		}
		if h.Node == from && (firstTo.IsZero() || h.At.Before(firstTo)) {
			lastFrom = h.At
		}
	}
	if !lastFrom.IsZero() && !firstTo.IsZero() {
		f.Gap = max(firstTo.Sub(lastFrom), 0)
	}
	return f
}
