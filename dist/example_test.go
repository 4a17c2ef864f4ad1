package dist_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gotp/gotp/dist"
)

// Start a node, serve a request, watch peers come and go, and leave gracefully.
func ExampleStart() {
	ctx := context.Background()
	e, err := dist.Start(ctx, dist.Config{
		Name:    "joe@10.0.0.1",
		Kind:    dist.LongNames,
		Cookie:  "secret",                  // "" reads $HOME/.erlang.cookie
		Seeds:   []string{"10.0.0.2:9100"}, // or let the port mapper find named nodes
		PortMin: 9100, PortMax: 9105,       // inet_dist_listen_min/max
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close(ctx) // peers see nodedown reason "left"
	e.Handle("hello", func(ctx context.Context, from dist.Peer, p []byte) ([]byte, error) {
		return []byte("hello " + string(from.Node)), nil
	})
	if err := e.SyncNodes(ctx, []dist.Node{"mike@10.0.0.2"}, nil, 30*time.Second); err != nil {
		fmt.Println(err) // mandatory nodes down: mike@10.0.0.2
		return
	}
	up, events, cancel := e.Monitor()
	defer cancel()
	fmt.Println("up:", up)
	for ev := range events {
		fmt.Println(ev.Node, ev.Up, ev.Reason)
	}
}
