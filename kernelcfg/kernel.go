package kernelcfg

import (
	"time"
)

// Kernel is the typed view of the kernel parameters gotp acts on. Node names are plain
// strings holding Erlang node names such as "joe@host" (kernelcfg imports nothing of ours).
type Kernel struct {
	// Distributed holds kernel's `distributed` entries in written order; nil when unset.
	// If an application appears twice only its first entry counts (OTP's rule); see For.
	Distributed []Distributed
	// SyncNodesMandatory are the nodes the boot barrier must see (node names); empty when unset.
	SyncNodesMandatory []string
	// SyncNodesOptional are the nodes the boot barrier waits for until the timeout; empty when unset.
	SyncNodesOptional []string
	// SyncNodesTimeout is `sync_nodes_timeout`: 0 when unset (no boot barrier at all, the
	// lists are then ignored by OTP but still validated here), > 0, or Infinity.
	SyncNodesTimeout time.Duration
	// Permissions maps an application to its initial permission (`permissions`); an
	// application not listed is permitted. Empty when unset.
	Permissions map[string]bool
	// StartDistAC is `start_dist_ac`: nil when unset, meaning the distributed controller runs
	// iff Distributed is not empty.
	StartDistAC *bool
	// InetDistListenMin and InetDistListenMax bound the node's listening port; 0 when unset
	// (any port). When only the minimum is set the maximum equals it (OTP's rule).
	InetDistListenMin int
	InetDistListenMax int
	// NetTicktime is `net_ticktime` (written in seconds); default 60 s.
	NetTicktime time.Duration
}

// Distributed is one entry of kernel's `distributed` parameter:
// {App, Nodes} or {App, Timeout, Nodes}.
type Distributed struct {
	// App is the application's name.
	App string
	// Timeout is how long survivors wait before restarting the app elsewhere after its node
	// went down: default 0, or Infinity (never fail over automatically).
	Timeout time.Duration
	// Tiers lists node names by priority, highest first. A plain node is a one-node tier; a
	// tuple is one tier of equal priority, its nodes in written order.
	Tiers [][]string
	// File and At locate the entry.
	File string
	At   Pos
}

// Nodes returns every node of the entry, tier by tier.
func (d Distributed) Nodes() []string {
	var out []string
	for _, t := range d.Tiers {
		out = append(out, t...)
	}
	return out
}

// For returns the entry that counts for app (the first one) and whether there is one.
func (k Kernel) For(app string) (Distributed, bool) {
	for _, d := range k.Distributed {
		if d.App == app {
			return d, true
		}
	}
	return Distributed{}, false
}

// DistACEnabled reports whether the distributed controller runs: start_dist_ac if set, else
// whether any application is distributed.
func (k Kernel) DistACEnabled() bool {
	if k.StartDistAC != nil {
		return *k.StartDistAC
	}
	return len(k.Distributed) > 0
}

func kernelView(e Env) (Kernel, error) {
	k := Kernel{NetTicktime: 60 * time.Second, Permissions: map[string]bool{}}
	var err error
	if p, ok := e.Lookup("distributed"); ok {
		if k.Distributed, err = distributedView(e, p); err != nil {
			return k, err
		}
	}
	syncBad := func(p Param, elem bool) *Error {
		if s, ok := p.Value.(*String); ok {
			return e.bad(p, "a node atom such as "+quoteAtom(s.Value)+", not a string")
		}
		if elem {
			return e.bad(p, "a node (an atom)")
		}
		return e.bad(p, "a list of node atoms")
	}
	k.SyncNodesMandatory, k.SyncNodesOptional = []string{}, []string{}
	for _, s := range []struct {
		key string
		dst *[]string
	}{{"sync_nodes_mandatory", &k.SyncNodesMandatory}, {"sync_nodes_optional", &k.SyncNodesOptional}} {
		if p, ok := e.Lookup(s.key); ok {
			if *s.dst, err = atomList(p, syncBad); err != nil {
				return k, err
			}
		}
	}
	if p, ok := e.Lookup("sync_nodes_timeout"); ok {
		d, ok := millis(p.Value, 1)
		if !ok {
			return k, e.bad(p, "milliseconds (an integer > 0) or infinity")
		}
		k.SyncNodesTimeout = d
	}
	if p, ok := e.Lookup("permissions"); ok {
		if err := permissionsView(e, p, k.Permissions); err != nil {
			return k, err
		}
	}
	if _, ok := e.Lookup("start_dist_ac"); ok {
		b, err := e.Bool("start_dist_ac", false)
		if err != nil {
			return k, err
		}
		k.StartDistAC = &b
	}
	if err := listenPorts(e, &k); err != nil {
		return k, err
	}
	if p, ok := e.Lookup("net_ticktime"); ok {
		n, isInt := p.Value.(*Int)
		v, fits := int64(0), false
		if isInt {
			v, fits = n.Int64()
		}
		if !fits || v <= 0 || v > 1<<31 {
			return k, e.bad(p, "seconds (an integer > 0)")
		}
		k.NetTicktime = time.Duration(v) * time.Second
	}
	return k, nil
}

func listenPorts(e Env, k *Kernel) error {
	port := func(key string) (int, bool, error) {
		p, ok := e.Lookup(key)
		if !ok {
			return 0, false, nil
		}
		n, isInt := p.Value.(*Int)
		v, fits := int64(0), false
		if isInt {
			v, fits = n.Int64()
		}
		if !fits || v < 0 || v > 65535 {
			return 0, true, e.bad(p, "a port number from 0 to 65535")
		}
		return int(v), true, nil
	}
	lo, loSet, err := port("inet_dist_listen_min")
	if err != nil {
		return err
	}
	hi, hiSet, err := port("inet_dist_listen_max")
	if err != nil {
		return err
	}
	if loSet && !hiSet {
		hi = lo
	}
	if hiSet && loSet && hi < lo {
		p, _ := e.Lookup("inet_dist_listen_max")
		return e.bad(p, "a port >= inet_dist_listen_min")
	}
	k.InetDistListenMin, k.InetDistListenMax = lo, hi
	return nil
}

func permissionsView(e Env, p Param, out map[string]bool) error {
	elems, ok := ListElems(p.Value)
	if !ok {
		return e.bad(p, "a list of {App, true | false}")
	}
	for _, el := range elems {
		t, ok := el.(*Tuple)
		bad := e.bad(Param{Key: p.Key, Value: el, File: p.File}, "{App, true | false}")
		if !ok || len(t.Elems) != 2 {
			return bad
		}
		app, ok := AtomName(t.Elems[0])
		b, _ := AtomName(t.Elems[1])
		if !ok || (b != "true" && b != "false") {
			return bad
		}
		out[app] = b == "true"
	}
	return nil
}

func distributedView(e Env, p Param) ([]Distributed, error) {
	elems, ok := ListElems(p.Value)
	if !ok {
		return nil, e.bad(p, "a list of {App, Nodes} or {App, Timeout, Nodes}")
	}
	out := make([]Distributed, 0, len(elems))
	for _, el := range elems {
		at := func(t Term, expected string) error {
			return e.bad(Param{Key: p.Key, Value: t, File: p.File}, expected)
		}
		t, ok := el.(*Tuple)
		if !ok || len(t.Elems) < 2 || len(t.Elems) > 3 {
			return nil, at(el, "{App, Nodes} or {App, Timeout, Nodes}")
		}
		d := Distributed{File: p.File, At: t.At}
		if d.App, ok = AtomName(t.Elems[0]); !ok {
			return nil, at(t.Elems[0], "an application name (an atom)")
		}
		nodes := t.Elems[len(t.Elems)-1]
		if len(t.Elems) == 3 {
			if d.Timeout, ok = millis(t.Elems[1], 0); !ok {
				return nil, at(t.Elems[1], "a failover timeout of "+quoteAtom(d.App)+" in milliseconds (an integer >= 0) or infinity")
			}
		}
		var err error
		if d.Tiers, err = tiers(nodes, at); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func tiers(nodes Term, at func(Term, string) error) ([][]string, error) {
	if s, ok := nodes.(*String); ok && s.Value != "" {
		return nil, at(nodes, "a list of nodes and tiers, not a string")
	}
	elems, ok := ListElems(nodes)
	if !ok {
		return nil, at(nodes, "a list of nodes (atoms) and tiers (tuples of atoms)")
	}
	out := make([][]string, 0, len(elems))
	for _, n := range elems {
		switch v := n.(type) {
		case *Atom:
			out = append(out, []string{v.Name})
		case *Tuple:
			tier := make([]string, 0, len(v.Elems))
			for _, m := range v.Elems {
				switch mv := m.(type) {
				case *Atom:
					tier = append(tier, mv.Name)
				case *Tuple:
					return nil, at(m, "a node (an atom); a tier cannot be nested in a tier")
				case *String:
					return nil, at(m, "a node atom such as "+quoteAtom(mv.Value)+", not a string")
				default:
					return nil, at(m, "a node (an atom) inside the tier")
				}
			}
			out = append(out, tier)
		case *String:
			return nil, at(n, "a node atom such as "+quoteAtom(v.Value)+", not a string")
		default:
			return nil, at(n, "a node (an atom) or a tier (a tuple of atoms)")
		}
	}
	return out, nil
}

func (c *Config) buildViews(dirOf func(string) string) error {
	var err error
	if c.Kernel, err = kernelView(c.App("kernel")); err != nil {
		return err
	}
	c.Gotp, err = gotpView(c.App("gotp"), dirOf)
	return err
}
