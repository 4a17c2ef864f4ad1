package ha

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/gotp/gotp/nostrum"
)

// tracker follows, from the handler's side, each shard's session and committed sequence
// (the highest sequence such that it and every event started before it were handled), the
// same low-watermark nostrum's queue keeps. Events reach the handler in sequence order per
// shard (with Concurrency > 1 they start in order), so slots are appended in start order.
// A READY changes the shard's session once the watermark passes it: every event of the old
// session started before it.
type tracker struct {
	mu     sync.Mutex
	shards map[int]*shardTrack
	since  int // events handled since the last checkpoint was taken
	gen    uint64
	taken  uint64 // gen of the last checkpoint taken
}

type shardTrack struct {
	count     int
	session   string
	resumeURL string
	committed int64
	pending   []*slot
}

// slot is one event between the start and the end of its handler.
type slot struct {
	shard     int
	seq       int64
	done      bool
	session   string // set for READY: the session it starts
	resumeURL string
}

func newTracker() *tracker { return &tracker{shards: map[int]*shardTrack{}} }

// seed starts the tracker from the sessions a start resumes.
func (t *tracker) seed(infos []nostrum.ResumeInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ri := range infos {
		t.shards[ri.ShardID] = &shardTrack{count: ri.ShardCount, session: ri.SessionID,
			resumeURL: ri.ResumeURL, committed: ri.Seq}
	}
	t.gen++
}

// begin records that the handler starts on ev.
func (t *tracker) begin(ev nostrum.Event) *slot {
	s := &slot{shard: ev.Shard, seq: ev.Seq}
	if ev.Type == "READY" {
		var r struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
		}
		if json.Unmarshal([]byte(ev.Raw), &r) == nil && r.SessionID != "" {
			s.session, s.resumeURL = r.SessionID, r.ResumeURL
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shards[ev.Shard]
	if st == nil {
		st = &shardTrack{}
		t.shards[ev.Shard] = st
	}
	st.count = ev.ShardCount
	st.pending = append(st.pending, s)
	return s
}

// end records that the handler finished s; it returns the number of events handled since
// the last checkpoint.
func (t *tracker) end(s *slot) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.done = true
	st := t.shards[s.shard]
	n := 0
	for n < len(st.pending) && st.pending[n].done {
		p := st.pending[n]
		if p.session != "" {
			st.session, st.resumeURL = p.session, p.resumeURL
		}
		if p.seq != 0 {
			st.committed = p.seq
		}
		n++
	}
	if n > 0 {
		st.pending = append(st.pending[:0], st.pending[n:]...)
		t.gen++
	}
	t.since++
	return t.since
}

// infos returns the resume state of every shard that has a session, by shard id.
func (t *tracker) infos() []nostrum.ResumeInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.infosLocked()
}

func (t *tracker) infosLocked() []nostrum.ResumeInfo {
	out := make([]nostrum.ResumeInfo, 0, len(t.shards))
	for id, st := range t.shards {
		if st.session == "" || st.count < 1 {
			continue
		}
		out = append(out, nostrum.ResumeInfo{ShardID: id, ShardCount: st.count, SessionID: st.session,
			ResumeURL: st.resumeURL, Seq: st.committed})
	}
	slices.SortFunc(out, func(a, b nostrum.ResumeInfo) int { return a.ShardID - b.ShardID })
	return out
}

// take returns the state to checkpoint and true if it changed since the last take.
func (t *tracker) take() ([]nostrum.ResumeInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.since = 0
	if t.gen == t.taken {
		return nil, false
	}
	t.taken = t.gen
	return t.infosLocked(), true
}

// forget drops the state of a shard whose session is gone (SessionLost): until its next
// READY is handled there is nothing to resume.
func (t *tracker) forget(shard int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.shards[shard]; st != nil && st.session != "" {
		st.session, st.resumeURL = "", ""
		t.gen++
	}
}
