package kernelcfg

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Detection profile names for Gotp.Detection.
const (
	DetectionLAN   = "lan"
	DetectionLocal = "local"
	DetectionWAN   = "wan"
	DetectionTest  = "test"
)

// DefaultStartWait is the default of Gotp.StartWait.
const DefaultStartWait = 30 * time.Second

// GotpKeys are the keys known in the gotp section; any other key is an error.
var GotpKeys = []string{"detection", "tls", "cluster", "seeds", "handover_on_shutdown", "start_wait"}

// TLSKeys are the keys of the gotp tls list.
var TLSKeys = []string{"certfile", "keyfile", "cacertfile"}

// Gotp is the typed view of the `gotp` section: what OTP has no parameter for (design.md).
type Gotp struct {
	// Detection is the failure-detection profile: "lan" (default), "local", "wan" or "test".
	Detection string
	// TLS enables mutual TLS for links and streams; nil (default) when not configured.
	TLS *TLS
	// Cluster is the cluster label; "" (default) means derived from the cookie.
	Cluster string
	// Seeds are explicit peers as "host:port"; empty (default) when none.
	Seeds []string
	// HandoverOnShutdown moves running distributed apps to their successor by takeover
	// before the node stops; default false.
	HandoverOnShutdown bool
	// StartWait bounds how long placement waits for a permitted node that is up but has not
	// started the app; default 30 s, or Infinity.
	StartWait time.Duration
}

// TLS holds the certificate paths, resolved relative to the folder of the config file that
// set them (absolute paths stay as written). All three are required.
type TLS struct {
	CertFile   string // PEM certificate of this node
	KeyFile    string // PEM private key of CertFile
	CACertFile string // PEM CA bundle peers' certificates are verified against
}

func gotpView(e Env, dirOf func(string) string) (Gotp, error) {
	g := Gotp{Detection: DetectionLAN, StartWait: DefaultStartWait, Seeds: []string{}}
	known := map[string]bool{}
	for _, k := range GotpKeys {
		known[k] = true
	}
	for _, p := range e.params {
		if !known[p.Key] {
			return g, errAt(p.File, p.At, ErrValue, "found unknown key %s in the gotp section, expected one of %s", quoteAtom(p.Key), strings.Join(GotpKeys, ", "))
		}
	}
	var err error
	if g.Detection, err = e.Atom("detection", DetectionLAN); err != nil {
		return g, err
	}
	switch g.Detection {
	case DetectionLAN, DetectionLocal, DetectionWAN, DetectionTest:
	default:
		p, _ := e.Lookup("detection")
		return g, e.bad(p, "lan, local, wan or test")
	}
	if p, ok := e.Lookup("tls"); ok {
		if g.TLS, err = tlsView(e, p, dirOf(p.File)); err != nil {
			return g, err
		}
	}
	if g.Cluster, err = e.Text("cluster", ""); err != nil {
		return g, err
	}
	if p, ok := e.Lookup("seeds"); ok {
		if g.Seeds, err = e.Texts("seeds"); err != nil {
			return g, err
		}
		elems, _ := ListElems(p.Value)
		for i, s := range g.Seeds {
			if !validSeed(s) {
				return g, e.bad(Param{Key: p.Key, Value: elems[i], File: p.File}, `"host:port" with a port from 1 to 65535`)
			}
		}
	}
	if g.HandoverOnShutdown, err = e.Bool("handover_on_shutdown", false); err != nil {
		return g, err
	}
	if p, ok := e.Lookup("start_wait"); ok {
		d, ok := millis(p.Value, 0)
		if !ok {
			return g, e.bad(p, "milliseconds (an integer >= 0) or infinity")
		}
		g.StartWait = d
	}
	return g, nil
}

func validSeed(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func tlsView(e Env, p Param, dir string) (*TLS, error) {
	elems, ok := ListElems(p.Value)
	if _, isStr := p.Value.(*String); !ok || isStr {
		return nil, e.bad(p, "a list of {certfile, Path}, {keyfile, Path}, {cacertfile, Path}")
	}
	inner := Env{app: "gotp tls", idx: map[string]int{}}
	for _, el := range elems {
		t, ok := el.(*Tuple)
		var key string
		if ok && len(t.Elems) == 2 {
			key, ok = AtomName(t.Elems[0])
		}
		if !ok || (len(t.Elems) != 2) {
			return nil, e.bad(Param{Key: p.Key, Value: el, File: p.File}, "{certfile | keyfile | cacertfile, Path}")
		}
		if !contains(TLSKeys, key) {
			return nil, errAt(p.File, el.Pos(), ErrValue, "found unknown key %s in gotp tls, expected one of %s", quoteAtom(key), strings.Join(TLSKeys, ", "))
		}
		if _, dup := inner.idx[key]; dup {
			return nil, errAt(p.File, el.Pos(), ErrDuplicate, "found %s a second time in gotp tls, expected each key once", key)
		}
		inner.set(Param{Key: key, Value: t.Elems[1], File: p.File, At: t.At})
	}
	out := &TLS{}
	for i, dst := range []*string{&out.CertFile, &out.KeyFile, &out.CACertFile} {
		key := TLSKeys[i]
		if _, ok := inner.Lookup(key); !ok {
			return nil, e.bad(p, "a tls list with "+strings.Join(TLSKeys, ", ")+" (missing "+key+")")
		}
		s, err := inner.Text(key, "")
		if err != nil {
			return nil, err
		}
		if s == "" {
			q, _ := inner.Lookup(key)
			return nil, inner.bad(q, "a non-empty path")
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(dir, s)
		}
		*dst = s
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
