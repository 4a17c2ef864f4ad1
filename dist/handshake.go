package dist

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// protocolVersion is the link protocol version sent in every hello.
const protocolVersion = 1

// maxHandshakeFrame caps hello and proof frames.
const maxHandshakeFrame = 4096

// First bytes on a TCP connection to a node's port: they tell the listener what follows.
const (
	streamLink       byte = 'L' // a link: handshake, then frames
	streamMemberlist byte = 'M' // a memberlist stream (push/pull, TCP ping, reliable message)
)

// Handshake outcomes sent by the acceptor with its proof.
const (
	statusOK        uint8 = 0 // link accepted
	statusDuplicate uint8 = 1 // a link between us is being set up from my side: use that one
	statusRefused   uint8 = 2 // refused (Reason says why)
)

// ErrAuth is matched (errors.Is) when a peer fails the cookie challenge.
var ErrAuth = errors.New("authentication failed")

// ErrRefused is matched (errors.Is) when a peer refuses a link (Reason in the error text).
var ErrRefused = errors.New("link refused")

// errDuplicate: the peer is dialing us at the same time and its link wins.
var errDuplicate = errors.New("duplicate link")

// hello is the first frame each side of a link sends (msgpack array, plaintext).
type hello struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  uint16
	Name     string
	BootID   uint64
	Hidden   bool
	Long     bool
	Nonce    []byte
}

func encodeHello(h *hello) ([]byte, error) { return msgpack.Marshal(h) }

// decodeHello decodes and checks a hello.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if err := checkMsgpack(b); err != nil {
		return hello{}, fmt.Errorf("hello: %w", err)
	}
	if err := msgpack.Unmarshal(b, &h); err != nil {
		return hello{}, fmt.Errorf("%w: hello: %w", ErrMalformed, err)
	}
	if h.Version != protocolVersion {
		return hello{}, fmt.Errorf("%w: hello: protocol version %d, want %d", ErrMalformed, h.Version, protocolVersion)
	}
	if len(h.Nonce) != 32 {
		return hello{}, fmt.Errorf("%w: hello: nonce of %d bytes", ErrMalformed, len(h.Nonce))
	}
	if _, err := ParseNode(h.Name); err != nil {
		return hello{}, fmt.Errorf("%w: hello: %w", ErrMalformed, err)
	}
	if h.BootID == 0 {
		return hello{}, fmt.Errorf("%w: hello: zero boot id", ErrMalformed)
	}
	return h, nil
}

// proof carries a side's cookie proof; the acceptor's also carries its verdict.
type proof struct {
	_msgpack struct{} `msgpack:",as_array"`
	Status   uint8
	Reason   string
	MAC      []byte
}

func decodeProof(b []byte) (proof, error) {
	var p proof
	if err := checkMsgpack(b); err != nil {
		return proof{}, fmt.Errorf("proof: %w", err)
	}
	if err := msgpack.Unmarshal(b, &p); err != nil {
		return proof{}, fmt.Errorf("%w: proof: %w", ErrMalformed, err)
	}
	if len(p.MAC) != sha256.Size {
		return proof{}, fmt.Errorf("%w: proof: MAC of %d bytes", ErrMalformed, len(p.MAC))
	}
	if p.Status > statusRefused || len(p.Reason) > 512 {
		return proof{}, fmt.Errorf("%w: proof: bad status", ErrMalformed)
	}
	return p, nil
}

// secrets derives everything a node needs from its cookie.
type secrets struct {
	cookie    []byte
	authKey   []byte // HMAC key for link proofs
	gossipKey []byte // memberlist SecretKey (AES-256)
	label     string // memberlist Label
	clusterID uint64 // in node meta, checked by the alive/merge delegates
}

func deriveSecrets(cookie, cluster string) (*secrets, error) {
	c := []byte(cookie)
	if cluster == "" {
		l, err := hkdf.Key(sha256.New, c, nil, "gotp cluster label v1", 8)
		if err != nil {
			return nil, err
		}
		cluster = fmt.Sprintf("gotp-%x", l)
	}
	// The link proof key also depends on the cluster label: nodes of two clusters that share
	// a cookie can neither gossip (label) nor link.
	auth, err := hkdf.Key(sha256.New, c, []byte(cluster), "gotp link auth v1", 32)
	if err != nil {
		return nil, err
	}
	gossip, err := hkdf.Key(sha256.New, c, nil, "gotp gossip key v1", 32)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("gotp cluster id v1|" + cluster + "|" + string(gossip)))
	var id uint64
	for _, b := range sum[:8] {
		id = id<<8 | uint64(b)
	}
	return &secrets{cookie: c, authKey: auth, gossipKey: gossip, label: cluster, clusterID: id}, nil
}

// transcriptMAC is a side's proof: HMAC-SHA256 over its role and both hellos (which carry both
// nonces), keyed by the cookie-derived auth key. The cookie itself never crosses the wire.
func (s *secrets) transcriptMAC(role string, helloD, helloA []byte) []byte {
	m := hmac.New(sha256.New, s.authKey)
	m.Write([]byte(role))
	for _, b := range [][]byte{helloD, helloA} {
		var l [4]byte
		l[0], l[1], l[2], l[3] = byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
		m.Write(l[:])
		m.Write(b)
	}
	return m.Sum(nil)
}

// linkKeys derives the two direction keys of a link from the cookie and both nonces.
func (s *secrets) linkKeys(nonceD, nonceA []byte) (dToA, aToD cipher.AEAD, err error) {
	salt := append(append([]byte{}, nonceD...), nonceA...)
	mk := func(info string) (cipher.AEAD, error) {
		k, err := hkdf.Key(sha256.New, s.cookie, salt, info, 32)
		if err != nil {
			return nil, err
		}
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	if dToA, err = mk("gotp link v1 dialer to acceptor"); err != nil {
		return nil, nil, err
	}
	if aToD, err = mk("gotp link v1 acceptor to dialer"); err != nil {
		return nil, nil, err
	}
	return dToA, aToD, nil
}

func newNonce() []byte {
	n := make([]byte, 32)
	_, _ = rand.Read(n)
	return n
}

// dialHandshake runs the dialer's side on fr. encrypt says whether to switch fr to AES-GCM
// afterwards (false under TLS).
func dialHandshake(fr *framer, s *secrets, me hello, encrypt bool, deadline time.Time) (hello, error) {
	mine, err := encodeHello(&me)
	if err != nil {
		return hello{}, err
	}
	if err := fr.writeFrame(mine, deadline); err != nil {
		return hello{}, err
	}
	theirs, err := fr.readFrame(deadline)
	if err != nil {
		return hello{}, err
	}
	peer, err := decodeHello(theirs)
	if err != nil {
		return hello{}, err
	}
	p, _ := msgpack.Marshal(&proof{MAC: s.transcriptMAC("dialer", mine, theirs)})
	if err := fr.writeFrame(p, deadline); err != nil {
		return hello{}, err
	}
	b, err := fr.readFrame(deadline)
	if err != nil {
		return hello{}, fmt.Errorf("%w by %s (wrong cookie?): %w", ErrAuth, peer.Name, err)
	}
	ap, err := decodeProof(b)
	if err != nil {
		return hello{}, err
	}
	if !hmac.Equal(ap.MAC, s.transcriptMAC("acceptor", mine, theirs)) {
		return hello{}, fmt.Errorf("%w: %s does not know our cookie", ErrAuth, peer.Name)
	}
	switch ap.Status {
	case statusDuplicate:
		return peer, errDuplicate
	case statusRefused:
		return peer, fmt.Errorf("%w by %s: %s", ErrRefused, peer.Name, ap.Reason)
	}
	if encrypt {
		dToA, aToD, err := s.linkKeys(me.Nonce, peer.Nonce)
		if err != nil {
			return hello{}, err
		}
		fr.seal, fr.open = dToA, aToD
	}
	return peer, nil
}

// acceptHandshake runs the acceptor's side. decide is called once the dialer has proven the
// cookie; it returns the status and reason to send.
func acceptHandshake(fr *framer, s *secrets, me hello, encrypt bool, deadline time.Time,
	decide func(peer hello) (uint8, string)) (hello, error) {
	theirs, err := fr.readFrame(deadline)
	if err != nil {
		return hello{}, err
	}
	peer, err := decodeHello(theirs)
	if err != nil {
		return hello{}, err
	}
	mine, err := encodeHello(&me)
	if err != nil {
		return hello{}, err
	}
	if err := fr.writeFrame(mine, deadline); err != nil {
		return hello{}, err
	}
	b, err := fr.readFrame(deadline)
	if err != nil {
		return hello{}, err
	}
	dp, err := decodeProof(b)
	if err != nil {
		return hello{}, err
	}
	if !hmac.Equal(dp.MAC, s.transcriptMAC("dialer", theirs, mine)) {
		return hello{}, fmt.Errorf("%w: %s does not know our cookie", ErrAuth, peer.Name)
	}
	status, reason := decide(peer)
	p, _ := msgpack.Marshal(&proof{Status: status, Reason: reason, MAC: s.transcriptMAC("acceptor", theirs, mine)})
	if err := fr.writeFrame(p, deadline); err != nil {
		return hello{}, err
	}
	switch status {
	case statusDuplicate:
		return peer, errDuplicate
	case statusRefused:
		return peer, fmt.Errorf("%w: %s: %s", ErrRefused, peer.Name, reason)
	}
	if encrypt {
		dToA, aToD, err := s.linkKeys(peer.Nonce, me.Nonce)
		if err != nil {
			return hello{}, err
		}
		fr.seal, fr.open = aToD, dToA
	}
	return peer, nil
}
