package kernelcfg

import (
	"math/big"
	"strings"
	"unicode/utf8"
)

// The lexer follows erl_scan for the subset of Erlang a config file uses. It scans bytes and
// decodes a code point only where a byte is not ASCII, so that columns stay code-point counts
// at the price of one counter (see lexer.pos). Names and strings without escapes are slices
// of the source text: a token allocates nothing.

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

// token is one token. It holds no pointers, so that reading the next one into the parser
// costs plain stores (no write barriers while the collector runs): its text is a range of the
// source, or the lexer's esc for a quoted text with escapes, and an integer too large for
// ival is the lexer's big. Both stay valid until the next token is read.
type token struct {
	kind       tokKind
	pos        Pos
	start, end int    // the text (name, punctuation, quoted text without quotes) is src[start:end]
	esc        bool   // the text is lexer.esc
	big        bool   // the integer is lexer.big
	punct      uint16 // punctuation as punctCode gives it
	ival       int64
	fval       float64
}

// set makes t a token of the given kind, position and text range with every other field
// zero. It stores field by field: a composite literal would be built on the stack and copied,
// and that copy was a tenth of the parse time.
func (t *token) set(kind tokKind, p Pos, start, end int) {
	t.kind, t.pos, t.start, t.end = kind, p, start, end
	t.esc, t.big, t.punct, t.ival, t.fval = false, false, 0, 0, 0
}

// isReserved reports whether name is a reserved word, which must be quoted to be an atom
// (OTP 25: maybe/else are plain atoms).
func isReserved(name string) bool {
	switch name {
	case "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
		"case", "catch", "cond", "div", "end", "fun", "if", "let", "not", "of", "or",
		"orelse", "receive", "rem", "try", "when", "xor":
		return true
	}
	return false
}

const maxAtomLen = 255

// nameByte marks the ASCII bytes that may continue an unquoted atom or a variable.
var nameByte = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		r := rune(c)
		t[c] = (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || isDigit(r) || r == '_' || r == '@'
	}
	return t
}()

// lexer scans valid UTF-8 text (decode guarantees it).
//
// Positions are kept lazily: the column of byte offset i is the number of code points between
// the start of its line and i, plus one, which is i - lineStart - cont + 1 where cont counts
// the UTF-8 continuation bytes passed since lineStart. Every move of i past a non-ASCII byte
// or a newline goes through code that keeps line, lineStart and cont right.
type lexer struct {
	file      string
	src       string
	i         int // byte offset
	line      int
	lineStart int      // byte offset where the current line starts
	cont      int      // UTF-8 continuation bytes in src[lineStart:i]
	esc       string   // the text of the last quoted token with escapes
	big       *big.Int // the value of the last integer token too large for an int64
}

func newLexer(file, src string) lexer { return lexer{file: file, src: src, line: 1} }

func (lx *lexer) pos() Pos { return Pos{lx.line, lx.i - lx.lineStart - lx.cont + 1} }

func (lx *lexer) eof() bool { return lx.i >= len(lx.src) }

// peek returns the code point at the current offset, -1 at the end.
func (lx *lexer) peek() rune {
	if lx.i >= len(lx.src) {
		return -1
	}
	if c := lx.src[lx.i]; c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.i:])
	return r
}

// peekByte returns the byte k bytes ahead, 0 past the end (0 is never a digit or a quote).
func (lx *lexer) peekByte(k int) byte {
	if lx.i+k < len(lx.src) {
		return lx.src[lx.i+k]
	}
	return 0
}

// advance moves past one code point and returns it; the caller has checked the end.
func (lx *lexer) advance() rune {
	c := lx.src[lx.i]
	if c < utf8.RuneSelf {
		lx.i++
		if c == '\n' {
			lx.newline()
		}
		return rune(c)
	}
	r, n := utf8.DecodeRuneInString(lx.src[lx.i:])
	lx.i += n
	lx.cont += n - 1
	return r
}

// newline records that the byte before lx.i was a newline.
func (lx *lexer) newline() {
	lx.line++
	lx.lineStart = lx.i
	lx.cont = 0
}

// skipTo moves to byte offset j, counting the newlines and code points passed.
func (lx *lexer) skipTo(j int) {
	for lx.i < j {
		c := lx.src[lx.i]
		lx.i++
		if c == '\n' {
			lx.newline()
		} else if c&0xC0 == 0x80 {
			lx.cont++
		}
	}
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
				return
			}
			lx.i += nl // the comment's code points do not matter: the newline resets the count
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(lx.src[lx.i:])
			if !isWhite(r) {
				return
			}
			lx.i += n
			lx.cont += n - 1
		default:
			return
		}
	}
}

func (lx *lexer) errf(p Pos, format string, args ...any) *Error {
	return errAt(lx.file, p, ErrSyntax, format, args...)
}

// Classes of the first byte of a token, for next's dispatch.
const (
	cOther    = iota // other punctuation
	cLower           // a-z
	cName            // A-Z, _
	cDigit           // 0-9
	cPunct           // punctuation that is one token whatever follows
	cSpace           // white space or '%': skipSpace has work to do
	cNonASCII        // a byte >= 0x80: maybe white space, decoded first
)

var byteClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c <= ' ' || c == '%':
			t[c] = cSpace
		case c >= 'a' && c <= 'z':
			t[c] = cLower
		case (c >= 'A' && c <= 'Z') || c == '_':
			t[c] = cName
		case c >= '0' && c <= '9':
			t[c] = cDigit
		case c >= utf8.RuneSelf:
			t[c] = cNonASCII
		case strings.IndexByte(",[]{}()#", byte(c)) >= 0:
			t[c] = cPunct
		}
	}
	return t
}()

// next reads the next token into t.
func (lx *lexer) next(t *token) *Error {
	if lx.i < len(lx.src) && byteClass[lx.src[lx.i]] >= cSpace {
		lx.skipSpace() // also for a byte >= 0x80: white space includes U+0080..U+00A0
	}
	p, start := lx.pos(), lx.i
	if lx.i >= len(lx.src) {
		t.set(tEOF, p, 0, 0)
		return nil
	}
	c := lx.src[lx.i]
	switch byteClass[c] {
	case cPunct:
		lx.i++
		t.set(tPunct, p, start, lx.i)
		t.punct = uint16(c)
		return nil
	case cLower:
		return lx.atom(t, p, start)
	}
	r := rune(c)
	if c >= utf8.RuneSelf {
		r, _ = utf8.DecodeRuneInString(lx.src[lx.i:])
	}
	switch {
	case isAtomStart(r):
		return lx.atom(t, p, start)
	case isVarStart(r):
		lx.name()
		t.set(tVar, p, start, lx.i)
		return nil
	case isDigit(r):
		return lx.number(t, p)
	case r == '$':
		lx.i++
		if lx.eof() {
			return lx.errf(p, "found end of input after '$', expected a character")
		}
		v, err := lx.char(p)
		if err != nil {
			return err
		}
		t.set(tInt, p, 0, 0)
		t.ival = int64(v)
		return nil
	case r == '"':
		return lx.quoted(t, tString, p)
	case r == '\'':
		if err := lx.quoted(t, tAtom, p); err != nil {
			return err
		}
		if t.esc || t.end-t.start > maxAtomLen {
			s := lx.text(t)
			if n := utf8.RuneCountInString(s); n > maxAtomLen {
				return lx.errf(p, "found an atom of %d characters, expected at most %d", n, maxAtomLen)
			}
		}
		return nil
	case r == '.':
		lx.i++
		if n := lx.peek(); n < 0 || isWhite(n) || n == '%' {
			t.set(tDot, p, start, lx.i)
			return nil
		}
		t.set(tPunct, p, start, lx.i)
		t.punct = '.'
		return nil
	}
	return lx.punct(t, p, r)
}

// atom reads an unquoted atom or reserved word that starts at byte offset start.
func (lx *lexer) atom(t *token, p Pos, start int) *Error {
	name, n := lx.name()
	if n > maxAtomLen {
		return lx.errf(p, "found an atom of %d characters, expected at most %d", n, maxAtomLen)
	}
	kind := tAtom
	if isReserved(name) {
		kind = tReserved
	}
	t.set(kind, p, start, lx.i)
	return nil
}

// text returns the text of the token the lexer read last.
func (lx *lexer) text(t *token) string {
	if t.esc {
		return lx.esc
	}
	return lx.src[t.start:t.end]
}
