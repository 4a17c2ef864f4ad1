package dist

import "strings"

// Node is a node name, "name@host", as OTP writes it (joe@myhost, 'joe@host.example.com').
type Node string

// Name returns the part before the '@' ("joe" for joe@host).
func (n Node) Name() string {
	name, _, _ := strings.Cut(string(n), "@")
	return name
}

// Host returns the part after the '@' ("host" for joe@host), or "" when there is none.
func (n Node) Host() string {
	_, host, _ := strings.Cut(string(n), "@")
	return host
}

// String returns the node name as written.
func (n Node) String() string { return string(n) }
