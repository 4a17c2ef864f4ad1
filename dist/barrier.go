package dist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ErrMandatoryNodesDown is matched (errors.Is) when SyncNodes ends with mandatory nodes down.
var ErrMandatoryNodesDown = errors.New("mandatory nodes down")

// MandatoryNodesDownError names the mandatory nodes SyncNodes did not see up.
type MandatoryNodesDownError struct {
	Nodes []Node
}

// Error names the mandatory nodes that did not come up.
func (e *MandatoryNodesDownError) Error() string {
	names := make([]string, len(e.Nodes))
	for i, n := range e.Nodes {
		names[i] = string(n)
	}
	return "mandatory nodes down: " + strings.Join(names, ", ")
}

// Is makes errors.Is(err, ErrMandatoryNodesDown) true.
func (e *MandatoryNodesDownError) Is(target error) bool { return target == ErrMandatoryNodesDown }

// SyncNodes is the boot barrier (kernel sync_nodes_mandatory, sync_nodes_optional,
// sync_nodes_timeout): it waits until every listed node is up, or until timeout (< 0: no
// limit); during the wait it keeps connecting to the listed nodes it does not see (OTP pings
// once). It returns nil when all mandatory nodes are up at the end, else a
// *MandatoryNodesDownError naming the missing ones. ctx cancels the wait.
func (e *Endpoint) SyncNodes(ctx context.Context, mandatory, optional []Node, timeout time.Duration) error {
	all := append(append([]Node{}, mandatory...), optional...)
	for _, n := range all {
		if _, err := ParseNode(string(n)); err != nil {
			return err
		}
	}
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	up, events, cancel := e.Monitor()
	defer cancel()
	isUp := map[Node]bool{e.self: true}
	for _, n := range up {
		isUp[n] = true
	}
	retry := time.NewTicker(e.tm.rejoinMin)
	defer retry.Stop()
	// Connection attempts end with the barrier.
	actx, stopAttempts := context.WithCancel(ctx)
	var attempts sync.WaitGroup
	defer attempts.Wait()
	defer stopAttempts()
	connect := func() {
		for _, n := range all {
			if !isUp[n] {
				attempts.Add(1)
				go func() {
					defer attempts.Done()
					cctx, cc := context.WithTimeout(actx, e.tm.linkTimeout)
					defer cc()
					_ = e.Connect(cctx, n)
				}()
			}
		}
	}
	connect()
	for {
		missing := 0
		for _, n := range all {
			if !isUp[n] {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case ev, ok := <-events:
			if !ok {
				return ErrClosed
			}
			isUp[ev.Node] = ev.Up
		case <-retry.C:
			connect()
		case <-expire:
			var down []Node
			for _, n := range mandatory {
				if !isUp[n] {
					down = append(down, n)
				}
			}
			if len(down) > 0 {
				return &MandatoryNodesDownError{Nodes: down}
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("sync nodes: %w", ctx.Err())
		}
	}
}
