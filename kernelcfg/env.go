package kernelcfg

import (
	"math"
	"time"
)

// Infinity is the duration gotp uses for Erlang's `infinity` (wait forever, never fire).
const Infinity time.Duration = math.MaxInt64

// Env is the merged environment of one application. Its typed accessors return the default
// when the parameter is absent and an *Error (kind ErrValue, pointing at the value) when it is
// present with the wrong type.
type Env struct {
	app    string
	params []Param
	idx    map[string]int
}

// App is the application's name.
func (e Env) App() string { return e.app }

// Keys lists the parameter names in order of first appearance.
func (e Env) Keys() []string {
	out := make([]string, len(e.params))
	for i, p := range e.params {
		out[i] = p.Key
	}
	return out
}

// Lookup returns a parameter with the file it came from.
func (e Env) Lookup(key string) (Param, bool) {
	if i, ok := e.idx[key]; ok {
		return e.params[i], true
	}
	return Param{}, false
}

// Term returns a parameter's raw value.
func (e Env) Term(key string) (Term, bool) {
	p, ok := e.Lookup(key)
	return p.Value, ok
}

func (e Env) bad(p Param, expected string) *Error {
	return errAt(p.File, p.Value.Pos(), ErrValue, "found %s for %s %s, expected %s", short(p.Value), quoteAtom(e.app), quoteAtom(p.Key), expected)
}

// Atom returns an atom parameter's name; def when absent.
func (e Env) Atom(key, def string) (string, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	if a, ok := AtomName(p.Value); ok {
		return a, nil
	}
	return "", e.bad(p, "an atom")
}

// Text returns a string parameter (a string literal, a list of code points, or a UTF-8
// binary); def when absent.
func (e Env) Text(key, def string) (string, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	if s, ok := textOf(p.Value); ok {
		return s, nil
	}
	return "", e.bad(p, "a string")
}

func textOf(t Term) (string, bool) {
	switch v := t.(type) {
	case *String:
		return v.Value, true
	case *Binary:
		return string(v.Bytes), true
	case *List:
		if v.Tail != nil {
			return "", false
		}
		rs := make([]rune, 0, len(v.Elems))
		for _, el := range v.Elems {
			n, ok := el.(*Int)
			c, fits := int64(-1), false
			if ok {
				c, fits = n.Int64()
			}
			if !fits || c < 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) {
				return "", false
			}
			rs = append(rs, rune(c))
		}
		return string(rs), true
	}
	return "", false
}

// Int returns an integer parameter that fits in an int64; def when absent.
func (e Env) Int(key string, def int64) (int64, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	if n, ok := p.Value.(*Int); ok {
		if v, fits := n.Int64(); fits {
			return v, nil
		}
	}
	return 0, e.bad(p, "an integer")
}

// Float returns a number parameter (an integer is converted); def when absent.
func (e Env) Float(key string, def float64) (float64, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	switch v := p.Value.(type) {
	case *Float:
		return v.Value, nil
	case *Int:
		if n, fits := v.Int64(); fits {
			return float64(n), nil
		}
	}
	return 0, e.bad(p, "a number")
}

// Bool returns a boolean parameter (the atoms true or false); def when absent.
func (e Env) Bool(key string, def bool) (bool, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	switch a, _ := AtomName(p.Value); a {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, e.bad(p, "true or false")
}

// List returns the elements of a proper-list parameter (a string gives its code points);
// nil when absent.
func (e Env) List(key string) ([]Term, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return nil, nil
	}
	if l, ok := ListElems(p.Value); ok {
		return l, nil
	}
	return nil, e.bad(p, "a list")
}

// Atoms returns a list-of-atoms parameter; nil when absent.
func (e Env) Atoms(key string) ([]string, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return nil, nil
	}
	return atomList(p, func(p Param, elem bool) *Error {
		if elem {
			return e.bad(p, "an atom")
		}
		return e.bad(p, "a list of atoms")
	})
}

// atomList reads a proper list of atoms; bad builds the error for the whole value (elem
// false) or for one element (elem true).
func atomList(p Param, bad func(p Param, elem bool) *Error) ([]string, error) {
	elems, ok := ListElems(p.Value)
	if _, isStr := p.Value.(*String); !ok || (isStr && len(elems) > 0) {
		return nil, bad(p, false)
	}
	out := make([]string, 0, len(elems))
	for _, el := range elems {
		a, ok := AtomName(el)
		if !ok {
			return nil, bad(Param{Key: p.Key, Value: el, File: p.File}, true)
		}
		out = append(out, a)
	}
	return out, nil
}

// Texts returns a list-of-strings parameter; nil when absent.
func (e Env) Texts(key string) ([]string, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return nil, nil
	}
	elems, ok := ListElems(p.Value)
	if _, isStr := p.Value.(*String); !ok || (isStr && len(elems) > 0) {
		return nil, e.bad(p, "a list of strings")
	}
	out := make([]string, 0, len(elems))
	for _, el := range elems {
		s, ok := textOf(el)
		if !ok {
			return nil, e.bad(Param{Key: p.Key, Value: el, File: p.File}, "a string")
		}
		out = append(out, s)
	}
	return out, nil
}

// Millis returns a duration written as integer milliseconds >= 0 or the atom infinity
// (Infinity); def when absent.
func (e Env) Millis(key string, def time.Duration) (time.Duration, error) {
	p, ok := e.Lookup(key)
	if !ok {
		return def, nil
	}
	d, ok := millis(p.Value, 0)
	if !ok {
		return 0, e.bad(p, "milliseconds (an integer >= 0) or infinity")
	}
	return d, nil
}

// millis converts an integer >= min (in ms) or infinity.
func millis(t Term, min int64) (time.Duration, bool) {
	if a, ok := AtomName(t); ok && a == "infinity" {
		return Infinity, true
	}
	n, ok := t.(*Int)
	if !ok {
		return 0, false
	}
	v, fits := n.Int64()
	if !fits || v < min || v > int64(Infinity/time.Millisecond)-1 {
		return 0, false
	}
	return time.Duration(v) * time.Millisecond, true
}
