package dispatch

import (
	"sync"
	"sync/atomic"
)

// Hub fans events out to subscribers (nostrum's ConsumerGroup): each gets its own
// buffered channel. A subscriber whose buffer is full misses the event (counted in
// Dropped): the gateway never waits for a subscriber.
type Hub struct {
	mu      sync.RWMutex
	subs    map[*sub]struct{}
	dropped atomic.Uint64
}

type sub struct {
	filter func(Event) bool
	ch     chan Event
}

// Subscribe returns a channel of the events filter accepts (nil accepts all) and a cancel
// function that unsubscribes and closes the channel.
func (h *Hub) Subscribe(filter func(Event) bool, buffer int) (<-chan Event, func()) {
	if buffer <= 0 {
		buffer = 64
	}
	s := &sub{filter: filter, ch: make(chan Event, buffer)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
			close(s.ch)
		})
	}
}

// Publish offers ev to every subscriber without blocking.
func (h *Hub) Publish(ev Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.filter != nil && !s.filter(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			h.dropped.Add(1)
		}
	}
}

// Dropped counts events subscribers missed because their buffer was full.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
