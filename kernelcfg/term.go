package kernelcfg

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a source text: 1-based line and 1-based column counted in code points
// (a tab counts one). A line ends at "\n"; a "\r" before it is an ordinary character.
type Pos struct {
	Line int
	Col  int
}

// Term is one Erlang term read from a config file. The concrete types are *Atom, *Int,
// *Float, *String, *List, *Tuple, *Map and *Binary.
type Term interface {
	// Pos is where the term starts in its source text.
	Pos() Pos
	// String renders the term as Erlang text (roughly io:format's ~w; strings stay strings).
	String() string
	isTerm()
}

// Atom is an Erlang atom; Name is its text without quotes.
type Atom struct {
	Name string
	At   Pos
}

// Int is an Erlang integer. Big is set (and Small is 0) only when the value does not fit in an int64.
type Int struct {
	Small int64
	Big   *big.Int
	At    Pos
}

// Float is an Erlang float.
type Float struct {
	Value float64
	At    Pos
}

// String is an Erlang string literal (adjacent literals already joined). In Erlang a string is
// a list of code points: "" equals [] and "ab" equals [97,98]; IsList and ListElems honour that.
type String struct {
	Value string // valid UTF-8
	At    Pos
}

// List is an Erlang list. Tail is nil for a proper list, else the term after '|'.
type List struct {
	Elems []Term
	Tail  Term
	At    Pos
}

// Tuple is an Erlang tuple.
type Tuple struct {
	Elems []Term
	At    Pos
}

// Map is an Erlang map #{K => V}; a later duplicate key replaces the earlier value, as
// erl_parse does, so Keys are distinct.
type Map struct {
	Keys   []Term
	Values []Term
	At     Pos
}

// Binary is an Erlang binary <<...>>.
type Binary struct {
	Bytes []byte
	At    Pos
}

// Pos is where the atom starts.
func (t *Atom) Pos() Pos { return t.At }

// Pos is where the int starts.
func (t *Int) Pos() Pos { return t.At }

// Pos is where the float starts.
func (t *Float) Pos() Pos { return t.At }

// Pos is where the string starts.
func (t *String) Pos() Pos { return t.At }

// Pos is where the list starts.
func (t *List) Pos() Pos { return t.At }

// Pos is where the tuple starts.
func (t *Tuple) Pos() Pos { return t.At }

// Pos is where the map starts.
func (t *Map) Pos() Pos { return t.At }

// Pos is where the binary starts.
func (t *Binary) Pos() Pos { return t.At }

func (*Atom) isTerm()   {}
func (*Int) isTerm()    {}
func (*Float) isTerm()  {}
func (*String) isTerm() {}
func (*List) isTerm()   {}
func (*Tuple) isTerm()  {}
func (*Map) isTerm()    {}
func (*Binary) isTerm() {}

// Int64 returns the value and whether it fits in an int64.
func (t *Int) Int64() (int64, bool) { return t.Small, t.Big == nil }

// BigInt returns the value as a new *big.Int.
func (t *Int) BigInt() *big.Int {
	if t.Big != nil {
		return new(big.Int).Set(t.Big)
	}
	return big.NewInt(t.Small)
}

// Sign returns -1, 0 or +1.
func (t *Int) Sign() int {
	if t.Big != nil {
		return t.Big.Sign()
	}
	switch {
	case t.Small < 0:
		return -1
	case t.Small > 0:
		return 1
	}
	return 0
}

// String renders the atom as Erlang text.
func (t *Atom) String() string { return quoteAtom(t.Name) }

// String renders the int as Erlang text.
func (t *Int) String() string {
	if t.Big != nil {
		return t.Big.String()
	}
	return strconv.FormatInt(t.Small, 10)
}

// String renders the float as Erlang text.
func (t *Float) String() string {
	if math.Trunc(t.Value) == t.Value && math.Abs(t.Value) < 1e15 {
		return strconv.FormatFloat(t.Value, 'f', 1, 64)
	}
	s := strconv.FormatFloat(t.Value, 'g', -1, 64) // e.g. 1e+20: Erlang needs a dot
	if mant, exp, ok := strings.Cut(s, "e"); ok && !strings.Contains(mant, ".") {
		s = mant + ".0e" + exp
	}
	return s
}

// String renders the string as Erlang text.
func (t *String) String() string { return quoteText(t.Value, '"') }

// String renders the list as Erlang text.
func (t *List) String() string {
	var b strings.Builder
	b.WriteByte('[')
	joinTerms(&b, t.Elems)
	if t.Tail != nil {
		b.WriteByte('|')
		b.WriteString(t.Tail.String())
	}
	b.WriteByte(']')
	return b.String()
}

// String renders the tuple as Erlang text.
func (t *Tuple) String() string {
	var b strings.Builder
	b.WriteByte('{')
	joinTerms(&b, t.Elems)
	b.WriteByte('}')
	return b.String()
}

// String renders the map as Erlang text.
func (t *Map) String() string {
	var b strings.Builder
	b.WriteString("#{")
	for i := range t.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.Keys[i].String())
		b.WriteString(" => ")
		b.WriteString(t.Values[i].String())
	}
	b.WriteByte('}')
	return b.String()
}

// String renders the binary as Erlang text.
func (t *Binary) String() string {
	var b strings.Builder
	b.WriteString("<<")
	for i, c := range t.Bytes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	b.WriteString(">>")
	return b.String()
}

func joinTerms(b *strings.Builder, ts []Term) {
	for i, e := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.String())
	}
}

// IsList reports whether t is a proper or improper list in Erlang's sense (a String counts).
func IsList(t Term) bool {
	switch t.(type) {
	case *List, *String:
		return true
	}
	return false
}

// ListElems returns the elements of a proper list (a String gives its code points as *Int)
// and true; false when t is not a proper list.
func ListElems(t Term) ([]Term, bool) {
	switch v := t.(type) {
	case *List:
		if v.Tail != nil {
			return nil, false
		}
		return v.Elems, true
	case *String:
		out := make([]Term, 0, utf8.RuneCountInString(v.Value))
		col := v.At
		for _, r := range v.Value {
			out = append(out, &Int{Small: int64(r), At: col})
		}
		return out, true
	}
	return nil, false
}

// AtomName returns the atom's text and true when t is an atom.
func AtomName(t Term) (string, bool) {
	if a, ok := t.(*Atom); ok {
		return a.Name, true
	}
	return "", false
}

// Equal reports whether two terms are the same Erlang value (exact equality, =:=; positions
// are ignored; a String equals the list of its code points).
func Equal(a, b Term) bool {
	switch x := a.(type) {
	case *Atom:
		y, ok := b.(*Atom)
		return ok && x.Name == y.Name
	case *Int:
		y, ok := b.(*Int)
		if !ok {
			return false
		}
		if x.Big == nil && y.Big == nil {
			return x.Small == y.Small
		}
		return x.BigInt().Cmp(y.BigInt()) == 0
	case *Float:
		y, ok := b.(*Float)
		return ok && x.Value == y.Value
	case *Binary:
		y, ok := b.(*Binary)
		return ok && string(x.Bytes) == string(y.Bytes)
	case *Tuple:
		y, ok := b.(*Tuple)
		return ok && equalSlices(x.Elems, y.Elems)
	case *Map:
		y, ok := b.(*Map)
		if !ok || len(x.Keys) != len(y.Keys) {
			return false
		}
		for i, k := range x.Keys {
			v, found := mapGet(y, k)
			if !found || !Equal(x.Values[i], v) {
				return false
			}
		}
		return true
	case *String, *List:
		return equalLists(a, b)
	}
	return false
}

func equalLists(a, b Term) bool {
	if !IsList(b) {
		return false
	}
	ea, ta := splitList(a)
	eb, tb := splitList(b)
	if !equalSlices(ea, eb) {
		return false
	}
	if ta == nil || tb == nil {
		return ta == nil && tb == nil
	}
	return Equal(ta, tb)
}

func splitList(t Term) ([]Term, Term) {
	if l, ok := t.(*List); ok {
		return l.Elems, l.Tail
	}
	e, _ := ListElems(t)
	return e, nil
}

func equalSlices(a, b []Term) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func mapGet(m *Map, k Term) (Term, bool) {
	for i, mk := range m.Keys {
		if Equal(mk, k) {
			return m.Values[i], true
		}
	}
	return nil, false
}

// quoteAtom renders an atom as Erlang would print it: bare when it is a plain unquoted atom,
// single-quoted otherwise.
func quoteAtom(name string) string {
	if isBareAtom(name) {
		return name
	}
	return quoteText(name, '\'')
}

func isBareAtom(name string) bool {
	if name == "" || isReserved(name) {
		return false
	}
	for i, r := range name {
		if i == 0 {
			if !isAtomStart(r) {
				return false
			}
		} else if !isNameChar(r) {
			return false
		}
	}
	return true
}

func quoteText(s string, q byte) string {
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x{` + strconv.FormatInt(int64(r), 16) + `}`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// normInt builds an *Int, keeping small values in Small.
func normInt(v *big.Int, p Pos) *Int {
	if v.IsInt64() {
		return &Int{Small: v.Int64(), At: p}
	}
	return &Int{Big: v, At: p}
}
