package kernelcfg

import (
	"math"
	"math/big"
	"unicode/utf16"
	"unicode/utf8"
)

// Binaries: <<Seg, ...>> where Seg is Value[:Size][/Type-Spec-...]. Value is an integer, a
// character, a float or a string; the types integer, float, utf8, utf16, utf32 with big,
// little, native, signed, unsigned and unit:N are evaluated as erl_parse:parse_term does.
// The result must be whole bytes (bitstrings are refused).

type binSeg struct {
	val    Term // *Int, *Float or *String
	at     Pos
	size   int64 // -1 = default
	typ    string
	little bool
	unit   int64
}

type bitWriter struct {
	bytes []byte
	nbits int
}

// uint writes the low n bits of v (n <= 64), most significant first.
func (w *bitWriter) uint(v uint64, n int) {
	if w.nbits%8 == 0 && n%8 == 0 {
		for k := n - 8; k >= 0; k -= 8 {
			w.bytes = append(w.bytes, byte(v>>uint(k)))
		}
		w.nbits += n
		return
	}
	for i := n - 1; i >= 0; i-- {
		w.bit(uint(v>>uint(i)) & 1)
	}
}

func (w *bitWriter) bit(b uint) {
	if w.nbits%8 == 0 {
		w.bytes = append(w.bytes, 0)
	}
	if b != 0 {
		w.bytes[len(w.bytes)-1] |= 0x80 >> (w.nbits % 8)
	}
	w.nbits++
}

// bigBits writes the low bits of v, most significant first.
func (w *bitWriter) bigBits(v *big.Int, bits int64) {
	for i := bits - 1; i >= 0; i-- {
		w.bit(v.Bit(int(i)))
	}
}

// smallBits writes v modulo 2^bits (two's complement), most significant bit first.
func (w *bitWriter) smallBits(v int64, bits int64) {
	var sign uint64
	if v < 0 {
		sign = ^uint64(0)
	}
	for ; bits > 64; bits -= 64 {
		w.uint(sign, 64)
	}
	w.uint(uint64(v), int(bits))
}

func (p *parser) binary() (Term, *Error) {
	b := p.binaries.alloc()
	b.At = p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isPunct(">>") {
		return b, p.advance()
	}
	// The bytes are built in the parser's scratch buffer (taken, so that a binary nested in a
	// segment cannot share it) and then copied to an exact-size slice.
	w := bitWriter{bytes: p.binBuf[:0]}
	p.binBuf = nil
	for {
		seg, err := p.binSegment()
		if err != nil {
			return nil, err
		}
		if err := p.writeSeg(&w, &seg); err != nil {
			return nil, err
		}
		if p.isPunct(",") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.expect(">>", "',' or '>>'"); err != nil {
			return nil, err
		}
		if w.nbits%8 != 0 {
			return nil, errAt(p.file, b.At, ErrSyntax, "found a bitstring of %d bits, expected a binary of whole bytes", w.nbits)
		}
		b.Bytes = p.byteSlab.copy(w.bytes)
		p.binBuf = w.bytes[:0]
		return b, nil
	}
}

func (p *parser) binSegment() (binSeg, *Error) {
	seg := binSeg{at: p.tok.pos, size: -1, typ: "", unit: 0}
	switch p.tok.kind {
	case tString:
		v, err := p.strings()
		if err != nil {
			return seg, err
		}
		seg.val = v
	case tInt, tFloat:
		seg.val = p.numberTerm(&p.tok, false)
		if err := p.advance(); err != nil {
			return seg, err
		}
	case tPunct:
		var v Term
		var err *Error
		switch p.text() {
		case "-", "+":
			v, err = p.signed()
		case "(":
			v, err = p.term(0)
			if err == nil {
				switch v.(type) {
				case *Int, *Float, *String:
				default:
					return seg, errAt(p.file, v.Pos(), ErrSyntax, "found %s, expected an integer, a float or a string in the binary", short(v))
				}
			}
		default:
			return seg, p.unexpected("an integer, a float or a string in the binary")
		}
		if err != nil {
			return seg, err
		}
		seg.val = v
	default:
		return seg, p.unexpected("an integer, a float or a string in the binary")
	}
	if p.isPunct(":") {
		if err := p.advance(); err != nil {
			return seg, err
		}
		parens := 0
		for ; p.isPunct("("); parens++ {
			if err := p.advance(); err != nil {
				return seg, err
			}
		}
		if p.tok.kind != tInt || p.tok.big || p.tok.ival > 1<<20 {
			return seg, p.unexpected("a segment size (an integer)")
		}
		seg.size = p.tok.ival
		if err := p.advance(); err != nil {
			return seg, err
		}
		for ; parens > 0; parens-- {
			if err := p.expect(")", "')'"); err != nil {
				return seg, err
			}
		}
	}
	if p.isPunct("/") {
		for {
			if err := p.advance(); err != nil {
				return seg, err
			}
			if err := p.binType(&seg); err != nil {
				return seg, err
			}
			if !p.isPunct("-") {
				break
			}
		}
	}
	return seg, nil
}

func (p *parser) binType(seg *binSeg) *Error {
	if p.tok.kind != tAtom {
		return p.unexpected("a segment type such as integer, float, utf8, little")
	}
	name := p.text()
	switch name {
	case "integer", "float", "utf8", "utf16", "utf32":
		seg.typ = name
	case "big", "signed", "unsigned":
	case "little", "native":
		seg.little = true
	case "unit":
		if err := p.advance(); err != nil {
			return err
		}
		if err := p.expect(":", "':' after unit"); err != nil {
			return err
		}
		if p.tok.kind != tInt || p.tok.big || p.tok.ival < 1 || p.tok.ival > 256 {
			return p.unexpected("a unit from 1 to 256")
		}
		seg.unit = p.tok.ival
	default:
		return p.unexpected("a segment type gotp evaluates (integer, float, utf8, utf16, utf32, big, little, native, signed, unsigned, unit:N)")
	}
	return p.advance()
}

func (p *parser) writeSeg(w *bitWriter, seg *binSeg) *Error {
	switch v := seg.val.(type) {
	case *String:
		if seg.typ == "float" {
			return p.badSeg(seg, "found a string with type float, expected integer or utf types")
		}
		for _, r := range v.Value {
			if err := p.writeInt(w, seg, int64(r), nil); err != nil {
				return err
			}
		}
		return nil
	case *Int:
		return p.writeInt(w, seg, v.Small, v.Big)
	}
	// A float: only a float segment takes it.
	switch seg.typ {
	case "", "integer":
		return p.badSeg(seg, "found %s in an integer segment, expected an integer (write /float for a float)", seg.val)
	case "float":
		return p.writeFloat(w, seg, seg.val.(*Float).Value)
	}
	return p.badSeg(seg, "found %s in a %s segment, expected a Unicode code point without a size", seg.val, seg.typ)
}

func (p *parser) badSeg(seg *binSeg, format string, args ...any) *Error {
	return errAt(p.file, seg.at, ErrSyntax, format, args...)
}

// writeInt writes an integer (small, or bv when it is not nil) as the segment's type says.
func (p *parser) writeInt(w *bitWriter, seg *binSeg, small int64, bv *big.Int) *Error {
	switch seg.typ {
	case "", "integer":
		size, unit := seg.size, seg.unit
		if size < 0 {
			size = 8
		}
		if unit == 0 {
			unit = 1
		}
		bits := size * unit
		if bits > 1<<16 {
			return p.badSeg(seg, "found a segment of %d bits, expected at most 65536", bits)
		}
		if seg.little && bits%8 != 0 {
			return p.badSeg(seg, "found a little-endian segment of %d bits, expected whole bytes", bits)
		}
		if bv != nil {
			writeBigInt(w, bv, bits, seg.little)
			return nil
		}
		if !seg.little {
			w.smallBits(small, bits)
			return nil
		}
		for k := int64(0); k < bits/8; k++ {
			b := small >> 63 // the sign byte beyond the 8 bytes of an int64
			if k < 8 {
				b = small >> uint(8*k)
			}
			w.uint(uint64(b), 8)
		}
	case "float":
		f := float64(small)
		if bv != nil {
			f, _ = new(big.Float).SetInt(bv).Float64()
		}
		return p.writeFloat(w, seg, f)
	default: // utf8, utf16, utf32
		r := small
		if bv != nil || r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF) || seg.size >= 0 {
			return p.badSeg(seg, "found %s in a %s segment, expected a Unicode code point without a size", &Int{Small: small, Big: bv, At: seg.at}, seg.typ)
		}
		switch seg.typ {
		case "utf8":
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], rune(r))] {
				w.uint(uint64(c), 8)
			}
		case "utf16":
			if r1, r2 := utf16.EncodeRune(rune(r)); r1 != utf8.RuneError {
				writeUint(w, uint64(r1), 16, seg.little)
				writeUint(w, uint64(r2), 16, seg.little)
			} else {
				writeUint(w, uint64(r), 16, seg.little)
			}
		case "utf32":
			writeUint(w, uint64(r), 32, seg.little)
		}
	}
	return nil
}

// writeBigInt writes v modulo 2^bits (two's complement); little-endian needs whole bytes.
func writeBigInt(w *bitWriter, v *big.Int, bits int64, little bool) {
	v = new(big.Int).Set(v)
	if v.Sign() < 0 {
		v.Mod(v, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	}
	if !little {
		w.bigBits(v, bits)
		return
	}
	for k := int64(0); k < bits/8; k++ {
		w.bigBits(new(big.Int).Rsh(v, uint(8*k)), 8)
	}
}

func (p *parser) writeFloat(w *bitWriter, seg *binSeg, f float64) *Error {
	size := seg.size
	if size < 0 {
		size = 64
	}
	switch size {
	case 64:
		writeUint(w, math.Float64bits(f), 64, seg.little)
	case 32:
		writeUint(w, uint64(math.Float32bits(float32(f))), 32, seg.little)
	default:
		return p.badSeg(seg, "found a float segment of size %d, expected 32 or 64", size)
	}
	return nil
}

// writeUint writes the low bits of v (a multiple of 8), big- or little-endian.
func writeUint(w *bitWriter, v uint64, bits int64, little bool) {
	if !little {
		w.uint(v, int(bits))
		return
	}
	for k := int64(0); k < bits/8; k++ {
		w.uint(v>>uint(8*k), 8)
	}
}
