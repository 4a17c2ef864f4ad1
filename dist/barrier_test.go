package dist_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/dist/disttest"
)

func TestSyncNodesSuccess(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 3})
	err := c.Node(0).SyncNodes(ctxT(t, 40*time.Second), []dist.Node{c.Name(1)}, []dist.Node{c.Name(2)}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []dist.Node{c.Name(1), c.Name(2)} {
		if !slices.Contains(c.Node(0).Nodes(), n) {
			t.Fatalf("SyncNodes returned with %s not up", n)
		}
	}
}

// A listed node that starts during the wait, knowing nobody, is found through the port
// mapper: the barrier keeps retrying.
func TestSyncNodesFindsLateNode(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 1})
	late := dist.Node("late@127.0.0.1")
	started := make(chan *dist.Endpoint, 1)
	go func() {
		time.Sleep(700 * time.Millisecond) // starts after the barrier's first attempt
		ctx := ctxT(t, 10*time.Second)
		e, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: late, Kind: dist.LongNames, Cookie: "disttest-cookie",
			Profile: dist.ProfileTest, MapperPort: c.MapperPort(), Network: c.Net.For(50)})
		if err != nil {
			t.Error(err)
		}
		started <- e
	}()
	err := c.Node(0).SyncNodes(ctxT(t, 40*time.Second), []dist.Node{late}, nil, 30*time.Second)
	e := <-started
	if e != nil {
		defer e.Close(ctxT(t, 10*time.Second))
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestSyncNodesOptionalTimeout(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 2})
	start := time.Now()
	err := c.Node(0).SyncNodes(ctxT(t, 30*time.Second), []dist.Node{c.Name(1)}, []dist.Node{"ghost@127.0.0.1"}, 1500*time.Millisecond)
	if err != nil {
		t.Fatalf("optional node missing: %v, want nil", err)
	}
	if time.Since(start) < 1500*time.Millisecond {
		t.Fatal("SyncNodes returned before the timeout although an optional node was missing")
	}
	if !slices.Contains(c.Node(0).Nodes(), c.Name(1)) {
		t.Fatal("mandatory node not up after SyncNodes")
	}
}

func TestSyncNodesMandatoryMissing(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 2})
	ghosts := []dist.Node{"ghost@127.0.0.1", "phantom@127.0.0.1"}
	err := c.Node(0).SyncNodes(ctxT(t, 30*time.Second), append([]dist.Node{c.Name(1)}, ghosts...), nil, time.Second)
	if !errors.Is(err, dist.ErrMandatoryNodesDown) {
		t.Fatalf("err = %v, want ErrMandatoryNodesDown", err)
	}
	var me *dist.MandatoryNodesDownError
	if !errors.As(err, &me) || !slices.Equal(me.Nodes, ghosts) {
		t.Fatalf("err = %#v, want the nodes %v", err, ghosts)
	}
	if want := "mandatory nodes down: ghost@127.0.0.1, phantom@127.0.0.1"; err.Error() != want {
		t.Fatalf("error text %q, want %q", err.Error(), want)
	}
}

func TestSyncNodesEmptyAndBadNames(t *testing.T) {
	c := disttest.NewCluster(t, disttest.Options{N: 1})
	if err := c.Node(0).SyncNodes(ctxT(t, 5*time.Second), nil, nil, -1); err != nil {
		t.Fatalf("empty lists: %v", err)
	}
	err := c.Node(0).SyncNodes(ctxT(t, 5*time.Second), []dist.Node{"no-at-sign"}, nil, time.Second)
	if !errors.Is(err, dist.ErrBadNodeName) || !strings.Contains(err.Error(), "no-at-sign") {
		t.Fatalf("bad name: %v", err)
	}
}
