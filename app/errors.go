package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gotp/gotp/dist"
)

// otpError is a sentinel carrying the name OTP gives the case.
type otpError struct{ name string }

func (e *otpError) Error() string   { return strings.ReplaceAll(e.name, "_", " ") }
func (e *otpError) OTPName() string { return e.name }

// Sentinel errors, one per OTP error case; match them with errors.Is. OTPName(err) returns
// OTP's name for the case (for JSON output such as {"error":"already_running_locally"}).
var (
	ErrAlreadyRunningLocally = &otpError{"already_running_locally"}
	ErrNotRunningDistributed = &otpError{"not_running_distributed"}
	ErrInvalidRestartType    = &otpError{"invalid_restart_type"}
	ErrNotLoaded             = &otpError{"not_loaded"}
	ErrAlreadyLoaded         = &otpError{"already_loaded"}
	ErrAlreadyStarted        = &otpError{"already_started"}
	ErrNotStarted            = &otpError{"not_started"}
	ErrNotRunning            = &otpError{"not_running"}
	ErrRunning               = &otpError{"running"}
	ErrStopped               = &otpError{"stopped"}
	ErrAppNotLoaded          = &otpError{"app_not_loaded"}
	ErrDistributionMismatch  = &otpError{"distribution_mismatch"}
	ErrNodeDown              = &otpError{"nodedown"}
	ErrStartFailed           = &otpError{"start_failed"}
	ErrShutdown              = &otpError{"shutdown"}
	ErrNoController          = &otpError{"no_controller"}
	ErrBadSpec               = &otpError{"bad_application_spec"}
)

// OTPName returns OTP's name for the error case of err ("already_running_locally", …), or ""
// when err carries none.
func OTPName(err error) string {
	var n interface{ OTPName() string }
	if errors.As(err, &n) {
		return n.OTPName()
	}
	return ""
}

// Error is an error about one application: Err is a sentinel above (errors.Is matches it),
// App the application at fault, Node the node concerned (if any) and Cause a wrapped cause.
type Error struct {
	Err   error
	App   string
	Node  dist.Node
	Cause error
}

// Error returns the message: the application, what failed, and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("application ")
	b.WriteString(e.App)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Node != "" {
		b.WriteString(" on ")
		b.WriteString(string(e.Node))
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// OTPName returns the sentinel's OTP name.
func (e *Error) OTPName() string { return OTPName(e.Err) }

func appErr(sentinel error, app string) error { return &Error{Err: sentinel, App: app} }

// InvalidRestartTypeError reports a restart type that is not permanent, transient or
// temporary; it matches ErrInvalidRestartType.
type InvalidRestartTypeError struct{ Value any }

// Error names the invalid restart type.
func (e *InvalidRestartTypeError) Error() string {
	return fmt.Sprintf("invalid restart type %v", e.Value)
}

// Is matches ErrInvalidRestartType.
func (e *InvalidRestartTypeError) Is(target error) bool { return target == ErrInvalidRestartType }

// OTPName returns "invalid_restart_type".
func (e *InvalidRestartTypeError) OTPName() string { return ErrInvalidRestartType.name }
