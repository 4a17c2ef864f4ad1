// Package epmd is the port mapper of gotp nodes. It speaks the EPMD protocol of Erlang's erts
// (the "Distribution Protocol" chapter of the ERTS user's guide), so a gotp node can register
// with a real Erlang epmd, a real Erlang node can register with ours, and either can look the
// other up.
//
// The package has four parts:
//
//   - a codec (codec.go): every request and response as a Go value, with strict, panic-free
//     decoders;
//   - a client ([Client], [Register], [PortPlease], [Names]);
//   - an embedded server ([Listen]) that behaves like epmd for ALIVE2, PORT_PLEASE2 and NAMES;
//   - a keeper ([Keep]) that keeps a node registered: with a mapper already running on the
//     host, or, when none runs, with a server it embeds itself; when the mapper goes away it
//     re-registers (embedding a new server if nobody answers).
//
// Protocol summary. Every request is a 2-byte big-endian length followed by that many bytes,
// whose first byte is the request code:
//
//	ALIVE2_REQ   'x' port:2 nodetype:1 protocol:1 highest:2 lowest:2 nlen:2 name elen:2 extra
//	ALIVE2_RESP  'y' result:1 creation:2   (answer when highest < 6)
//	ALIVE2_X_RESP 'v' result:1 creation:4  (answer when highest >= 6)
//	PORT_PLEASE2_REQ 'z' name
//	PORT2_RESP   'w' result:1 [port:2 nodetype:1 protocol:1 highest:2 lowest:2 nlen:2 name elen:2 extra]
//	NAMES_REQ    'n'
//	NAMES_RESP   epmdport:4 then "name NAME at port PORT\n" lines until the server closes
//
// A registration lives exactly as long as the TCP connection that carried the ALIVE2_REQ: the
// mapper frees the name when that connection closes. Responses are not length-prefixed.
package epmd
