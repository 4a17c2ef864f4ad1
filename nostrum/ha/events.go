package ha

import (
	"fmt"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
)

// Event is something the adapter did, for logs, metrics and tests. The set is closed.
type Event interface {
	isEvent()
	String() string
}

// Started reports an instance's start: Resuming lists the sessions its shards RESUME (empty
// when they IDENTIFY).
type Started struct {
	Type     app.StartType
	Resuming []nostrum.ResumeInfo
}

// SessionLost reports that a session could not be carried over: the shard IDENTIFYs afresh
// and the events after LastSeq that no instance handled are lost. Shard is -1 when a
// failover found no usable checkpoint (every shard identifies).
type SessionLost struct {
	Shard   int
	LastSeq int64
	Reason  string
}

// HandedOff reports that this instance detached its shards for the instance taking over.
type HandedOff struct {
	To     dist.Node
	Shards []nostrum.ResumeInfo
}

// HandoffAborted reports that a takeover from this instance failed and its shards resume
// their sessions here.
type HandoffAborted struct {
	Shards []nostrum.ResumeInfo
}

// Checkpointed reports a checkpoint handed to the controller for replication (logged at
// debug level: it happens every CheckpointInterval while events flow).
type Checkpointed struct {
	Shards []nostrum.ResumeInfo
}

// Stopped reports how an instance stopped: Closed when its sessions were ended (close
// 1000), else they were detached and stay resumable.
type Stopped struct {
	Reason string
	Closed bool
}

func (Started) isEvent()        {}
func (SessionLost) isEvent()    {}
func (HandedOff) isEvent()      {}
func (HandoffAborted) isEvent() {}
func (Stopped) isEvent()        {}
func (Checkpointed) isEvent()   {}

// String describes the event.
func (e Started) String() string {
	return fmt.Sprintf("started %s, resuming %d shard(s)", e.Type, len(e.Resuming))
}

// String describes the event.
func (e SessionLost) String() string {
	return fmt.Sprintf("shard %d lost its session after seq %d: %s", e.Shard, e.LastSeq, e.Reason)
}

// String describes the event.
func (e HandedOff) String() string {
	return fmt.Sprintf("handed %d shard(s) off to %s", len(e.Shards), e.To)
}

// String describes the event.
func (e HandoffAborted) String() string {
	return fmt.Sprintf("handoff aborted; resuming %d shard(s)", len(e.Shards))
}

// String describes the event.
func (e Checkpointed) String() string {
	return fmt.Sprintf("checkpointed %d shard(s)", len(e.Shards))
}

// String describes the event.
func (e Stopped) String() string {
	if e.Closed {
		return "stopped (" + e.Reason + "), sessions ended"
	}
	return "stopped (" + e.Reason + "), sessions detached"
}
