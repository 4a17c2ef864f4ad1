package kernelcfg

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The lexer's readers of names, numbers, punctuation, quoted text and escapes.

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

// punct reads punctuation starting with the code point r (not white space, not a letter).
func (lx *lexer) punct(t *token, p Pos, r rune) *Error {
	if r > 0xFF {
		return lx.errf(p, "found illegal character %s, expected a term (quote it)", quoteText(string(r), '\''))
	}
	start, code := lx.i, uint16(r)
	if r < utf8.RuneSelf {
		// Every two-character token is ASCII, so the next byte is the next code point here.
		if n := lx.peekByte(1); twoCharPunct(r, rune(n)) != "" {
			lx.i += 2
			code |= uint16(n) << 8
		} else {
			lx.i++ // not a newline: skipSpace stopped here
		}
	} else {
		lx.advance()
	}
	t.set(tPunct, p, start, lx.i)
	t.punct = code
	return nil
}

// punctCode is a punctuation token's code: its code point (ASCII or Latin-1), or for two
// characters the first one plus the second one shifted left by 8.
func punctCode(s string) uint16 {
	if len(s) == 1 {
		return uint16(s[0])
	}
	return uint16(s[0]) | uint16(s[1])<<8
}

// name moves past an unquoted atom or a variable and returns its text (a slice of the source)
// and its length in code points.
func (lx *lexer) name() (string, int) {
	start, cont := lx.i, 0
	j := start
	for j < len(lx.src) {
		c := lx.src[j]
		if c < utf8.RuneSelf {
			if !nameByte[c] {
				break
			}
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(lx.src[j:])
		if !isNameChar(r) {
			break
		}
		j += n
		cont += n - 1
	}
	lx.i = j
	lx.cont += cont
	return lx.src[start:j], j - start - cont
}

// digits moves past digits valid in base, with single '_' separators between digits, and
// returns how many digits it passed and whether it passed a separator. It passes ASCII only.
func (lx *lexer) digits(base int) (n int, sep bool) {
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		if digitVal(rune(c)) < base {
			lx.i++
			n++
			continue
		}
		if c == '_' && n > 0 && digitVal(rune(lx.peekByte(1))) < base {
			lx.i++
			sep = true
			continue
		}
		break
	}
	return n, sep
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

// number reads an integer (decimal or Base#Digits) or a float; the current byte is a digit.
func (lx *lexer) number(t *token, p Pos) *Error {
	start := lx.i
	_, sep := lx.digits(10)
	if lx.peekByte(0) == '#' {
		text := lx.src[start:lx.i]
		if sep {
			text = strings.ReplaceAll(text, "_", "")
		}
		base, err := strconv.Atoi(text)
		if err != nil || base < 2 || base > 36 {
			return lx.errf(p, "found base %s, expected a base from 2 to 36", text)
		}
		lx.i++
		dstart := lx.i
		n, dsep := lx.digits(base)
		if n == 0 {
			return lx.errf(lx.pos(), "found %s after %d#, expected base-%d digits", describeRune(lx.peek()), base, base)
		}
		text = lx.src[dstart:lx.i]
		if dsep {
			text = strings.ReplaceAll(text, "_", "")
		}
		lx.intToken(t, p, text, base)
		return nil
	}
	if lx.peekByte(0) == '.' && isDigit(rune(lx.peekByte(1))) {
		return lx.float(t, p, start, sep)
	}
	text := lx.src[start:lx.i]
	if sep {
		text = strings.ReplaceAll(text, "_", "")
	}
	lx.intToken(t, p, text, 10)
	return nil
}

// float reads the rest of a float whose integer part started at byte offset start; the
// current byte is the dot. dirty tells that the text so far has a separator.
func (lx *lexer) float(t *token, p Pos, start int, dirty bool) *Error {
	lx.i++
	_, sep := lx.digits(10)
	dirty = dirty || sep
	if e := lx.peekByte(0); e == 'e' || e == 'E' {
		lx.i++
		if s := lx.peekByte(0); s == '+' || s == '-' {
			lx.i++
		}
		n, sep := lx.digits(10)
		dirty = dirty || sep || e == 'E'
		if n == 0 {
			return lx.errf(p, "found an illegal float %s, expected digits after the exponent", floatText(lx.src[start:lx.i], dirty))
		}
	}
	text := floatText(lx.src[start:lx.i], dirty)
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && math.IsInf(f, 0) {
		return lx.errf(p, "found an illegal float %s, expected a float in range", text)
	}
	t.set(tFloat, p, 0, 0)
	t.fval = f
	return nil
}

// floatText returns a float's source text without separators and with a lower-case exponent
// mark; dirty tells whether there is anything to change.
func floatText(s string, dirty bool) string {
	if !dirty {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "_", ""), "E", "e")
}

// intToken sets t to the integer written as digits (at least one, valid in base).
func (lx *lexer) intToken(t *token, p Pos, digits string, base int) {
	if base == 10 && len(digits) <= 18 { // fits in an int64 whatever the digits
		var v int64
		for i := 0; i < len(digits); i++ {
			v = v*10 + int64(digits[i]-'0')
		}
		t.set(tInt, p, 0, 0)
		t.ival = v
		return
	}
	if v, err := strconv.ParseInt(digits, base, 64); err == nil {
		t.set(tInt, p, 0, 0)
		t.ival = v
		return
	}
	lx.big, _ = new(big.Int).SetString(digits, base)
	t.set(tInt, p, 0, 0)
	t.big = true
}

func describeRune(r rune) string {
	if r < 0 {
		return "end of input"
	}
	return quoteText(string(r), '\'')
}

// quoted reads a string (kind tString) or a quoted atom (tAtom) into t; the current byte is
// the opening quote. Text without escapes stays a range of the source.
func (lx *lexer) quoted(t *token, kind tokKind, p Pos) *Error {
	q := lx.src[lx.i]
	lx.i++ // opening quote
	start := lx.i
	lx.plain(q)
	if lx.i < len(lx.src) && lx.src[lx.i] == q {
		lx.i++
		t.set(kind, p, start, lx.i-1)
		return nil
	}
	s, err := lx.escaped(q, p, start)
	if err != nil {
		return err
	}
	lx.esc = s
	t.set(kind, p, 0, 0)
	t.esc = true
	return nil
}

// escaped reads the rest of a quoted text that started at byte offset start and has an escape
// at the current offset, and returns its value.
func (lx *lexer) escaped(q byte, p Pos, start int) (string, *Error) {
	var b strings.Builder
	b.WriteString(lx.src[start:lx.i])
	for {
		if lx.eof() {
			what := "string"
			if q == '\'' {
				what = "quoted atom"
			}
			return "", lx.errf(p, "found an unterminated %s, expected a closing %c", what, q)
		}
		if lx.src[lx.i] == q {
			lx.i++
			return b.String(), nil
		}
		c, err := lx.char(p) // an escape: plain stopped at a backslash
		if err != nil {
			return "", err
		}
		b.WriteRune(c)
		from := lx.i
		lx.plain(q)
		b.WriteString(lx.src[from:lx.i])
	}
}

// plain moves to the next byte q or backslash (or the end), counting newlines and code points.
func (lx *lexer) plain(q byte) {
	src, i, cont := lx.src, lx.i, lx.cont
	for ; i < len(src); i++ {
		c := src[i]
		switch {
		case c == q || c == '\\':
			lx.i, lx.cont = i, cont
			return
		case c == '\n':
			lx.line++
			lx.lineStart = i + 1
			cont = 0
		case c&0xC0 == 0x80:
			cont++
		}
	}
	lx.i, lx.cont = i, cont
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
		for k := 0; k < 2 && lx.peekByte(0) >= '0' && lx.peekByte(0) <= '7'; k++ {
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
	if lx.peekByte(0) == '{' {
		lx.i++
		var v int64
		n := 0
		for digitVal(rune(lx.peekByte(0))) < 16 {
			v = v*16 + int64(digitVal(lx.advance()))
			n++
			if v > 0x10FFFF {
				return bad()
			}
		}
		if n == 0 || lx.peekByte(0) != '}' {
			return bad()
		}
		lx.i++
		if (v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF { // erl_scan refuses these too
			return bad()
		}
		return rune(v), nil
	}
	if digitVal(rune(lx.peekByte(0))) < 16 && digitVal(rune(lx.peekByte(1))) < 16 {
		hi := digitVal(lx.advance())
		lo := digitVal(lx.advance())
		return rune(hi*16 + lo), nil
	}
	return bad()
}
