package app

import (
	"context"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/gotp/gotp/app/apptest"
	"github.com/gotp/gotp/dist"
)

// Controllers leave no goroutine behind after Shutdown and Halt.
func TestNoGoroutineLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	net := apptest.New()
	defer net.Close()
	r := newRecorder()
	d := []Distributed{{App: "app1", Timeout: 10 * time.Millisecond, Nodes: [][]dist.Node{{"a@h"}, {"b@h"}}}}
	var ctls []*Controller
	for _, n := range []dist.Node{"a@h", "b@h"} {
		ep, err := net.Add(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(Config{Network: ep, Distributed: d, Logger: newCluster(t, Config{}).log})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Load(Spec{Name: "app1", App: &testApp{node: n, name: "app1", r: r}}); err != nil {
			t.Fatal(err)
		}
		ctls = append(ctls, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	errs := make(chan error, 2)
	for _, c := range ctls {
		go func() { errs <- c.Start(ctx, "app1", Permanent) }()
	}
	for range ctls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r.expect(t, 0, "a app1 start normal@1")
	if err := ctls[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	r.expect(t, 1, "a app1 prep_stop shutdown", "a app1 stop shutdown")
	net.Kill("a@h")
	r.expect(t, 3, "b app1 start {failover,a}@2")
	ctls[1].Halt()
	net.Close()
}

// FuzzDecodeMsgs: a malformed peer message is an error, never a panic.
func FuzzDecodeMsgs(f *testing.F) {
	st := appStatus{App: "a", Nodes: [][]dist.Node{{"x@h"}}, Started: true, Running: true, Epoch: 3, IEpoch: 3}
	for _, m := range []wireMsg{{Status: &st}, {IsHello: true, Hello: []appStatus{st}}, {Weight: &weightMsg{App: "a", Weight: 2}},
		{Checkpoint: &checkpointMsg{App: "a", Data: []byte("x")}}, {Ping: 7}} {
		b, _ := encodeMsg(m)
		f.Add(b)
	}
	b, _ := encodeMsgs([]wireMsg{{Ping: 1}, {Status: &st}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := decodeMsgs(b)
		if err != nil {
			return
		}
		c := newCore("self@h", Infinity)
		c.configure(&Distributed{App: "a", Nodes: [][]dist.Node{{"x@h"}, {"self@h"}}}, true)
		for _, m := range ms {
			c.step(time.Unix(0, 0), evPeer{From: "x@h", Msg: m})
		}
	})
}

// FuzzControlRequest: a malformed control request is an error, never a panic.
func FuzzControlRequest(f *testing.F) {
	for _, r := range []ControlRequest{{Op: "where", App: "a"}, {Op: "takeover", App: "a", RestartType: "permanent"}} {
		b, _ := msgpack.Marshal(&r)
		f.Add(b)
	}
	c, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Halt)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = c.serveControl(context.Background(), dist.Peer{Node: "x@h", Hidden: true}, b)
		_, _ = c.serveHandoff(context.Background(), dist.Peer{Node: "x@h"}, b)
	})
}
