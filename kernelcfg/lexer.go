package kernelcfg

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The lexer follows erl_scan for the subset of Erlang a config file uses. It works on code
// points so that columns are code-point counts.

type tokKind int

const (
	tEOF tokKind = iota
	tAtom
	tReserved // an unquoted reserved word (needs quotes to be an atom)
	tVar
	tString
	tInt // integer literal, also $c
	tFloat
	tPunct // text in token.text
	tDot   // '.' followed by white space, '%' or the end of the input
)

type token struct {
	kind tokKind
	pos  Pos
	text string // atom/var name, string value, punctuation
	ival int64
	big  *big.Int
	fval float64
	char bool // tInt written as $c
}

// reservedWords must be quoted to be atoms (OTP 25: maybe/else are plain atoms).
var reservedWords = map[string]bool{
	"after": true, "and": true, "andalso": true, "band": true, "begin": true, "bnot": true,
	"bor": true, "bsl": true, "bsr": true, "bxor": true, "case": true, "catch": true,
	"cond": true, "div": true, "end": true, "fun": true, "if": true, "let": true, "not": true,
	"of": true, "or": true, "orelse": true, "receive": true, "rem": true, "try": true,
	"when": true, "xor": true,
}

const maxAtomLen = 255

// lexer scans valid UTF-8 text (decode guarantees it) one code point at a time.
type lexer struct {
	file  string
	src   []byte
	i     int // byte offset
	line  int
	col   int
	names map[string]string // interned atom and variable names
}

func newLexer(file string, src []byte) *lexer {
	return &lexer{file: file, src: src, line: 1, col: 1, names: map[string]string{}}
}

func (lx *lexer) pos() Pos { return Pos{lx.line, lx.col} }

func (lx *lexer) eof() bool { return lx.i >= len(lx.src) }

func (lx *lexer) runeAt(i int) (rune, int) {
	if i >= len(lx.src) {
		return -1, 0
	}
	if c := lx.src[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(lx.src[i:])
}

// peekAt returns the code point k code points ahead (k is 0, 1 or 2), -1 past the end.
func (lx *lexer) peekAt(k int) rune {
	if k == 0 && lx.i < len(lx.src) && lx.src[lx.i] < utf8.RuneSelf {
		return rune(lx.src[lx.i])
	}
	i := lx.i
	for ; k > 0; k-- {
		_, n := lx.runeAt(i)
		if n == 0 {
			return -1
		}
		i += n
	}
	r, _ := lx.runeAt(i)
	return r
}

func (lx *lexer) advance() rune {
	r, n := lx.runeAt(lx.i)
	lx.i += n
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func isWhite(r rune) bool { return (r >= 0 && r <= ' ') || (r >= 0x80 && r <= 0xA0) }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isAtomStart: a lower-case letter, Latin-1 included (ß..ÿ but not ÷).
func isAtomStart(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 0xDF && r <= 0xFF && r != 0xF7)
}

// isVarStart: an upper-case letter (Latin-1 included, not ×) or '_'.
func isVarStart(r rune) bool {
	return (r >= 'A' && r <= 'Z') || r == '_' || (r >= 0xC0 && r <= 0xDE && r != 0xD7)
}

func isNameChar(r rune) bool {
	return isAtomStart(r) || isVarStart(r) || isDigit(r) || r == '@'
}

// skipSpace skips white space and comments.
func (lx *lexer) skipSpace() {
	for !lx.eof() {
		r := lx.peekAt(0)
		switch {
		case isWhite(r):
			lx.advance()
		case r == '%':
			for !lx.eof() && lx.src[lx.i] != '\n' {
				lx.advance()
			}
		default:
			return
		}
	}
}

func (lx *lexer) errf(p Pos, format string, args ...any) *Error {
	return errAt(lx.file, p, ErrSyntax, format, args...)
}

// next returns the next token.
func (lx *lexer) next() (token, *Error) {
	lx.skipSpace()
	p := lx.pos()
	if lx.eof() {
		return token{kind: tEOF, pos: p}, nil
	}
	r := lx.peekAt(0)
	switch {
	case isAtomStart(r):
		name := lx.name()
		if utf8.RuneCountInString(name) > maxAtomLen {
			return token{}, lx.errf(p, "found an atom of %d characters, expected at most %d", utf8.RuneCountInString(name), maxAtomLen)
		}
		if reservedWords[name] {
			return token{kind: tReserved, pos: p, text: name}, nil
		}
		return token{kind: tAtom, pos: p, text: name}, nil
	case isVarStart(r):
		return token{kind: tVar, pos: p, text: lx.name()}, nil
	case isDigit(r):
		return lx.number()
	case r == '$':
		lx.advance()
		if lx.eof() {
			return token{}, lx.errf(p, "found end of input after '$', expected a character")
		}
		c, err := lx.char(p)
		if err != nil {
			return token{}, err
		}
		return token{kind: tInt, pos: p, ival: int64(c), char: true}, nil
	case r == '"':
		s, err := lx.quoted('"', p)
		if err != nil {
			return token{}, err
		}
		return token{kind: tString, pos: p, text: s}, nil
	case r == '\'':
		s, err := lx.quoted('\'', p)
		if err != nil {
			return token{}, err
		}
		if n := utf8.RuneCountInString(s); n > maxAtomLen {
			return token{}, lx.errf(p, "found an atom of %d characters, expected at most %d", n, maxAtomLen)
		}
		return token{kind: tAtom, pos: p, text: s}, nil
	case r == '.':
		lx.advance()
		if n := lx.peekAt(0); n < 0 || isWhite(n) || n == '%' {
			return token{kind: tDot, pos: p, text: "."}, nil
		}
		return token{kind: tPunct, pos: p, text: "."}, nil
	}
	return lx.punct(p, r)
}

// twoCharPunct returns the two-character punctuation token starting with r then n, or "".
func twoCharPunct(r, n rune) string {
	switch r {
	case '<':
		switch n {
		case '<':
			return "<<"
		case '-':
			return "<-"
		case '=':
			return "<="
		}
	case '>':
		switch n {
		case '>':
			return ">>"
		case '=':
			return ">="
		}
	case '=':
		switch n {
		case '>':
			return "=>"
		case '=':
			return "=="
		case '<':
			return "=<"
		case ':':
			return "=:"
		}
	case ':':
		switch n {
		case '=':
			return ":="
		case ':':
			return "::"
		}
	case '-':
		switch n {
		case '>':
			return "->"
		case '-':
			return "--"
		}
	case '|':
		if n == '|' {
			return "||"
		}
	case '+':
		if n == '+' {
			return "++"
		}
	case '/':
		if n == '=' {
			return "/="
		}
	}
	return ""
}

// oneCharPuncts holds the text of every single-character token, so lexing allocates nothing.
var oneCharPuncts = func() (t [256]string) {
	for i := range t {
		t[i] = string(rune(i))
	}
	return t
}()

func (lx *lexer) punct(p Pos, r rune) (token, *Error) {
	if r > 0xFF {
		return token{}, lx.errf(p, "found illegal character %s, expected a term (quote it)", quoteText(string(r), '\''))
	}
	if two := twoCharPunct(r, lx.peekAt(1)); two != "" {
		lx.advance()
		lx.advance()
		return token{kind: tPunct, pos: p, text: two}, nil
	}
	lx.advance()
	return token{kind: tPunct, pos: p, text: oneCharPuncts[r]}, nil
}

func (lx *lexer) name() string {
	start := lx.i
	for !lx.eof() && isNameChar(lx.peekAt(0)) {
		lx.advance()
	}
	b := lx.src[start:lx.i]
	if s, ok := lx.names[string(b)]; ok {
		return s
	}
	s := string(b)
	lx.names[s] = s
	return s
}

// digits reads digits valid in base, with single '_' separators between digits.
func (lx *lexer) digits(base int, b *strings.Builder) int {
	n := 0
	for !lx.eof() {
		r := lx.peekAt(0)
		if digitVal(r) < base {
			b.WriteRune(r)
			lx.advance()
			n++
			continue
		}
		if r == '_' && n > 0 && digitVal(lx.peekAt(1)) < base {
			lx.advance()
			continue
		}
		break
	}
	return n
}

func digitVal(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 'a' && r <= 'z':
		return int(r-'a') + 10
	case r >= 'A' && r <= 'Z':
		return int(r-'A') + 10
	}
	return 99
}

func (lx *lexer) number() (token, *Error) {
	p := lx.pos()
	var b strings.Builder
	lx.digits(10, &b)
	if lx.peekAt(0) == '#' {
		base, err := strconv.Atoi(b.String())
		if err != nil || base < 2 || base > 36 {
			return token{}, lx.errf(p, "found base %s, expected a base from 2 to 36", b.String())
		}
		lx.advance()
		var d strings.Builder
		if lx.digits(base, &d) == 0 {
			return token{}, lx.errf(lx.pos(), "found %s after %d#, expected base-%d digits", describeRune(lx.peekAt(0)), base, base)
		}
		return intToken(p, d.String(), base), nil
	}
	if lx.peekAt(0) == '.' && isDigit(lx.peekAt(1)) {
		lx.advance()
		b.WriteByte('.')
		lx.digits(10, &b)
		if e := lx.peekAt(0); e == 'e' || e == 'E' {
			lx.advance()
			b.WriteByte('e')
			if s := lx.peekAt(0); s == '+' || s == '-' {
				lx.advance()
				b.WriteRune(s)
			}
			if lx.digits(10, &b) == 0 {
				return token{}, lx.errf(p, "found an illegal float %s, expected digits after the exponent", b.String())
			}
		}
		f, err := strconv.ParseFloat(b.String(), 64)
		if err != nil && math.IsInf(f, 0) {
			return token{}, lx.errf(p, "found an illegal float %s, expected a float in range", b.String())
		}
		return token{kind: tFloat, pos: p, fval: f}, nil
	}
	return intToken(p, b.String(), 10), nil
}

func intToken(p Pos, digits string, base int) token {
	if v, err := strconv.ParseInt(digits, base, 64); err == nil {
		return token{kind: tInt, pos: p, ival: v}
	}
	bi, _ := new(big.Int).SetString(digits, base)
	return token{kind: tInt, pos: p, big: bi}
}

func describeRune(r rune) string {
	if r < 0 {
		return "end of input"
	}
	return quoteText(string(r), '\'')
}

func (lx *lexer) quoted(q rune, p Pos) (string, *Error) {
	lx.advance() // opening quote
	// Fast path: no escape before the closing quote; the text is a slice of the source.
	start := lx.i
	for j := start; j < len(lx.src); j++ {
		c := lx.src[j]
		if c == '\\' {
			break
		}
		if rune(c) == q {
			for lx.i < j {
				lx.advance()
			}
			lx.advance()
			return string(lx.src[start:j]), nil
		}
	}
	var b strings.Builder
	for {
		if lx.eof() {
			what := "string"
			if q == '\'' {
				what = "quoted atom"
			}
			return "", lx.errf(p, "found an unterminated %s, expected a closing %c", what, q)
		}
		r := lx.peekAt(0)
		if r == q {
			lx.advance()
			return b.String(), nil
		}
		c, err := lx.char(p)
		if err != nil {
			return "", err
		}
		b.WriteRune(c)
	}
}

// char reads one character or escape sequence (inside quotes or after '$').
func (lx *lexer) char(start Pos) (rune, *Error) {
	p := lx.pos()
	r := lx.advance()
	if r != '\\' {
		return r, nil
	}
	if lx.eof() {
		return 0, lx.errf(start, "found end of input in an escape sequence, expected a character")
	}
	r = lx.advance()
	switch r {
	case 'b':
		return '\b', nil
	case 'd':
		return 0x7f, nil
	case 'e':
		return 0x1b, nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 's':
		return ' ', nil
	case 't':
		return '\t', nil
	case 'v':
		return '\v', nil
	case '^':
		if lx.eof() {
			return 0, lx.errf(p, "found end of input after \\^, expected a character")
		}
		return lx.advance() & 31, nil
	case 'x':
		return lx.hexEscape(p)
	}
	if r >= '0' && r <= '7' {
		v := r - '0'
		for k := 0; k < 2 && lx.peekAt(0) >= '0' && lx.peekAt(0) <= '7'; k++ {
			v = v*8 + (lx.advance() - '0')
		}
		return v, nil
	}
	return r, nil // an unknown escape is the character itself
}

func (lx *lexer) hexEscape(p Pos) (rune, *Error) {
	bad := func() (rune, *Error) {
		return 0, lx.errf(p, "found an illegal escape, expected \\xHH or \\x{H...} naming a Unicode code point")
	}
	if lx.peekAt(0) == '{' {
		lx.advance()
		var v int64
		n := 0
		for digitVal(lx.peekAt(0)) < 16 {
			v = v*16 + int64(digitVal(lx.advance()))
			n++
			if v > 0x10FFFF {
				return bad()
			}
		}
		if n == 0 || lx.peekAt(0) != '}' {
			return bad()
		}
		lx.advance()
		if (v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF { // erl_scan refuses these too
			return bad()
		}
		return rune(v), nil
	}
	if digitVal(lx.peekAt(0)) < 16 && digitVal(lx.peekAt(1)) < 16 {
		hi := digitVal(lx.advance())
		lo := digitVal(lx.advance())
		return rune(hi*16 + lo), nil
	}
	return bad()
}
