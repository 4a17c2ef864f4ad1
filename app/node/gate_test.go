package node

import (
	"context"
	"fmt"
	"testing"

	"github.com/gotp/gotp/dist"
)

// Messages that arrive before the controller registers are handed to it in order, first.
func TestPeerGateKeepsEarlyMessagesInOrder(t *testing.T) {
	t.Parallel()
	g := &peerGate{}
	from := dist.Peer{Node: "a@h"}
	for i := range 3 {
		if _, err := g.serve(context.Background(), from, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	g.set(func(_ context.Context, p dist.Peer, b []byte) ([]byte, error) {
		if p != from {
			t.Errorf("peer %v", p)
		}
		got = append(got, b...)
		return nil, nil
	})
	if _, err := g.serve(context.Background(), from, []byte{3}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("handled %v, want [0 1 2 3]", got)
	}
}
