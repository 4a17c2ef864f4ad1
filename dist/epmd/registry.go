package epmd

import "sort"

// maxRemembered bounds how many freed names the registry remembers (to give a returning name
// a new creation), as real epmd does with its 1000-entry "unreg" list.
const maxRemembered = 1000

// registry is the server's decision core: which names are live, who owns them, and which
// creation each registration gets. It does no I/O and is not safe for concurrent use; the
// server guards it with a mutex.
type registry struct {
	live   map[string]*liveEntry
	seq    uint64
	freed  map[string]uint32 // name -> creation counter when it was freed
	fifo   []string          // freed names, oldest first, to bound freed
	seedFn func() uint32     // first counter of a name never seen (real epmd: the clock)
}

type liveEntry struct {
	info    PortInfo
	owner   uint64 // the id of the connection that registered it
	counter uint32
	seq     uint64
}

func newRegistry(seed func() uint32) *registry {
	return &registry{live: map[string]*liveEntry{}, freed: map[string]uint32{}, seedFn: seed}
}

// bump advances a creation counter; like real epmd it never yields 0..3, so a 32-bit
// creation is never 0 (which means "unknown" in the distribution protocol).
func bump(c uint32) uint32 {
	c++
	if c < 4 {
		c = 4
	}
	return c
}

// creationFor maps a counter to what a node announcing highest version v is told: the full
// 32-bit counter for v >= 6, 1..3 for older nodes.
func creationFor(counter uint32, highest uint16) uint32 {
	if highest >= 6 {
		return counter
	}
	return counter%3 + 1
}

// register records info for the connection owner. It refuses (ok false) a name that is live,
// whoever holds it.
func (r *registry) register(owner uint64, info PortInfo) (creation uint32, ok bool) {
	if _, taken := r.live[info.Name]; taken {
		return 0, false
	}
	counter, seen := r.freed[info.Name]
	if seen {
		delete(r.freed, info.Name)
		r.dropFromFIFO(info.Name)
	} else {
		counter = r.seedFn()
	}
	counter = bump(counter)
	r.seq++
	r.live[info.Name] = &liveEntry{info: info, owner: owner, counter: counter, seq: r.seq}
	return creationFor(counter, info.HighestVersion), true
}

// unregister frees name if owner holds it; it reports whether it did.
func (r *registry) unregister(owner uint64, name string) bool {
	e, ok := r.live[name]
	if !ok || e.owner != owner {
		return false
	}
	delete(r.live, name)
	r.freed[name] = e.counter
	r.fifo = append(r.fifo, name)
	if len(r.fifo) > maxRemembered {
		delete(r.freed, r.fifo[0])
		r.fifo = r.fifo[1:]
	}
	return true
}

func (r *registry) dropFromFIFO(name string) {
	for i, n := range r.fifo {
		if n == name {
			r.fifo = append(r.fifo[:i], r.fifo[i+1:]...)
			return
		}
	}
}

func (r *registry) lookup(name string) (PortInfo, bool) {
	e, ok := r.live[name]
	if !ok {
		return PortInfo{}, false
	}
	return e.info, true
}

// names lists live registrations, newest first (the order real epmd answers in).
func (r *registry) names() []NameEntry {
	entries := make([]*liveEntry, 0, len(r.live))
	for _, e := range r.live {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].seq > entries[j].seq })
	out := make([]NameEntry, len(entries))
	for i, e := range entries {
		out[i] = NameEntry{Name: e.info.Name, Port: e.info.Port}
	}
	return out
}
