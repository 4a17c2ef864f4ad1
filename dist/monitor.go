package dist

import (
	"slices"
	"sync"
)

// monitor holds the published view (nodes up) and the subscribers. A subscriber gets every
// event published after its snapshot, through an unbounded queue: events are never dropped.
type monitor struct {
	mu     sync.Mutex
	up     map[Node]uint64 // node → boot id of the instance up
	subs   map[*subscriber]struct{}
	closed bool
}

func newMonitor() *monitor {
	return &monitor{up: map[Node]uint64{}, subs: map[*subscriber]struct{}{}}
}

// publish applies ev to the view and queues it for every subscriber, atomically with respect
// to subscribe.
func (m *monitor) publish(ev NodeEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if ev.Up {
		m.up[ev.Node] = ev.BootID
	} else if m.up[ev.Node] == ev.BootID {
		delete(m.up, ev.Node)
	}
	for s := range m.subs {
		s.push(ev)
	}
}

func (m *monitor) nodes() []Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sortedUp()
}

func (m *monitor) sortedUp() []Node {
	out := make([]Node, 0, len(m.up))
	for n := range m.up {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (m *monitor) isUp(n Node) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.up[n]
	return ok
}

// subscribe returns the nodes up now and a channel of every later event.
func (m *monitor) subscribe() ([]Node, <-chan NodeEvent, func()) {
	s := &subscriber{out: make(chan NodeEvent), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	m.mu.Lock()
	up := m.sortedUp()
	if m.closed {
		m.mu.Unlock()
		close(s.out)
		return up, s.out, func() {}
	}
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	go s.run()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.subs, s)
			m.mu.Unlock()
			close(s.stop)
		})
	}
	return up, s.out, cancel
}

// close ends every subscription: their channels close once drained or cancelled.
func (m *monitor) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for s := range m.subs {
		s.finish()
	}
	m.subs = map[*subscriber]struct{}{}
}

// subscriber is one Monitor subscription: an unbounded queue drained into out.
type subscriber struct {
	mu    sync.Mutex
	queue []NodeEvent
	done  bool // no more events: close out when the queue is drained
	out   chan NodeEvent
	wake  chan struct{}
	stop  chan struct{}
}

func (s *subscriber) push(ev NodeEvent) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			done := s.done
			s.mu.Unlock()
			if done {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		ev := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.stop:
			return
		}
	}
}

// inbox runs one node's deliveries (Send handlers and monitor events about it) one at a time,
// in order. Its goroutine exits when the queue is empty and is started again by push.
type inbox struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	wg      *sync.WaitGroup
}

func (b *inbox) push(f func()) {
	b.mu.Lock()
	b.queue = append(b.queue, f)
	if b.running {
		b.mu.Unlock()
		return
	}
	b.running = true
	b.wg.Add(1)
	b.mu.Unlock()
	go b.run()
}

func (b *inbox) run() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		f := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.mu.Unlock()
		f()
	}
}
