package gateway

import (
	"fmt"
	"time"
)

// Event is a lifecycle event of a session, for logs, metrics and tests. The set is closed.
type Event interface {
	isEvent()
	String() string
}

// Hello reports the heartbeat interval and the jittered delay before the first beat.
type Hello struct {
	Shard     int
	Interval  time.Duration
	FirstBeat time.Duration
}

// Connected reports a new connection and whether it will RESUME or IDENTIFY.
type Connected struct {
	Shard  int
	URL    string
	Resume bool
}

// Ready reports a new session (READY).
type Ready struct {
	Shard     int
	SessionID string
	ResumeURL string
}

// Resumed reports a successful RESUME.
type Resumed struct {
	Shard int
	From  int64 // the sequence the RESUME asked for
}

// SessionLost reports that a session could not be resumed; the shard IDENTIFYs afresh and
// events after LastSeq are lost.
type SessionLost struct {
	Shard   int
	LastSeq int64
	Reason  string
}

// Disconnected reports a connection that ended and why; Code is the close code, if any.
type Disconnected struct {
	Shard  int
	Reason string
	Code   int
}

func (Hello) isEvent()        {}
func (Connected) isEvent()    {}
func (Ready) isEvent()        {}
func (Resumed) isEvent()      {}
func (SessionLost) isEvent()  {}
func (Disconnected) isEvent() {}

// String describes the event.
func (e Hello) String() string {
	return fmt.Sprintf("shard %d hello: interval %v, first beat in %v", e.Shard, e.Interval, e.FirstBeat)
}

// String describes the event.
func (e Connected) String() string {
	return fmt.Sprintf("shard %d connected to %s (resume %v)", e.Shard, e.URL, e.Resume)
}

// String describes the event.
func (e Ready) String() string {
	return fmt.Sprintf("shard %d ready, session %s", e.Shard, e.SessionID)
}

// String describes the event.
func (e Resumed) String() string {
	return fmt.Sprintf("shard %d resumed from seq %d", e.Shard, e.From)
}

// String describes the event.
func (e SessionLost) String() string {
	return fmt.Sprintf("shard %d lost its session after seq %d: %s", e.Shard, e.LastSeq, e.Reason)
}

// String describes the event.
func (e Disconnected) String() string {
	return fmt.Sprintf("shard %d disconnected: %s (code %d)", e.Shard, e.Reason, e.Code)
}
