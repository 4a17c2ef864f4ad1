package epmd

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Message codes of the EPMD protocol (the first byte of a request body or of a response).
const (
	CodeAlive2Req      byte = 'x' // 120: register a node
	CodeAlive2Resp     byte = 'y' // 121: registration answer, 16-bit creation
	CodeAlive2XResp    byte = 'v' // 118: registration answer, 32-bit creation
	CodePortPlease2Req byte = 'z' // 122: look a node up by name
	CodePort2Resp      byte = 'w' // 119: lookup answer
	CodeNamesReq       byte = 'n' // 110: list registered names
)

// Node types carried in ALIVE2_REQ and PORT2_RESP.
const (
	NodeTypeNormal uint8 = 77 // a normal Erlang (or gotp) node
	NodeTypeHidden uint8 = 72 // a hidden node (C node, CLI, remote shell)
)

// Protocol versions and limits, as real epmd has them.
const (
	// DefaultHighestVersion is the highest distribution version we announce (OTP 23+: 6).
	// A mapper answers ALIVE2_X_RESP (32-bit creation) when the highest version is >= 6.
	DefaultHighestVersion uint16 = 6
	// DefaultLowestVersion is the lowest distribution version we announce.
	DefaultLowestVersion uint16 = 5
	// MaxNameChars is the longest node name in characters (an atom's limit).
	MaxNameChars = 255
	// MaxNameBytes is the longest node name in bytes (255 UTF-8 characters of 4 bytes).
	MaxNameBytes = 255 * 4
	// MaxExtraBytes is the longest "extra" field in bytes.
	MaxExtraBytes = 255 * 4
	// MaxRequestSize is the largest request body real epmd accepts (its 3060-byte buffer
	// less the 2-byte length and a terminating NUL). It is our server's default limit.
	MaxRequestSize = 3*MaxNameBytes - 3
	// alive2Fixed is the size of an ALIVE2_REQ without name and extra.
	alive2Fixed = 13
)

// Request is one of the requests a port mapper serves: *Alive2Req, *PortPlease2Req or
// *NamesReq. The set is closed.
type Request interface {
	code() byte
	appendBody(dst []byte) ([]byte, error)
}

// Alive2Req (ALIVE2_REQ, 'x') registers a node. The embedded Registration holds the fields as
// sent on the wire (no defaults are applied when decoding).
type Alive2Req struct {
	Registration
}

// PortPlease2Req (PORT_PLEASE2_REQ, 'z') asks for the node registered under Name.
type PortPlease2Req struct {
	Name string
}

// NamesReq (NAMES_REQ, 'n') asks for every registered name and port.
type NamesReq struct{}

func (*Alive2Req) code() byte      { return CodeAlive2Req }
func (*PortPlease2Req) code() byte { return CodePortPlease2Req }
func (*NamesReq) code() byte       { return CodeNamesReq }

func (r *Alive2Req) appendBody(dst []byte) ([]byte, error) {
	if err := checkNodeFields("ALIVE2_REQ", r.Name, r.Port, r.Extra); err != nil {
		return nil, err
	}
	dst = append(dst, CodeAlive2Req)
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.Port))
	dst = append(dst, r.NodeType, r.Protocol)
	dst = binary.BigEndian.AppendUint16(dst, r.HighestVersion)
	dst = binary.BigEndian.AppendUint16(dst, r.LowestVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Name)))
	dst = append(dst, r.Name...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Extra)))
	return append(dst, r.Extra...), nil
}

func (r *PortPlease2Req) appendBody(dst []byte) ([]byte, error) {
	if err := checkName("PORT_PLEASE2_REQ", r.Name); err != nil {
		return nil, err
	}
	return append(append(dst, CodePortPlease2Req), r.Name...), nil
}

func (*NamesReq) appendBody(dst []byte) ([]byte, error) {
	return append(dst, CodeNamesReq), nil
}

// EncodeRequest returns the request as sent on the wire: a 2-byte big-endian length, then the
// body. It refuses values the protocol cannot carry (see Registration.Validate for the rules on
// names and extra; the port must fit 16 bits).
func EncodeRequest(r Request) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil request", ErrMalformed)
	}
	buf, err := r.appendBody(make([]byte, 2, 64))
	if err != nil {
		return nil, err
	}
	body := len(buf) - 2
	if body > MaxRequestSize {
		return nil, malformed("request", "body of %d bytes exceeds %d", body, MaxRequestSize)
	}
	binary.BigEndian.PutUint16(buf, uint16(body))
	return buf, nil
}

// ReadRequest reads one length-prefixed request from r and decodes it. A length of 0 or above
// maxSize (MaxRequestSize when maxSize <= 0) is refused before the body is read, so a client
// cannot make the reader allocate more than maxSize bytes.
func ReadRequest(r io.Reader, maxSize int) (Request, error) {
	if maxSize <= 0 || maxSize > 0xFFFF {
		maxSize = MaxRequestSize
	}
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > maxSize {
		return nil, malformed("request", "length %d outside 1..%d", n, maxSize)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return DecodeRequest(body)
}

// DecodeRequest decodes a request body (without its 2-byte length). It never panics; bytes
// that are not a valid ALIVE2_REQ, PORT_PLEASE2_REQ or NAMES_REQ give an error matching
// ErrMalformed.
func DecodeRequest(body []byte) (Request, error) {
	if len(body) == 0 {
		return nil, malformed("request", "empty body")
	}
	switch body[0] {
	case CodeAlive2Req:
		return decodeAlive2Req(body)
	case CodePortPlease2Req:
		return decodePortPlease2Req(body)
	case CodeNamesReq:
		if len(body) != 1 {
			return nil, malformed("NAMES_REQ", "%d trailing bytes", len(body)-1)
		}
		return &NamesReq{}, nil
	default:
		return nil, malformed("request", "unknown code %d", body[0])
	}
}

func decodeAlive2Req(body []byte) (*Alive2Req, error) {
	const msg = "ALIVE2_REQ"
	if len(body) < alive2Fixed {
		return nil, malformed(msg, "%d bytes, need at least %d", len(body), alive2Fixed)
	}
	r := &Alive2Req{}
	r.Port = int(binary.BigEndian.Uint16(body[1:]))
	r.NodeType = body[3]
	r.Protocol = body[4]
	r.HighestVersion = binary.BigEndian.Uint16(body[5:])
	r.LowestVersion = binary.BigEndian.Uint16(body[7:])
	name, rest, err := lenPrefixed(msg, "name", body[9:])
	if err != nil {
		return nil, err
	}
	extra, rest, err := lenPrefixed(msg, "extra", rest)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, malformed(msg, "%d trailing bytes", len(rest))
	}
	r.Name = string(name)
	if len(extra) > 0 {
		r.Extra = append([]byte(nil), extra...)
	}
	if err := checkNodeFields(msg, r.Name, r.Port, r.Extra); err != nil {
		return nil, err
	}
	return r, nil
}

func decodePortPlease2Req(body []byte) (*PortPlease2Req, error) {
	const msg = "PORT_PLEASE2_REQ"
	name := body[1:]
	// Old clients NUL-terminate the name; real epmd tolerates one trailing NUL, so do we.
	if n := len(name); n > 0 && name[n-1] == 0 {
		name = name[:n-1]
	}
	if err := checkName(msg, string(name)); err != nil {
		return nil, err
	}
	return &PortPlease2Req{Name: string(name)}, nil
}

// lenPrefixed splits a 2-byte length and that many bytes off b.
func lenPrefixed(msg, field string, b []byte) (val, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, malformed(msg, "%s length missing", field)
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) {
		return nil, nil, malformed(msg, "%s length %d exceeds the %d bytes left", field, n, len(b))
	}
	return b[:n], b[n:], nil
}

// checkName applies the rules of real epmd to a node name (valid UTF-8, 1..255 characters,
// at most MaxNameBytes bytes, no NUL) and one of ours: no newline, since the NAMES response
// is line-based and could not carry it.
func checkName(msg, name string) error {
	switch {
	case name == "":
		return malformed(msg, "empty node name")
	case len(name) > MaxNameBytes:
		return malformed(msg, "node name of %d bytes exceeds %d", len(name), MaxNameBytes)
	case !utf8.ValidString(name):
		return malformed(msg, "node name is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameChars:
		return malformed(msg, "node name longer than %d characters", MaxNameChars)
	case strings.ContainsAny(name, "\x00\n"):
		return malformed(msg, "node name contains NUL or newline")
	}
	return nil
}

func checkNodeFields(msg, name string, port int, extra []byte) error {
	if err := checkName(msg, name); err != nil {
		return err
	}
	if port < 0 || port > 0xFFFF {
		return malformed(msg, "port %d outside 0..65535", port)
	}
	if len(extra) > MaxExtraBytes {
		return malformed(msg, "extra of %d bytes exceeds %d", len(extra), MaxExtraBytes)
	}
	return nil
}
