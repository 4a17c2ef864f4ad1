package hatest

import (
	"testing"
	"time"
)

func TestCompute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	handled := []Handled{
		{Node: "a", MessageID: "1", At: at(0)},
		{Node: "a", MessageID: "2", At: at(5)},
		{Node: "b", MessageID: "2", At: at(45)}, // replayed after a failover
		{Node: "b", MessageID: "3", At: at(50)},
		{Node: "b", MessageID: "9", At: at(51)}, // not posted in this window: ignored
		{Node: "b", MessageID: "5", At: at(160)},
	}
	anchor := &Handled{Node: "a", MessageID: "0", At: at(-10)}
	f := Compute("a", "b", []string{"1", "2", "3", "4", "5"}, handled, anchor, []string{"1", "2", "2", "3", "5", "7"})
	want := Figures{Injected: 5, Handled: 5, Lost: 1, HandledTwice: 1, Replies: 5, DuplicateReplies: 1,
		Gap: 40 * time.Millisecond, Stall: 109 * time.Millisecond}
	if f != want {
		t.Fatalf("Compute = %+v\nwant      %+v", f, want)
	}
	if f := Compute("a", "b", nil, nil, nil, nil); f != (Figures{}) {
		t.Fatalf("empty Compute = %+v", f)
	}
}
