package epmd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Alive2Resp is the answer to ALIVE2_REQ: ALIVE2_X_RESP ('v', 32-bit creation) when Extended,
// ALIVE2_RESP ('y', 16-bit creation) otherwise. Result 0 means registered.
type Alive2Resp struct {
	Result   uint8
	Creation uint32
	Extended bool
}

// EncodeAlive2Resp returns the response bytes. A creation above 65535 cannot be sent in the
// 16-bit variant and is refused.
func EncodeAlive2Resp(r Alive2Resp) ([]byte, error) {
	if r.Extended {
		b := []byte{CodeAlive2XResp, r.Result}
		return binary.BigEndian.AppendUint32(b, r.Creation), nil
	}
	if r.Creation > 0xFFFF {
		return nil, malformed("ALIVE2_RESP", "creation %d does not fit 16 bits", r.Creation)
	}
	b := []byte{CodeAlive2Resp, r.Result}
	return binary.BigEndian.AppendUint16(b, uint16(r.Creation)), nil
}

// DecodeAlive2Resp decodes exactly one ALIVE2_RESP or ALIVE2_X_RESP.
func DecodeAlive2Resp(b []byte) (Alive2Resp, error) {
	const msg = "ALIVE2_RESP"
	if len(b) == 0 {
		return Alive2Resp{}, malformed(msg, "empty")
	}
	switch b[0] {
	case CodeAlive2Resp:
		if len(b) != 4 {
			return Alive2Resp{}, malformed(msg, "%d bytes, want 4", len(b))
		}
		return Alive2Resp{Result: b[1], Creation: uint32(binary.BigEndian.Uint16(b[2:]))}, nil
	case CodeAlive2XResp:
		if len(b) != 6 {
			return Alive2Resp{}, malformed("ALIVE2_X_RESP", "%d bytes, want 6", len(b))
		}
		return Alive2Resp{Result: b[1], Creation: binary.BigEndian.Uint32(b[2:]), Extended: true}, nil
	default:
		return Alive2Resp{}, malformed(msg, "unexpected code %d", b[0])
	}
}

// alive2RespLen returns how many bytes the response starting with code has, or 0 when code
// starts no ALIVE2 response.
func alive2RespLen(code byte) int {
	switch code {
	case CodeAlive2Resp:
		return 4
	case CodeAlive2XResp:
		return 6
	}
	return 0
}

// PortInfo is what a port mapper knows about a registered node (the body of a successful
// PORT2_RESP).
type PortInfo struct {
	Name           string
	Port           int
	NodeType       uint8 // NodeTypeNormal or NodeTypeHidden
	Protocol       uint8 // 0 = TCP/IPv4
	HighestVersion uint16
	LowestVersion  uint16
	Extra          []byte
}

// Hidden reports whether the node registered as a hidden node.
func (p PortInfo) Hidden() bool { return p.NodeType == NodeTypeHidden }

// Port2Resp is the answer to PORT_PLEASE2_REQ. Result 0 means found, and Info is set; any
// other result means not registered, and the response is only the code and the result.
type Port2Resp struct {
	Result uint8
	Info   PortInfo
}

// EncodePort2Resp returns the response bytes.
func EncodePort2Resp(r Port2Resp) ([]byte, error) {
	if r.Result != 0 {
		return []byte{CodePort2Resp, r.Result}, nil
	}
	req := Alive2Req{Registration: Registration(r.Info)}
	body, err := req.appendBody(nil)
	if err != nil {
		return nil, fmt.Errorf("epmd: encode PORT2_RESP: %w", err)
	}
	body[0] = 0 // the result byte takes the place of the request code
	return append([]byte{CodePort2Resp}, body...), nil
}

// DecodePort2Resp decodes exactly one PORT2_RESP.
func DecodePort2Resp(b []byte) (Port2Resp, error) {
	const msg = "PORT2_RESP"
	if len(b) < 2 {
		return Port2Resp{}, malformed(msg, "%d bytes, need at least 2", len(b))
	}
	if b[0] != CodePort2Resp {
		return Port2Resp{}, malformed(msg, "unexpected code %d", b[0])
	}
	if b[1] != 0 {
		if len(b) != 2 {
			return Port2Resp{}, malformed(msg, "error result %d followed by %d bytes", b[1], len(b)-2)
		}
		return Port2Resp{Result: b[1]}, nil
	}
	// After the code, the layout is ALIVE2_REQ's with the result in place of its code.
	body := append([]byte{CodeAlive2Req}, b[2:]...)
	req, err := decodeAlive2Req(body)
	if err != nil {
		if m, ok := err.(*MalformedError); ok {
			m.Message = msg
		}
		return Port2Resp{}, err
	}
	return Port2Resp{Info: PortInfo(req.Registration)}, nil
}

// NameEntry is one line of a NAMES response: a registered node name and its port.
type NameEntry struct {
	Name string
	Port int
}

// NamesResp is the answer to NAMES_REQ: the mapper's own port, then one entry per
// registered node.
type NamesResp struct {
	EPMDPort uint32
	Entries  []NameEntry
}

// EncodeNamesResp returns the response bytes: the port as 4 big-endian bytes, then
// "name NAME at port PORT\n" per entry, the format real epmd uses and erl_epmd parses.
func EncodeNamesResp(r NamesResp) ([]byte, error) {
	b := binary.BigEndian.AppendUint32(nil, r.EPMDPort)
	for _, e := range r.Entries {
		if err := checkNodeFields("NAMES_RESP", e.Name, e.Port, nil); err != nil {
			return nil, err
		}
		b = fmt.Appendf(b, "name %s at port %d\n", e.Name, e.Port)
	}
	return b, nil
}

// DecodeNamesResp decodes a complete NAMES response (everything the mapper sent before it
// closed the connection). Every line must read "name NAME at port PORT".
func DecodeNamesResp(b []byte) (NamesResp, error) {
	const msg = "NAMES_RESP"
	if len(b) < 4 {
		return NamesResp{}, malformed(msg, "%d bytes, need at least 4", len(b))
	}
	r := NamesResp{EPMDPort: binary.BigEndian.Uint32(b)}
	rest := b[4:]
	for len(rest) > 0 {
		line, after, ok := bytes.Cut(rest, []byte{'\n'})
		if !ok {
			return NamesResp{}, malformed(msg, "last line not terminated by a newline")
		}
		e, err := parseNameLine(line)
		if err != nil {
			return NamesResp{}, err
		}
		r.Entries = append(r.Entries, e)
		rest = after
	}
	return r, nil
}

func parseNameLine(line []byte) (NameEntry, error) {
	const msg = "NAMES_RESP"
	const prefix, sep = "name ", " at port "
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return NameEntry{}, malformed(msg, "line %q does not start with %q", truncate(line), prefix)
	}
	line = line[len(prefix):]
	i := bytes.LastIndex(line, []byte(sep))
	if i < 0 {
		return NameEntry{}, malformed(msg, "line %q has no %q", truncate(line), sep)
	}
	name, digits := string(line[:i]), string(line[i+len(sep):])
	if err := checkName(msg, name); err != nil {
		return NameEntry{}, err
	}
	port, err := parsePort(digits)
	if err != nil {
		return NameEntry{}, malformed(msg, "node %q: %v", name, err)
	}
	return NameEntry{Name: name, Port: port}, nil
}

// parsePort accepts only plain decimal digits (no sign, no spaces) of a value in 0..65535.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad port %q", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 0xFFFF {
		return 0, fmt.Errorf("port %q outside 0..65535", s)
	}
	return n, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
