package kernelcfg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser and the loader: they must never panic, every
// failure must be a one-line *Error with a sane position, and a parsed term must survive a
// round trip through its own rendering.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/configs/*/*.config")
	more, _ := filepath.Glob("../testdata/*.config")
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"[a|b].", "<<1:4,2:4>>.", "#{a=>1}.", "$\\x{41}.", "'\\^a'.", "-(1).", "16#fF_f.", "1.0e-3.", "1.0e300.", "[{kernel, [{distributed, [{a, 1, [b@c, {d@e}]}]}]}, {gotp, [{seeds, [\"h:1\"]}]}]."} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		term, err := ParseFile("f.config", src)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Col < 1 || strings.Contains(err.Error(), "\n") || !errors.Is(err, ErrSyntax) {
				t.Fatalf("bad error %#v for %q", err, src)
			}
			return
		}
		// The rendering is valid Erlang that parses back to an equal term.
		again, err := ParseFile("g.config", []byte(term.String()+"."))
		if err != nil {
			t.Fatalf("rendering %s of %q does not parse: %v", term, src, err)
		}
		if !Equal(term, again) {
			t.Fatalf("round trip of %q: %s != %s", src, term, again)
		}
		// The loader's checks on a parsed term never panic either.
		read := func(string) ([]byte, error) { return src, nil }
		if _, err := Load([]string{"c"}, LoadOptions{ReadFile: read}); err != nil {
			var ce *Error
			if !errors.As(err, &ce) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("bad load error %#v", err)
			}
		}
	})
}
