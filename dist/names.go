package dist

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// NameKind tells short node names (-sname: the host part has no dots) from long ones (-name: a
// fully qualified host name or an IP address). As in OTP, nodes of one kind refuse links from
// nodes of the other.
type NameKind int

// The two kinds of node names.
const (
	ShortNames NameKind = iota // -sname joe → joe@myhost
	LongNames                  // -name joe@host.example.com or joe@10.0.0.1
)

// String returns "short" or "long".
func (k NameKind) String() string {
	if k == LongNames {
		return "long"
	}
	return "short"
}

// ErrBadNodeName is matched (errors.Is) by every node-name validation error.
var ErrBadNodeName = errors.New("bad node name")

func badName(s, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadNodeName, s, why)
}

// validAlive reports whether s is a valid name part: letters, digits, '_' and '-' (OTP's rule for
// the "alive" part of a node name).
func validAlive(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validHost reports whether s is a plausible host part: a DNS name or an IP address.
func validHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

// ParseNode validates "name@host" and returns it as a Node.
func ParseNode(s string) (Node, error) {
	name, host, ok := strings.Cut(s, "@")
	if !ok {
		return "", badName(s, "missing '@host'")
	}
	if !validAlive(name) {
		return "", badName(s, "the name part may hold only letters, digits, '_' and '-'")
	}
	if strings.Contains(host, "@") {
		return "", badName(s, "more than one '@'")
	}
	if !validHost(host) {
		return "", badName(s, "the host part is not a host name or IP address")
	}
	return Node(s), nil
}

// Kind returns the name kind implied by the host part: long when it holds a dot or is an IP
// address, short otherwise. It does not validate the name.
func (n Node) Kind() NameKind {
	h := n.Host()
	if strings.Contains(h, ".") || net.ParseIP(h) != nil {
		return LongNames
	}
	return ShortNames
}

// ValidateKind checks that n is a valid name of the given kind: a short name's host has no
// dots (and is no IP address), a long name's host is a fully qualified name or an IP address.
func ValidateKind(n Node, kind NameKind) error {
	if _, err := ParseNode(string(n)); err != nil {
		return err
	}
	if n.Kind() != kind {
		if kind == ShortNames {
			return badName(string(n), "a short name's host must not contain dots (use long names)")
		}
		return badName(string(n), "a long name needs a fully qualified host or an IP address (use short names)")
	}
	return nil
}

// ShortName builds an -sname style node name: name@<this host's name up to its first dot>.
// A name that already holds '@' is validated as a short name and returned.
func ShortName(name string) (Node, error) {
	if strings.Contains(name, "@") {
		n := Node(name)
		return n, ValidateKind(n, ShortNames)
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("short node name %q: host name: %w", name, err)
	}
	host, _, _ = strings.Cut(host, ".")
	n := Node(name + "@" + host)
	return n, ValidateKind(n, ShortNames)
}

// LongName builds an -name style node name. name may be "joe@host.example.com" (validated and
// returned) or a bare "joe", completed with host, or when host is "" with this machine's host
// name if that is fully qualified. A bare host without dots is an error, as in OTP.
func LongName(name, host string) (Node, error) {
	if strings.Contains(name, "@") {
		n := Node(name)
		return n, ValidateKind(n, LongNames)
	}
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("long node name %q: host name: %w", name, err)
		}
		host = h
	}
	n := Node(name + "@" + host)
	return n, ValidateKind(n, LongNames)
}
