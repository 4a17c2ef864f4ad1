package gateway

import (
	"errors"
	"fmt"

	"github.com/gotp/gotp/supervisor"
)

// CloseAction is what a session does after the gateway closed the connection with a code.
type CloseAction int

const (
	// ActionResume reconnects to the resume URL and sends RESUME.
	ActionResume CloseAction = iota
	// ActionReidentify drops the session and IDENTIFYs afresh on the base URL.
	ActionReidentify
	// ActionFatal stops the shard for good: retrying cannot help (bad token, bad shard, intents).
	ActionFatal
)

// String names the action.
func (a CloseAction) String() string {
	switch a {
	case ActionResume:
		return "resume"
	case ActionReidentify:
		return "reidentify"
	case ActionFatal:
		return "fatal"
	}
	return fmt.Sprintf("CloseAction(%d)", int(a))
}

// closeReasons are Discord's gateway close codes (opcodes-and-status-codes).
var closeReasons = map[int]string{
	4000: "unknown error", 4001: "unknown opcode", 4002: "decode error",
	4003: "not authenticated", 4004: "authentication failed", 4005: "already authenticated",
	4007: "invalid seq", 4008: "rate limited", 4009: "session timed out",
	4010: "invalid shard", 4011: "sharding required", 4012: "invalid API version",
	4013: "invalid intents", 4014: "disallowed intents",
}

// ClassifyClose sorts a close code sent by the gateway into what to do next. Codes the
// table does not know (including 1000/1001 sent by the server) are resumable: a failed
// RESUME comes back as op 9 and turns into an IDENTIFY.
func ClassifyClose(code int) CloseAction {
	switch code {
	case 4007, 4009:
		return ActionReidentify
	case 4004, 4010, 4011, 4012, 4013, 4014:
		return ActionFatal
	}
	return ActionResume
}

// ErrFatalClose is matched by the error of a shard stopped by a fatal close code.
var ErrFatalClose = errors.New("fatal gateway close code")

// CloseError is the exit error of a shard the gateway closed with a fatal code. It matches
// ErrFatalClose and supervisor.ErrDoNotRestart: retrying would only loop.
type CloseError struct {
	Shard int
	Code  int
}

// Error names the shard, the code and its meaning.
func (e *CloseError) Error() string {
	reason := closeReasons[e.Code]
	if reason == "" {
		reason = "unknown"
	}
	return fmt.Sprintf("gateway: shard %d closed with fatal code %d (%s)", e.Shard, e.Code, reason)
}

// Unwrap returns ErrFatalClose and supervisor.ErrDoNotRestart.
func (e *CloseError) Unwrap() []error { return []error{ErrFatalClose, supervisor.ErrDoNotRestart} }
