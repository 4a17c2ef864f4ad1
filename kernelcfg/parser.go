package kernelcfg

import (
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 10000

// ParseFile parses the content of one config file as OTP's application controller reads it:
// exactly one term ended by a dot, then only white space and comments. The term is returned
// whatever its type; LoadFile/Load check that it is a list. name is used in error messages.
// src is not retained: the terms' names and strings share one copy of it.
func ParseFile(name string, src []byte) (Term, error) {
	t, err := parseFile(name, src)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ParseTerm parses a single term with an optional final dot, as OTP parses the value of a
// command-line flag `-App Par Val`. label names the source in error messages.
func ParseTerm(label, text string) (Term, error) {
	text8, err := decode(label, text)
	if err != nil {
		return nil, err
	}
	p, err := newParser(label, text8)
	if err != nil {
		return nil, err
	}
	t, perr := p.term(0)
	if perr != nil {
		return nil, perr
	}
	if p.tok.kind == tDot {
		if perr := p.advance(); perr != nil {
			return nil, perr
		}
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("end of input")
	}
	return t, nil
}

func parseFile(name string, src []byte) (Term, *Error) {
	// One copy of the source: names and strings without escapes are slices of it.
	text8, err := decode(name, string(src))
	if err != nil {
		return nil, err
	}
	p, err := newParser(name, text8)
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, errAt(name, p.tok.pos, ErrSyntax, "found end of input, expected one list ended by a dot")
	}
	t, err := p.term(0)
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tDot:
	case tEOF:
		return nil, errAt(name, p.tok.pos, ErrSyntax, "found end of input, expected a final dot after the term")
	default:
		return nil, p.unexpected("a final dot after the term")
	}
	if bad, at := onlyWhite(&p.lx); !bad {
		return nil, errAt(name, at, ErrSyntax, "found more text after the final dot, expected only white space and comments (the file must contain ONE list ended by a dot)")
	}
	return t, nil
}

// onlyWhite mirrors OTP's check of what follows the dot: characters up to space, and comments.
func onlyWhite(lx *lexer) (bool, Pos) {
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		switch {
		case c == '\n':
			lx.i++
			lx.newline()
		case c <= ' ':
			lx.i++
		case c == '%':
			nl := strings.IndexByte(lx.src[lx.i:], '\n')
			if nl < 0 {
				lx.skipTo(len(lx.src))
			} else {
				lx.i += nl
			}
		default:
			return false, lx.pos()
		}
	}
	return true, Pos{}
}

// decode returns the file's text as UTF-8: UTF-8 unless a coding comment in the first two
// lines selects Latin-1 (epp's rule). Invalid UTF-8 is an error at its position.
func decode(name string, src string) (string, *Error) {
	if latin1Coding(src) {
		out := make([]byte, 0, len(src)+len(src)/8)
		for i := 0; i < len(src); i++ {
			out = utf8.AppendRune(out, rune(src[i]))
		}
		return string(out), nil
	}
	if utf8.ValidString(src) {
		return src, nil
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return "", errAt(name, Pos{line, col}, ErrSyntax, "found byte 0x%02x that is not UTF-8, expected UTF-8 text (or a \"coding: latin-1\" comment on the first line)", src[i])
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += n
	}
	return src, nil
}

func latin1Coding(src string) bool {
	for k := 0; k < 2 && len(src) > 0; k++ {
		line := src
		if nl := strings.IndexByte(src, '\n'); nl >= 0 {
			line, src = src[:nl], src[nl+1:]
		} else {
			src = ""
		}
		pc := strings.IndexByte(line, '%')
		if pc < 0 {
			continue
		}
		c := strings.Index(line[pc:], "coding")
		if c < 0 {
			continue
		}
		rest := strings.TrimLeft(line[pc+c+len("coding"):], " \t")
		if rest == "" || (rest[0] != ':' && rest[0] != '=') {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		end := 0
		for end < len(rest) && (digitVal(rune(rest[end])) < 36 || rest[end] == '-' || rest[end] == '_') {
			end++
		}
		switch strings.ToLower(rest[:end]) {
		case "latin-1", "latin1", "iso-8859-1", "iso8859-1":
			return true
		}
		return false
	}
	return false
}

type parser struct {
	file  string
	lx    lexer
	tok   token
	stack []Term // scratch for elements of open lists, tuples and maps, so each gets one exact-size slice

	// Slabs: terms are carved out of chunks, so a big file costs few allocations.
	atoms    slab[Atom]
	ints     slab[Int]
	floats   slab[Float]
	strs     slab[String]
	lists    slab[List]
	tuples   slab[Tuple]
	maps     slab[Map]
	binaries slab[Binary]
	termBuf  []Term
	byteSlab byteSlab
	binBuf   []byte // scratch for the bytes of the binary being read
}

// slab hands out pointers into chunks of values; a chunk is twice the size of the one before,
// from 16 up to 1024 values, so small files stay small and big ones cost few allocations.
type slab[T any] struct{ buf []T }

func (s *slab[T]) alloc() *T {
	if len(s.buf) == cap(s.buf) {
		n := min(2*cap(s.buf), 1024)
		s.buf = make([]T, 0, max(n, 16))
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// byteSlab hands out exact-size byte slices carved from shared chunks.
type byteSlab struct{ buf []byte }

// copy returns a non-nil copy of b whose capacity is its length.
func (s *byteSlab) copy(b []byte) []byte {
	n := len(b)
	if n == 0 {
		return []byte{}
	}
	if n > 256 {
		return append(make([]byte, 0, n), b...)
	}
	if len(s.buf)+n > cap(s.buf) {
		s.buf = make([]byte, 0, 4096)
	}
	start := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[start : start+n : start+n]
}

// collect returns the elements pushed since base as an exact-size slice and pops them.
func (p *parser) collect(base int) []Term {
	n := len(p.stack) - base
	if n == 0 {
		return nil
	}
	out := p.termSlice(n)
	for i, e := range p.stack[base:] { // a loop: copy's bulk barrier costs more for a few terms
		out[i] = e
	}
	// No need to clear the popped entries: they are in the tree, which outlives the parser.
	p.stack = p.stack[:base]
	return out
}

// collectPairs returns the keys and values pushed in pairs since base and pops them.
func (p *parser) collectPairs(base int) (keys, values []Term) {
	n := (len(p.stack) - base) / 2
	keys, values = p.termSlice(n), p.termSlice(n)
	for i := range n {
		keys[i], values[i] = p.stack[base+2*i], p.stack[base+2*i+1]
	}
	p.stack = p.stack[:base]
	return keys, values
}

// termSlice returns a slice of n terms whose capacity is n, carved from a shared chunk when
// it is small.
func (p *parser) termSlice(n int) []Term {
	if n > 64 {
		return make([]Term, n)
	}
	if len(p.termBuf)+n > cap(p.termBuf) {
		p.termBuf = make([]Term, 0, 4096)
	}
	start := len(p.termBuf)
	p.termBuf = p.termBuf[:start+n]
	return p.termBuf[start : start+n : start+n]
}

func newParser(file, src string) (*parser, *Error) {
	p := &parser{file: file, lx: newLexer(file, src)}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parser) advance() *Error { return p.lx.next(&p.tok) }

func (p *parser) isPunct(s string) bool {
	return p.tok.kind == tPunct && p.tok.punct == punctCode(s)
}

// text returns the current token's text; read it before the next advance.
func (p *parser) text() string { return p.lx.text(&p.tok) }

func (p *parser) expect(s, expected string) *Error {
	if !p.isPunct(s) {
		return p.unexpected(expected)
	}
	return p.advance()
}

func (p *parser) unexpected(expected string) *Error {
	return errAt(p.file, p.tok.pos, ErrSyntax, "found %s, expected %s", p.describe(), expected)
}

// describe names the current token for an error message.
func (p *parser) describe() string {
	t := &p.tok
	text := p.text()
	switch t.kind {
	case tEOF:
		return "end of input"
	case tAtom:
		return "atom " + quoteAtom(text)
	case tReserved:
		return "reserved word " + text + " (write '" + text + "' for the atom)"
	case tVar:
		return "variable " + text
	case tString:
		s := quoteText(text, '"')
		if len(s) > 40 {
			s = s[:37] + "...\""
		}
		return "string " + s
	case tInt:
		if t.big {
			return "integer " + p.lx.big.String()
		}
		return "integer " + strconv.FormatInt(t.ival, 10)
	case tFloat:
		return "float " + strconv.FormatFloat(t.fval, 'g', -1, 64)
	case tDot:
		return "the final dot"
	}
	return "'" + text + "'"
}

// term parses one term; the current token is its first token.
func (p *parser) term(depth int) (Term, *Error) {
	if depth > maxDepth {
		return nil, errAt(p.file, p.tok.pos, ErrSyntax, "found terms nested deeper than %d, expected a flatter term", maxDepth)
	}
	t := &p.tok // read before each advance
	switch t.kind {
	case tAtom:
		a := p.atoms.alloc()
		a.Name, a.At = p.text(), t.pos
		return a, p.advance()
	case tInt, tFloat:
		return p.numberTerm(t, false), p.advance()
	case tString:
		return p.strings()
	case tPunct:
		switch t.punct {
		case '-', '+':
			return p.signed()
		case '(':
			if err := p.advance(); err != nil {
				return nil, err
			}
			inner, err := p.term(depth + 1)
			if err != nil {
				return nil, err
			}
			return inner, p.expect(")", "')'")
		case '[':
			return p.list(depth)
		case '{':
			return p.tuple(depth)
		case '#':
			return p.mapTerm(depth)
		case '<' | '<'<<8:
			return p.binary()
		}
	}
	return nil, p.unexpected("a term")
}

func (p *parser) numberTerm(t *token, neg bool) Term {
	if t.kind == tFloat {
		f := p.floats.alloc()
		f.Value, f.At = t.fval, t.pos
		if neg {
			f.Value = -t.fval
		}
		return f
	}
	if t.big {
		if neg {
			return normInt(new(big.Int).Neg(p.lx.big), t.pos)
		}
		return &Int{Big: p.lx.big, At: t.pos}
	}
	n := p.ints.alloc()
	n.Small, n.At = t.ival, t.pos
	if neg {
		n.Small = -t.ival
	}
	return n
}

// signed parses '-' or '+' followed by a number, possibly in parentheses (erl_parse accepts
// -(1)); any other operand is "bad term" in OTP.
func (p *parser) signed() (Term, *Error) {
	start, neg := p.tok.pos, p.isPunct("-")
	if err := p.advance(); err != nil {
		return nil, err
	}
	parens := 0
	for p.isPunct("(") {
		parens++
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tInt && p.tok.kind != tFloat {
		return nil, p.unexpected("a number after the sign")
	}
	t := p.numberTerm(&p.tok, neg)
	switch v := t.(type) {
	case *Int:
		v.At = start
	case *Float:
		v.At = start
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for ; parens > 0; parens-- {
		if err := p.expect(")", "')'"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (p *parser) strings() (Term, *Error) {
	s := p.strs.alloc()
	s.Value, s.At = p.text(), p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tString {
		return s, nil
	}
	var b strings.Builder
	b.WriteString(s.Value)
	for p.tok.kind == tString {
		b.WriteString(p.text())
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	s.Value = b.String()
	return s, nil
}

// sequence parses one or more terms separated by commas onto the parse stack and returns
// the index where they start there (collect takes them off). It stops at the first token
// after a term that is not a comma, for the caller to check.
func (p *parser) sequence(depth int) (int, *Error) {
	base := len(p.stack)
	for {
		e, err := p.term(depth + 1)
		if err != nil {
			return base, err
		}
		p.stack = append(p.stack, e)
		if !p.isPunct(",") {
			return base, nil
		}
		if err := p.advance(); err != nil {
			return base, err
		}
	}
}

func (p *parser) list(depth int) (Term, *Error) {
	l := p.lists.alloc()
	l.At = p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isPunct("]") {
		return l, p.advance()
	}
	base, err := p.sequence(depth)
	if err != nil {
		return nil, err
	}
	if !p.isPunct("|") {
		l.Elems = p.collect(base)
		return l, p.expect("]", "',' or ']'")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	tail, err := p.term(depth + 1)
	if err != nil {
		return nil, err
	}
	l.Elems = p.collect(base)
	l.Tail = tail
	if ll, ok := tail.(*List); ok {
		// [a | [b]] is the proper list [a, b].
		l.Elems = append(l.Elems, ll.Elems...)
		l.Tail = ll.Tail
	} else if s, ok := tail.(*String); ok {
		es, _ := ListElems(s)
		l.Elems = append(l.Elems, es...)
		l.Tail = nil
	}
	return l, p.expect("]", "']' after the tail of the list")
}

func (p *parser) tuple(depth int) (Term, *Error) {
	t := p.tuples.alloc()
	t.At = p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isPunct("}") {
		return t, p.advance()
	}
	base, err := p.sequence(depth)
	if err != nil {
		return nil, err
	}
	t.Elems = p.collect(base)
	return t, p.expect("}", "',' or '}'")
}

func (p *parser) mapTerm(depth int) (Term, *Error) {
	m := p.maps.alloc()
	m.At = p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect("{", "'{' after '#' (records are not terms)"); err != nil {
		return nil, err
	}
	if p.isPunct("}") {
		return m, p.advance()
	}
	// Keys and values go on the stack in pairs; a key equal to an earlier one replaces that
	// one's value, as erl_parse does.
	base := len(p.stack)
	for {
		k, err := p.term(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect("=>", "'=>' after a map key"); err != nil {
			return nil, err
		}
		v, err := p.term(depth + 1)
		if err != nil {
			return nil, err
		}
		replaced := false
		for i := base; i < len(p.stack); i += 2 {
			if Equal(p.stack[i], k) {
				p.stack[i+1] = v
				replaced = true
			}
		}
		if !replaced {
			p.stack = append(p.stack, k, v)
		}
		if p.isPunct(",") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		}
		m.Keys, m.Values = p.collectPairs(base)
		return m, p.expect("}", "',' or '}'")
	}
}
