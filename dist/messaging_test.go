package dist_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

func TestRequestReply(t *testing.T) {
	c := converged(t, 3)
	c.Node(1).Handle("echo", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		if from.Node != c.Name(0) || from.BootID != c.Node(0).BootID() || from.Hidden {
			return nil, fmt.Errorf("unexpected sender %+v", from)
		}
		return append([]byte("echo:"), p...), nil
	})
	c.Node(1).Handle("fail", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		return nil, errors.New("it broke")
	})
	c.Node(1).Handle("panic", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		panic("boom")
	})
	c.Node(1).Handle("slow", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("handler context has no deadline")
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx := ctxT(t, 20*time.Second)
	out, err := c.Node(0).Request(ctx, c.Name(1), "echo", []byte("hi"))
	if err != nil || string(out) != "echo:hi" {
		t.Fatalf("Request = %q, %v", out, err)
	}
	var re *dist.RemoteError
	if _, err := c.Node(0).Request(ctx, c.Name(1), "fail", nil); !errors.As(err, &re) || re.Message != "it broke" {
		t.Fatalf("remote error = %v", err)
	}
	if _, err := c.Node(0).Request(ctx, c.Name(1), "panic", nil); !errors.As(err, &re) || !strings.Contains(re.Message, "boom") {
		t.Fatalf("panicking handler: %v", err)
	}
	if _, err := c.Node(0).Request(ctx, c.Name(1), "nobody", nil); !errors.As(err, &re) || !strings.Contains(re.Message, "no handler") {
		t.Fatalf("missing handler: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Node(0).Request(short, c.Name(1), "slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow request: %v, want deadline exceeded", err)
	}
	// The node still serves after all that; node 2's request reaches the handler, which
	// refuses the unexpected sender.
	if _, err := c.Node(2).Request(ctx, c.Name(1), "echo", []byte("x")); !errors.As(err, &re) || !strings.Contains(re.Message, "unexpected sender") {
		t.Fatalf("request from node 2: %v", err)
	}
	if out, err := c.Node(0).Request(ctx, c.Name(1), "echo", []byte("again")); err != nil || string(out) != "echo:again" {
		t.Fatalf("Request after failures = %q, %v", out, err)
	}
}

func TestConcurrentRequests(t *testing.T) {
	c := converged(t, 2)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(8)
	c.Node(1).Handle("block", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		started.Done()
		<-release
		return p, nil
	})
	ctx := ctxT(t, 20*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.Node(0).Request(ctx, c.Name(1), "block", []byte{byte(i)})
			if err == nil && (len(out) != 1 || out[0] != byte(i)) {
				err = fmt.Errorf("request %d got %v", i, out)
			}
			errs <- err
		}()
	}
	started.Wait() // all 8 handlers run at the same time
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSendOrderedPerPeer(t *testing.T) {
	c := converged(t, 3)
	const n = 500
	var mu sync.Mutex
	got := map[dist.Node][]int{}
	done := make(chan struct{})
	c.Node(2).Handle("seq", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		var v int
		fmt.Sscan(string(p), &v)
		mu.Lock()
		got[from.Node] = append(got[from.Node], v)
		if len(got[c.Name(0)]) == n && len(got[c.Name(1)]) == n {
			close(done)
		}
		mu.Unlock()
		return nil, nil
	})
	ctx := ctxT(t, 30*time.Second)
	var wg sync.WaitGroup
	for _, s := range []int{0, 1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := c.Node(s).Send(ctx, c.Name(2), "seq", []byte(fmt.Sprint(i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("not all messages arrived")
	}
	mu.Lock()
	defer mu.Unlock()
	for node, seq := range got {
		for i, v := range seq {
			if v != i {
				t.Fatalf("from %s message %d is %d: out of order", node, i, v)
			}
		}
	}
}

// Every Send that arrived before the sender's link closed is handled before its nodedown.
func TestSendsHandledBeforeNodedown(t *testing.T) {
	c := converged(t, 2)
	var mu sync.Mutex
	handled := 0
	c.Node(0).Handle("m", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		time.Sleep(time.Millisecond) // slow handler: the queue is still full when the link drops
		mu.Lock()
		handled++
		mu.Unlock()
		return nil, nil
	})
	_, ev, cancel := c.Node(0).Monitor()
	defer cancel()
	ctx := ctxT(t, 20*time.Second)
	const n = 200
	for i := range n {
		if err := c.Node(1).Send(ctx, c.Name(0), "m", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A request after the sends returns once node 0 has read every earlier frame.
	c.Node(0).Handle("sync", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return nil, nil })
	if _, err := c.Node(1).Request(ctx, c.Name(0), "sync", nil); err != nil {
		t.Fatal(err)
	}
	c.Kill(1)
	waitEvent(t, ev, 20*time.Second, isDown(c.Name(1)))
	mu.Lock()
	defer mu.Unlock()
	if handled != n {
		t.Fatalf("nodedown published after %d of %d sends were handled", handled, n)
	}
}

func TestSendToUnknownNode(t *testing.T) {
	c := converged(t, 2)
	ctx := ctxT(t, 10*time.Second)
	err := c.Node(0).Send(ctx, "ghost@127.0.0.1", "x", nil)
	if !errors.Is(err, dist.ErrUnreachable) {
		t.Fatalf("Send to unknown node: %v, want ErrUnreachable", err)
	}
}

// Garbage on the node's port closes that connection, never the node.
func TestGarbageOnThePort(t *testing.T) {
	c := converged(t, 2)
	c.Node(1).Handle("echo", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) { return p, nil })
	for _, junk := range [][]byte{
		[]byte("L\x00\x00\x00\x05hello"),
		[]byte("L\xff\xff\xff\xff"),
		[]byte("M\x00garbage-for-memberlist"),
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		{},
	} {
		conn, err := net.Dial("tcp", c.Node(1).Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(junk)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, conn) // the node closes it (or its deadline does)
		conn.Close()
	}
	ctx := ctxT(t, 20*time.Second)
	if out, err := c.Node(0).Request(ctx, c.Name(1), "echo", []byte("still here")); err != nil || string(out) != "still here" {
		t.Fatalf("after garbage: %q, %v", out, err)
	}
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
}
