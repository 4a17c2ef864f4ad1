package kernelcfg

import (
	"math"
	"math/big"
	"unicode/utf16"
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

func (w *bitWriter) bit(b uint) {
	if w.nbits%8 == 0 {
		w.bytes = append(w.bytes, 0)
	}
	if b != 0 {
		w.bytes[len(w.bytes)-1] |= 0x80 >> (w.nbits % 8)
	}
	w.nbits++
}

// uint writes the low bits of v, most significant first.
func (w *bitWriter) bigBits(v *big.Int, bits int64) {
	for i := bits - 1; i >= 0; i-- {
		w.bit(v.Bit(int(i)))
	}
}

func (p *parser) binary() (Term, *Error) {
	b := &Binary{At: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	w := &bitWriter{}
	if p.isPunct(">>") {
		return b, p.advance()
	}
	for {
		seg, err := p.binSegment()
		if err != nil {
			return nil, err
		}
		if err := p.writeSeg(w, seg); err != nil {
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
		if w.bytes == nil {
			w.bytes = []byte{}
		}
		b.Bytes = w.bytes
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
		seg.val = numberTerm(p.tok, false)
		if err := p.advance(); err != nil {
			return seg, err
		}
	case tPunct:
		var v Term
		var err *Error
		switch p.tok.text {
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
		if p.tok.kind != tInt || p.tok.big != nil || p.tok.ival > 1<<20 {
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
	name := p.tok.text
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
		if p.tok.kind != tInt || p.tok.big != nil || p.tok.ival < 1 || p.tok.ival > 256 {
			return p.unexpected("a unit from 1 to 256")
		}
		seg.unit = p.tok.ival
	default:
		return p.unexpected("a segment type gotp evaluates (integer, float, utf8, utf16, utf32, big, little, native, signed, unsigned, unit:N)")
	}
	return p.advance()
}

func (p *parser) writeSeg(w *bitWriter, seg binSeg) *Error {
	bad := func(format string, args ...any) *Error { return errAt(p.file, seg.at, ErrSyntax, format, args...) }
	if s, ok := seg.val.(*String); ok {
		if seg.typ == "float" {
			return bad("found a string with type float, expected integer or utf types")
		}
		for _, r := range s.Value {
			one := seg
			one.val = &Int{Small: int64(r), At: seg.at}
			if err := p.writeSeg(w, one); err != nil {
				return err
			}
		}
		return nil
	}
	typ := seg.typ
	if typ == "" {
		typ = "integer"
	}
	switch typ {
	case "integer":
		iv, ok := seg.val.(*Int)
		if !ok {
			return bad("found %s in an integer segment, expected an integer (write /float for a float)", seg.val)
		}
		size, unit := seg.size, seg.unit
		if size < 0 {
			size = 8
		}
		if unit == 0 {
			unit = 1
		}
		bits := size * unit
		if bits > 1<<16 {
			return bad("found a segment of %d bits, expected at most 65536", bits)
		}
		v := iv.BigInt()
		if v.Sign() < 0 { // two's complement modulo 2^bits
			v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
			if v.Sign() < 0 {
				v.Mod(v, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
			}
		}
		if seg.little {
			if bits%8 != 0 {
				return bad("found a little-endian segment of %d bits, expected whole bytes", bits)
			}
			for k := int64(0); k < bits/8; k++ {
				w.bigBits(new(big.Int).Rsh(v, uint(8*k)), 8)
			}
			return nil
		}
		w.bigBits(v, bits)
	case "float":
		var f float64
		switch v := seg.val.(type) {
		case *Float:
			f = v.Value
		case *Int:
			bf, _ := new(big.Float).SetInt(v.BigInt()).Float64()
			f = bf
		}
		size := seg.size
		if size < 0 {
			size = 64
		}
		var bits uint64
		switch size {
		case 64:
			bits = math.Float64bits(f)
		case 32:
			bits = uint64(math.Float32bits(float32(f)))
		default:
			return bad("found a float segment of size %d, expected 32 or 64", size)
		}
		p.writeUint(w, bits, size, seg.little)
	default: // utf8, utf16, utf32
		iv, ok := seg.val.(*Int)
		r, fits := int64(-1), false
		if ok {
			r, fits = iv.Int64()
		}
		if !fits || r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF) || seg.size >= 0 {
			return bad("found %s in a %s segment, expected a Unicode code point without a size", seg.val, typ)
		}
		switch typ {
		case "utf8":
			for _, c := range []byte(string(rune(r))) {
				w.bigBits(big.NewInt(int64(c)), 8)
			}
		case "utf16":
			for _, u := range utf16.Encode([]rune{rune(r)}) {
				p.writeUint(w, uint64(u), 16, seg.little)
			}
		case "utf32":
			p.writeUint(w, uint64(r), 32, seg.little)
		}
	}
	return nil
}

func (p *parser) writeUint(w *bitWriter, v uint64, bits int64, little bool) {
	for k := int64(0); k < bits/8; k++ {
		shift := bits - 8*(k+1)
		if little {
			shift = 8 * k
		}
		w.bigBits(big.NewInt(int64((v>>uint(shift))&0xff)), 8)
	}
}
