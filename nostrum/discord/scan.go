package discord

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax reports malformed JSON in a gateway payload or a Discord object.
var ErrSyntax = errors.New("discord: malformed json")

// maxDepth bounds nesting while skipping values, so hostile input cannot exhaust the stack.
const maxDepth = 128

// scanner is a small pull parser over a string. Values without escapes are returned as
// substrings of the input (no copy); that is what makes decoding cheap.
type scanner struct {
	s string
	i int
}

func (sc *scanner) errorf(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, what, sc.i)
}

func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (sc *scanner) peek() byte {
	sc.ws()
	if sc.i >= len(sc.s) {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *scanner) expect(c byte) error {
	if sc.peek() != c {
		return sc.errorf("expected '" + string(c) + "'")
	}
	sc.i++
	return nil
}

// object iterates over the keys of an object; fn must consume the value.
func (sc *scanner) object(fn func(key string) error) error {
	if err := sc.expect('{'); err != nil {
		return err
	}
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	for {
		key, err := sc.str()
		if err != nil {
			return err
		}
		if err := sc.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch sc.peek() {
		case ',':
			sc.i++
		case '}':
			sc.i++
			return nil
		default:
			return sc.errorf("expected ',' or '}'")
		}
	}
}

// array iterates over the elements of an array; fn must consume each element.
func (sc *scanner) array(fn func() error) error {
	if err := sc.expect('['); err != nil {
		return err
	}
	if sc.peek() == ']' {
		sc.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch sc.peek() {
		case ',':
			sc.i++
		case ']':
			sc.i++
			return nil
		default:
			return sc.errorf("expected ',' or ']'")
		}
	}
}

// null consumes a literal null if present and reports whether it did.
func (sc *scanner) null() bool {
	if sc.peek() == 'n' && len(sc.s)-sc.i >= 4 && sc.s[sc.i:sc.i+4] == "null" {
		sc.i += 4
		return true
	}
	return false
}

func (sc *scanner) boolean() (bool, error) {
	sc.ws()
	rest := sc.s[sc.i:]
	switch {
	case len(rest) >= 4 && rest[:4] == "true":
		sc.i += 4
		return true, nil
	case len(rest) >= 5 && rest[:5] == "false":
		sc.i += 5
		return false, nil
	case len(rest) >= 4 && rest[:4] == "null":
		sc.i += 4
		return false, nil
	}
	return false, sc.errorf("expected boolean")
}

// number returns the raw text of a JSON number.
func (sc *scanner) number() (string, error) {
	sc.ws()
	start := sc.i
	if sc.i < len(sc.s) && sc.s[sc.i] == '-' {
		sc.i++
	}
	digits := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
	}
	if sc.i == digits {
		return "", sc.errorf("expected number")
	}
	if sc.s[digits] == '0' && sc.i-digits > 1 {
		return "", sc.errorf("leading zero in number")
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '.' {
		sc.i++
		frac := sc.i
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
		}
		if sc.i == frac {
			return "", sc.errorf("expected fraction digits")
		}
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		exp := sc.i
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
		}
		if sc.i == exp {
			return "", sc.errorf("expected exponent digits")
		}
	}
	return sc.s[start:sc.i], nil
}

// int64 reads an integer (null reads as 0).
func (sc *scanner) int64() (int64, error) {
	if sc.null() {
		return 0, nil
	}
	at := sc.i
	raw, err := sc.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		sc.i = at
		return 0, sc.errorf("expected integer")
	}
	return n, nil
}

// str reads a string. Without escapes the result shares memory with the input.
func (sc *scanner) str() (string, error) {
	if sc.peek() != '"' {
		return "", sc.errorf("expected string")
	}
	sc.i++
	start := sc.i
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			out := sc.s[start:sc.i]
			sc.i++
			return out, nil
		case c == '\\':
			return sc.unescape(start)
		case c < 0x20:
			return "", sc.errorf("control character in string")
		}
		sc.i++
	}
	return "", sc.errorf("unterminated string")
}

// unescape finishes a string containing escapes; sc.i is at the first backslash.
func (sc *scanner) unescape(start int) (string, error) {
	buf := make([]byte, 0, sc.i-start+16)
	buf = append(buf, sc.s[start:sc.i]...)
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return string(buf), nil
		case c < 0x20:
			return "", sc.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			sc.i++
			continue
		}
		if sc.i+1 >= len(sc.s) {
			return "", sc.errorf("unterminated escape")
		}
		e := sc.s[sc.i+1]
		sc.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := sc.hex4()
			if !ok {
				return "", sc.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r = sc.lowSurrogate(r)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", sc.errorf("bad escape")
		}
	}
	return "", sc.errorf("unterminated string")
}

// lowSurrogate pairs a high surrogate with a following \uXXXX low one, or yields U+FFFD.
func (sc *scanner) lowSurrogate(hi rune) rune {
	if len(sc.s)-sc.i >= 6 && sc.s[sc.i] == '\\' && sc.s[sc.i+1] == 'u' {
		save := sc.i
		sc.i += 2
		if lo, ok := sc.hex4(); ok {
			if r := utf16.DecodeRune(hi, lo); r != utf8.RuneError {
				return r
			}
		}
		sc.i = save
	}
	return utf8.RuneError
}

func (sc *scanner) hex4() (rune, bool) {
	if len(sc.s)-sc.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(sc.s[sc.i : sc.i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	sc.i += 4
	return r, true
}

// skip consumes any value, checking its syntax, and returns its raw text.
func (sc *scanner) skip() (string, error) {
	sc.ws()
	start := sc.i
	err := sc.skipDepth(0)
	return sc.s[start:sc.i], err
}

func (sc *scanner) skipDepth(depth int) error {
	if depth > maxDepth {
		return sc.errorf("nesting too deep")
	}
	switch c := sc.peek(); c {
	case '{':
		return sc.object(func(string) error { return sc.skipDepth(depth + 1) })
	case '[':
		return sc.array(func() error { return sc.skipDepth(depth + 1) })
	case '"':
		_, err := sc.skipString()
		return err
	case 't', 'f':
		_, err := sc.boolean()
		return err
	case 'n':
		if sc.null() {
			return nil
		}
		return sc.errorf("expected null")
	default:
		_, err := sc.number()
		return err
	}
}

// skipString validates a string without building it.
func (sc *scanner) skipString() (bool, error) {
	sc.i++ // opening quote
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return true, nil
		case c == '\\':
			if sc.i+1 >= len(sc.s) {
				return false, sc.errorf("unterminated escape")
			}
			if sc.s[sc.i+1] == 'u' {
				sc.i += 2
				if _, ok := sc.hex4(); !ok {
					return false, sc.errorf("bad \\u escape")
				}
				continue
			}
			switch sc.s[sc.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			default:
				return false, sc.errorf("bad escape")
			}
			sc.i += 2
			continue
		case c < 0x20:
			return false, sc.errorf("control character in string")
		}
		sc.i++
	}
	return false, sc.errorf("unterminated string")
}

// end checks that only whitespace remains.
func (sc *scanner) end() error {
	if sc.peek() != 0 || sc.i != len(sc.s) {
		return sc.errorf("trailing data")
	}
	return nil
}
