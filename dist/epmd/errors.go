package epmd

import (
	"errors"
	"fmt"
)

var (
	// ErrNotRegistered reports that the port mapper knows no node by the name asked for
	// (PORT2_RESP with a non-zero result).
	ErrNotRegistered = errors.New("epmd: name not registered")

	// ErrRefused reports that the port mapper refused a registration (ALIVE2 response with a
	// non-zero result): the name is taken by a live node, or the mapper found it invalid.
	ErrRefused = errors.New("epmd: registration refused")

	// ErrMalformed reports bytes that are not a valid EPMD message. Decoders wrap it in a
	// *MalformedError that says what is wrong.
	ErrMalformed = errors.New("epmd: malformed message")

	// ErrInvalidRegistration reports a Registration that cannot be sent (empty or too long
	// name, port 0, versions out of order, extra too long).
	ErrInvalidRegistration = errors.New("epmd: invalid registration")

	// ErrInvalidConfig reports a ServerConfig or KeepConfig that fails Validate.
	ErrInvalidConfig = errors.New("epmd: invalid config")

	// ErrLost reports that the connection holding a registration was lost, so the mapper
	// has freed the name (Lease.Err).
	ErrLost = errors.New("epmd: registration connection lost")

	// ErrClosed reports an operation on a Server, Lease or Keeper that is closed.
	ErrClosed = errors.New("epmd: closed")
)

// MalformedError says why bytes are not a valid EPMD message. It matches ErrMalformed.
type MalformedError struct {
	Message string // the message being decoded, e.g. "ALIVE2_REQ"
	Reason  string // what is wrong with it
}

// Error says which message is malformed and why.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("epmd: malformed %s: %s", e.Message, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(msg, format string, args ...any) error {
	return &MalformedError{Message: msg, Reason: fmt.Sprintf(format, args...)}
}

// RefusedError is the detail of a refused registration. It matches ErrRefused.
type RefusedError struct {
	Name   string // the name that was refused
	Result uint8  // the mapper's result code (real epmd answers 1)
}

// Error names the refused node.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("epmd: registration of %q refused (result %d): name in use or invalid", e.Name, e.Result)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }
