package ha

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/nostrum"
)

func ev(seq int64, typ, raw string) nostrum.Event {
	return nostrum.Event{Shard: 0, ShardCount: 2, Seq: seq, Type: typ, Raw: raw}
}

func only(t *testing.T, tr *tracker) nostrum.ResumeInfo {
	t.Helper()
	infos := tr.infos()
	if len(infos) != 1 {
		t.Fatalf("infos = %+v, want one shard", infos)
	}
	return infos[0]
}

// The committed sequence is a low-watermark: an event finishing before an earlier one does
// not move it past the earlier one.
func TestTrackerWatermark(t *testing.T) {
	tr := newTracker()
	tr.seed([]nostrum.ResumeInfo{{ShardID: 0, ShardCount: 2, SessionID: "s1", ResumeURL: "ws://r", Seq: 10}})
	s11, s12, s13 := tr.begin(ev(11, "MESSAGE_CREATE", "{}")), tr.begin(ev(12, "MESSAGE_CREATE", "{}")), tr.begin(ev(13, "X", "{}"))
	tr.end(s12)
	if got := only(t, tr).Seq; got != 10 {
		t.Fatalf("committed %d after 12 finished before 11, want 10", got)
	}
	tr.end(s11)
	if got := only(t, tr).Seq; got != 12 {
		t.Fatalf("committed %d, want 12", got)
	}
	if n := tr.end(s13); n != 3 {
		t.Fatalf("events since the last checkpoint = %d, want 3", n)
	}
	want := nostrum.ResumeInfo{ShardID: 0, ShardCount: 2, SessionID: "s1", ResumeURL: "ws://r", Seq: 13}
	if got := only(t, tr); got != want {
		t.Fatalf("info %+v, want %+v", got, want)
	}
}

// A READY switches the session once every event started before it has finished; a lost
// session is not checkpointed until then.
func TestTrackerNewSession(t *testing.T) {
	tr := newTracker()
	tr.seed([]nostrum.ResumeInfo{{ShardID: 0, ShardCount: 2, SessionID: "s1", ResumeURL: "ws://r1", Seq: 10}})
	old := tr.begin(ev(11, "MESSAGE_CREATE", "{}"))
	tr.forget(0)
	if infos := tr.infos(); len(infos) != 0 {
		t.Fatalf("a lost session is still resumable: %+v", infos)
	}
	ready := tr.begin(ev(1, "READY", `{"v":10,"session_id":"s2","resume_gateway_url":"ws://r2"}`))
	tr.end(ready)
	if infos := tr.infos(); len(infos) != 0 {
		t.Fatalf("the new session counts before the old events finished: %+v", infos)
	}
	tr.end(old)
	want := nostrum.ResumeInfo{ShardID: 0, ShardCount: 2, SessionID: "s2", ResumeURL: "ws://r2", Seq: 1}
	if got := only(t, tr); got != want {
		t.Fatalf("info %+v, want %+v", got, want)
	}
}

// take reports a change only once, and resets the event count.
func TestTrackerTake(t *testing.T) {
	tr := newTracker()
	if _, changed := tr.take(); changed {
		t.Fatal("an empty tracker changed")
	}
	tr.seed([]nostrum.ResumeInfo{{ShardID: 1, ShardCount: 2, SessionID: "s", Seq: 5}})
	infos, changed := tr.take()
	if !changed || len(infos) != 1 || infos[0].Seq != 5 {
		t.Fatalf("take = %+v %v", infos, changed)
	}
	if _, changed := tr.take(); changed {
		t.Fatal("unchanged state taken twice")
	}
	s := tr.begin(nostrum.Event{Shard: 1, ShardCount: 2, Seq: 6, Type: "X"})
	if n := tr.end(s); n != 1 {
		t.Fatalf("events since take = %d", n)
	}
	if infos, changed := tr.take(); !changed || infos[0].Seq != 6 {
		t.Fatalf("take = %+v %v", infos, changed)
	}
}

func TestWireRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123)
	shards := []nostrum.ResumeInfo{
		{ShardID: 0, ShardCount: 2, SessionID: "a", ResumeURL: "ws://r", Seq: 7},
		{ShardID: 1, ShardCount: 2, SessionID: "b", ResumeURL: "ws://r", Seq: 9},
	}
	b, err := EncodeHandoff(Handoff{Shards: shards, Cache: []byte{1, 2, 3}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHandoff(b)
	if err != nil || !slices.Equal(h.Shards, shards) || !slices.Equal(h.Cache, []byte{1, 2, 3}) || !h.At.Equal(at) {
		t.Fatalf("handoff round trip: %+v %v", h, err)
	}
	b, err = EncodeCheckpoint(Checkpoint{Shards: shards[:1], At: at})
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCheckpoint(b)
	if err != nil || !slices.Equal(c.Shards, shards[:1]) || !c.At.Equal(at) {
		t.Fatalf("checkpoint round trip: %+v %v", c, err)
	}
	// A shard without a session (between a lost session and its READY) is left out.
	b, err = EncodeCheckpoint(Checkpoint{Shards: []nostrum.ResumeInfo{shards[0], {ShardID: 1, ShardCount: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := DecodeCheckpoint(b); err != nil || !slices.Equal(c.Shards, shards[:1]) {
		t.Fatalf("checkpoint with a sessionless shard: %+v %v", c, err)
	}
}

// Malformed state is an error wrapping ErrBadState, never a panic.
func TestWireRejectsBadState(t *testing.T) {
	good, _ := nostrum.EncodeResumeInfos([]nostrum.ResumeInfo{{ShardID: 0, ShardCount: 1, SessionID: "s"}})
	noSession, _ := nostrum.EncodeResumeInfos([]nostrum.ResumeInfo{{ShardID: 0, ShardCount: 1}})
	badShard, _ := msgpack.Marshal([]nostrum.ResumeInfo{{ShardID: 3, ShardCount: 1, SessionID: "s"}})
	mk := func(s state) []byte { b, _ := msgpack.Marshal(&s); return b }
	cases := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("not msgpack at all"),
		"wrong version":  mk(state{V: 99, Shards: good}),
		"no session":     mk(state{V: wireVersion, Shards: noSession}),
		"shard of range": mk(state{V: wireVersion, Shards: badShard}),
		"shards garbage": mk(state{V: wireVersion, Shards: []byte{0xc1}}),
		// bin32 claiming 1.4 GB: refused before the decoder allocates it.
		"huge length":        []byte("\x84\xc6X00000\xc40"),
		"huge array":         {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge shards length": mk(state{V: wireVersion, Shards: []byte{0xdb, 0x7f, 0xff, 0xff, 0xff}}),
		"trailing bytes":     append(mk(state{V: wireVersion, Shards: good}), 0),
	}
	for name, b := range cases {
		if _, err := DecodeCheckpoint(b); !errors.Is(err, ErrBadState) {
			t.Errorf("%s: err = %v, want ErrBadState", name, err)
		}
		if _, err := DecodeHandoff(b); !errors.Is(err, ErrBadState) {
			t.Errorf("%s: handoff err = %v, want ErrBadState", name, err)
		}
	}
}

func FuzzDecodeHandoff(f *testing.F) {
	b, _ := EncodeHandoff(Handoff{Shards: []nostrum.ResumeInfo{{ShardID: 0, ShardCount: 1, SessionID: "s", Seq: 3}}, Cache: []byte{9}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHandoff(b)
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("error %v does not wrap ErrBadState", err)
			}
			return
		}
		again, err := EncodeHandoff(h)
		if err != nil {
			t.Fatalf("a decoded handoff does not encode: %v", err)
		}
		if _, err := DecodeHandoff(again); err != nil {
			t.Fatalf("a re-encoded handoff does not decode: %v", err)
		}
	})
}
