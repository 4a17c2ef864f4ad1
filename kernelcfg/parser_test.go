package kernelcfg

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

// render prints a term unambiguously for comparisons: like String, but integers that came
// from $c are plain integers and strings keep their quotes.
func render(t Term) string { return t.String() }

func TestParseGrammar(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want string
	}{
		// atoms
		{"plain atom", "joe.", "joe"},
		{"atom with @", "joe@host.", "joe@host"},
		{"atom digits underscore", "a_B9@x.", "a_B9@x"},
		{"latin-1 atom", "\u00e9t\u00e9.", "\u00e9t\u00e9"},
		{"latin-1 sharp s start", "\u00dfx.", "\u00dfx"},
		{"quoted atom", "'n@my-host'.", "'n@my-host'"},
		{"quoted upper", "'Upper'.", "'Upper'"},
		{"quoted dotted", "'cp1@host.example.com'.", "'cp1@host.example.com'"},
		{"quoted reserved", "'case'.", "'case'"},
		{"quoted unicode", "'\u03a9'.", "'\u03a9'"},
		{"quoted plain is plain", "'joe'.", "joe"},
		{"maybe is an atom in OTP 25", "maybe.", "maybe"},
		{"else is an atom in OTP 25", "else.", "else"},
		{"atom of 255", strings.Repeat("a", 255) + ".", strings.Repeat("a", 255)},
		// strings and escapes
		{"string", `"abc".`, `"abc"`},
		{"empty string", `"".`, `""`},
		{"escape b d e f", `"\b\d\e\f".`, `"\x{8}\x{7f}\x{1b}\x{c}"`},
		{"escape n r s t v", `"\n\r\s\t\v".`, `"\n\x{d} \t\x{b}"`},
		{"escape quotes backslash", `"\\\'\"".`, `"\\'\""`},
		{"escape caret", `"\^a\^[".`, `"\x{1}\x{1b}"`},
		{"escape xHH", `"\x41\x6a".`, `"Aj"`},
		{"escape x{H}", `"\x{3a9}\x{41}".`, "\"\u03a9A\""},
		{"escape octal", `"\101\7\400".`, "\"A\\x{7}\u0100\""},
		{"octal stops at 3 digits", `"\1011".`, `"A1"`},
		{"unknown escape is the char", `"\z\8".`, `"z8"`},
		{"escaped newline", "\"a\\\nb\".", `"a\nb"`},
		{"newline in string", "\"a\nb\".", `"a\nb"`},
		{"utf8 string", "\"\u00e9\u03a9\".", "\"\u00e9\u03a9\""},
		{"adjacent strings", `"a" "b""c".`, `"abc"`},
		{"adjacent strings across comment", "\"a\" % x\n \"b\".", `"ab"`},
		// integers
		{"int", "42.", "42"},
		{"negative", "-42.", "-42"},
		{"plus", "+42.", "42"},
		{"sign with space", "- 1.", "-1"},
		{"sign with parens", "-(1).", "-1"},
		{"base 16", "16#FF.", "255"},
		{"base 16 lower", "16#ff.", "255"},
		{"base 2", "2#1010.", "10"},
		{"base 36", "36#zz.", "1295"},
		{"negative base", "-16#10.", "-16"},
		{"underscore", "1_000_000.", "1000000"},
		{"underscore in base", "16#F_F.", "255"},
		{"char", "$a.", "97"},
		{"char space", "$ .", "32"},
		{"char escape", `$\n.`, "10"},
		{"char escape s", `$\s.`, "32"},
		{"char hex", `$\x{41}.`, "65"},
		{"char caret", `$\^?.`, "31"},
		{"negative char", "-$a.", "-97"},
		{"big int", "123456789012345678901234567890.", "123456789012345678901234567890"},
		{"negative big int", "-123456789012345678901234567890.", "-123456789012345678901234567890"},
		// floats
		{"float", "1.5.", "1.5"},
		{"float exp", "1.5e3.", "1500.0"},
		{"float exp plus", "1.5e+3.", "1500.0"},
		{"float exp upper", "1.5E3.", "1500.0"},
		{"float exp minus", "2.5e-3.", "0.0025"},
		{"float underscores", "1_0.0_1e1_0.", "100100000000.0"},
		{"negative float", "-0.5.", "-0.5"},
		// lists
		{"empty list", "[].", "[]"},
		{"list", "[a, b, c].", "[a,b,c]"},
		{"improper list", "[a|b].", "[a|b]"},
		{"tail list is proper", "[a|[b,c]].", "[a,b,c]"},
		{"nested list", "[[a],[]].", "[[a],[]]"},
		{"string tail", `[97|"b"].`, "[97,98]"},
		// tuples
		{"empty tuple", "{}.", "{}"},
		{"tuple", "{a, 1, \"s\"}.", `{a,1,"s"}`},
		{"parenthesised term", "[(a), ((b))].", "[a,b]"},
		// maps
		{"empty map", "#{}.", "#{}"},
		{"map", "#{a => 1, \"k\" => [x]}.", `#{a => 1,"k" => [x]}`},
		{"map later key wins", "#{a => 1, a => 2}.", "#{a => 2}"},
		{"map spaced hash", "# {a => 1}.", "#{a => 1}"},
		// binaries
		{"empty binary", "<<>>.", "<<>>"},
		{"binary bytes", "<<1,2,255>>.", "<<1,2,255>>"},
		{"binary string", `<<"xy">>.`, "<<120,121>>"},
		{"binary wraps", "<<256, -1>>.", "<<0,255>>"},
		{"binary size", "<<1:16>>.", "<<0,1>>"},
		{"binary little", "<<1:16/little>>.", "<<1,0>>"},
		{"binary utf8", `<<"é"/utf8>>.`, "<<195,169>>"},
		{"binary utf16", `<<"x"/utf16>>.`, "<<0,120>>"},
		{"binary nibbles", "<<1:4, 2:4>>.", "<<18>>"},
		{"binary float", "<<1.0/float>>.", "<<63,240,0,0,0,0,0,0>>"},
		{"binary float 32", "<<1.5:32/float>>.", "<<63,192,0,0>>"},
		{"binary string size", `<<"ab":16>>.`, "<<0,97,0,98>>"},
		{"binary char", "<<$a, -$a>>.", "<<97,159>>"},
		{"binary parens", "<<(1):(8), (\"x\")>>.", "<<1,120>>"},
		{"binary type list", "<<1:8/integer-little-unsigned, 1/utf8>>.", "<<1,1>>"},
		// comments, white space, line ends
		{"comment before", "% hi\n[a].", "[a]"},
		{"comment inside", "[a, % one\n b].", "[a,b]"},
		{"comment after dot", "[a]. % done", "[a]"},
		{"comment right after dot", "[a].% done", "[a]"},
		{"no newline at end", "[a].", "[a]"},
		{"crlf", "[a,\r\n b].\r\n", "[a,b]"},
		{"tabs", "[\ta,\tb]\t.", "[a,b]"},
		{"nbsp is white space", "[a,\u00a0b].", "[a,b]"},
		{"control chars after dot", "[a].\x01\x02", "[a]"},
		{"latin-1 coding comment", "%% -*- coding: latin-1 -*-\n[\xe9t\xe9].", "[\u00e9t\u00e9]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			term, err := ParseFile("t.config", []byte(c.src))
			if err != nil {
				t.Fatalf("ParseFile(%q): %v", c.src, err)
			}
			if got := render(term); got != c.want {
				t.Fatalf("ParseFile(%q) = %s, want %s", c.src, got, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"empty file", "", 1, 1, "found end of input, expected one list"},
		{"missing final dot", "[a]", 1, 4, "expected a final dot"},
		{"missing dot after newline", "[a,\n b]\n", 3, 1, "expected a final dot"},
		{"dot needs white space", "[a].b", 1, 4, "expected a final dot"},
		{"second term", "[a]. [b].", 1, 6, "ONE list"},
		{"unclosed list", "[a, b.", 1, 6, "found the final dot, expected ',' or ']'"},
		{"hyphen in unquoted atom", "[joe@my-host].", 1, 8, "found '-', expected ',' or ']'"},
		{"dotted unquoted atom", "[a@b.c].", 1, 5, "found '.'"},
		{"variable", "[a, X].", 1, 5, "found variable X, expected a term"},
		{"underscore variable", "[_].", 1, 2, "found variable _"},
		{"reserved word", "[a, case].", 1, 5, "found reserved word case"},
		{"reserved andalso", "{andalso}.", 1, 2, "reserved word andalso"},
		{"operator", "[1+2].", 1, 3, "found '+', expected ',' or ']'"},
		{"double sign", "- - 1.", 1, 3, "expected a number after the sign"},
		{"sign on atom", "-a.", 1, 2, "expected a number after the sign"},
		{"tail then more", "[a|b,c].", 1, 5, "expected ']' after the tail"},
		{"empty head", "[|b].", 1, 2, "found '|', expected a term"},
		{"tuple missing comma", "{a b}.", 1, 4, "found atom b, expected ',' or '}'"},
		{"map :=", "#{a := 1}.", 1, 5, "found ':=', expected '=>'"},
		{"record", "#r{}.", 1, 2, "found atom r, expected '{' after '#'"},
		{"unterminated string", "[\"abc].", 1, 2, "unterminated string"},
		{"unterminated atom", "['abc].", 1, 2, "unterminated quoted atom"},
		{"bad hex escape", `["\xg"].`, 1, 3, "illegal escape"},
		{"one hex digit", `["\x4"].`, 1, 3, "illegal escape"},
		{"code point too big", `["\x{110000}"].`, 1, 3, "illegal escape"},
		{"surrogate", `["\x{D800}"].`, 1, 3, "illegal escape"},
		{"noncharacter", `["\x{FFFE}"].`, 1, 3, "illegal escape"},
		{"base too big", "[37#1].", 1, 2, "found base 37, expected a base from 2 to 36"},
		{"base too small", "[1#0].", 1, 2, "found base 1"},
		{"digit outside base", "[2#102].", 1, 6, "found integer 2, expected ',' or ']'"},
		{"double underscore", "[1__0].", 1, 3, "found variable __0"},
		{"trailing underscore", "[1_].", 1, 3, "found variable _"},
		{"float without fraction digits", "[1e3].", 1, 3, "found atom e3"},
		{"float bad exponent", "[1.5e].", 1, 2, "illegal float"},
		{"float out of range", "[1.0e400].", 1, 2, "illegal float"},
		{"atom too long", "[" + strings.Repeat("a", 256) + "].", 1, 2, "256 characters, expected at most 255"},
		{"quoted atom too long", "['" + strings.Repeat("b", 256) + "'].", 1, 2, "256 characters"},
		{"unicode outside quotes", "[\u03a9].", 1, 2, "illegal character"},
		{"byte order mark", "\ufeff[a].", 1, 1, "illegal character"},
		{"invalid utf-8", "[a,\n \xff].", 2, 2, "not UTF-8"},
		{"dollar at end", "$", 1, 1, "after '$'"},
		{"column counts code points", "[\"\u00e9\u00e9\", X].", 1, 8, "variable X"},
		{"tab counts one", "[\ta,\tX].", 1, 6, "variable X"},
		{"crlf line counting", "[a,\r\n X].", 2, 2, "variable X"},
		{"binary bad element", "<<a>>.", 1, 3, "found atom a, expected an integer"},
		{"bitstring", "<<1:4>>.", 1, 1, "bitstring"},
		{"binary unknown type", "<<1/bogus>>.", 1, 5, "segment type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile("t.config", []byte(c.src))
			checkErr(t, err, "t.config", c.line, c.col, c.msg, ErrSyntax)
		})
	}
}

// checkErr asserts err is an *Error at line:col whose message contains msg and whose kind is kind.
func checkErr(t *testing.T, err error, file string, line, col int, msg string, kind error) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v (%T), want *Error", err, err)
	}
	if ce.File != file || ce.Line != line || ce.Col != col {
		t.Errorf("error at %s:%d:%d, want %s:%d:%d (%v)", ce.File, ce.Line, ce.Col, file, line, col, err)
	}
	if !strings.Contains(ce.Msg, msg) {
		t.Errorf("error %q does not contain %q", ce.Msg, msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v is not %v", err, kind)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err.Error())
	}
	if line > 0 && !strings.HasPrefix(err.Error(), ce.File+":") {
		t.Errorf("error %q does not start with FILE:", err.Error())
	}
}

func TestParseTermValues(t *testing.T) {
	t.Parallel()
	term, err := ParseTerm("v", "[{a, 16#7FFFFFFFFFFFFFFF}, 9223372036854775808]")
	if err != nil {
		t.Fatal(err)
	}
	l := term.(*List)
	n := l.Elems[0].(*Tuple).Elems[1].(*Int)
	if v, ok := n.Int64(); !ok || v != 1<<63-1 {
		t.Errorf("max int64 = %d %v", v, ok)
	}
	big1 := l.Elems[1].(*Int)
	if _, ok := big1.Int64(); ok {
		t.Errorf("2^63 fits int64?")
	}
	want, _ := new(big.Int).SetString("9223372036854775808", 10)
	if big1.BigInt().Cmp(want) != 0 {
		t.Errorf("2^63 = %v", big1.BigInt())
	}
	if _, err := ParseTerm("v", "a b"); err == nil {
		t.Errorf("ParseTerm(a b) accepted")
	}
	if tm, err := ParseTerm("v", "x."); err != nil || tm.String() != "x" {
		t.Errorf("ParseTerm with dot: %v %v", tm, err)
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	src := "[{kernel,\n\t[{x, \"\u00e9\u00e9\"}, {y, 'q'}]}]."
	term, err := ParseFile("p.config", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	app := term.(*List).Elems[0].(*Tuple)
	params := app.Elems[1].(*List)
	want := []Pos{{1, 1}, {1, 2}, {2, 2}, {2, 3}, {2, 7}, {2, 14}, {2, 18}}
	got := []Pos{term.Pos(), app.Pos(), params.Pos(), params.Elems[0].Pos(),
		params.Elems[0].(*Tuple).Elems[1].Pos(), params.Elems[1].Pos(), params.Elems[1].(*Tuple).Elems[1].Pos()}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("position %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	pairs := []struct {
		a, b string
		eq   bool
	}{
		{`"ab"`, "[97,98]", true},
		{`""`, "[]", true},
		{"{a,1}", "{a,1}", true},
		{"{a,1}", "{a,1.0}", false},
		{"#{a => 1, b => 2}", "#{b => 2, a => 1}", true},
		{"<<1>>", "<<1>>", true},
		{"[a|b]", "[a|b]", true},
		{"[a|b]", "[a,b]", false},
		{"a", "'a'", true},
	}
	for _, p := range pairs {
		a, err1 := ParseTerm("a", p.a)
		b, err2 := ParseTerm("b", p.b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if Equal(a, b) != p.eq {
			t.Errorf("Equal(%s, %s) = %v, want %v", p.a, p.b, !p.eq, p.eq)
		}
	}
}

func TestDeepNestingRefused(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("[", maxDepth+5) + strings.Repeat("]", maxDepth+5) + "."
	_, err := ParseFile("d.config", []byte(src))
	checkErr(t, err, "d.config", 1, maxDepth+2, "nested deeper", ErrSyntax)
}
