package kernelcfg

import (
	"errors"
	"fmt"
	"strconv"
)

// Kinds of configuration error. Every error returned by this package is an *Error whose Kind is
// one of these sentinels, so callers can test `errors.Is(err, kernelcfg.ErrSyntax)`.
var (
	// ErrRead: a config file (or an included file) could not be read.
	ErrRead = errors.New("config file unreadable")
	// ErrSyntax: the text is not one Erlang term ended by a dot (lexical or grammar error,
	// missing dot, trailing terms, bad encoding).
	ErrSyntax = errors.New("config syntax error")
	// ErrStructure: the term is not a list of {App, [{Par, Val}]} as OTP demands.
	ErrStructure = errors.New("invalid config structure")
	// ErrDuplicate: an application or a parameter appears twice where OTP 25 refuses it.
	ErrDuplicate = errors.New("duplicate config entry")
	// ErrInclude: an include where none is allowed, a nested include, or a missing include.
	ErrInclude = errors.New("invalid config include")
	// ErrValue: a parameter has a value of the wrong type or range (kernel, gotp, or a typed
	// accessor on another application's env).
	ErrValue = errors.New("invalid config value")
	// ErrUsage: a bad argument to Load (no files, a malformed override).
	ErrUsage = errors.New("invalid config request")
)

// Error is the one error type of this package. Content errors print as
// "FILE:LINE:COL: MSG"; errors about a whole file (unreadable) print as "FILE: MSG".
type Error struct {
	File string // the file as named by the caller (with the forced .config suffix), or an override label
	Line int    // 1-based line; 0 when the error is about the whole file
	Col  int    // 1-based column in code points (a tab counts one); 0 with Line 0
	Msg  string // what was found, what was expected
	Kind error  // one of the Err* sentinels
	Err  error  // underlying cause (e.g. an *fs.PathError), may be nil
}

// Error returns the one-line form "FILE:LINE:COL: MSG" (or "FILE: MSG").
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
}

// Unwrap exposes the kind sentinel and the underlying cause to errors.Is / errors.As.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func errAt(file string, p Pos, kind error, format string, args ...any) *Error {
	return &Error{File: file, Line: p.Line, Col: p.Col, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
