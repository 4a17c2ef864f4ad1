package epmd

import (
	"reflect"
	"testing"
)

func TestRegistryCreationsAndOwnership(t *testing.T) {
	r := newRegistry(func() uint32 { return 1000 })
	joe := PortInfo{Name: "joe", Port: 1, HighestVersion: 6}

	c1, ok := r.register(1, joe)
	if !ok || c1 != 1001 {
		t.Fatalf("first registration = %d, %v; want 1001, true", c1, ok)
	}
	if _, ok := r.register(2, joe); ok {
		t.Fatal("a live name was registered twice")
	}
	if r.unregister(2, "joe") {
		t.Fatal("a connection that does not own the name freed it")
	}
	if !r.unregister(1, "joe") {
		t.Fatal("the owner could not free its name")
	}
	if _, ok := r.lookup("joe"); ok {
		t.Fatal("a freed name is still found")
	}
	c2, ok := r.register(3, joe)
	if !ok || c2 != 1002 {
		t.Fatalf("re-registration = %d, %v; want the next creation 1002", c2, ok)
	}

	// Old nodes (highest version 5) get 1..3, from the same counter.
	old := PortInfo{Name: "old", Port: 2, HighestVersion: 5}
	c3, ok := r.register(4, old)
	if !ok || c3 != 1001%3+1 {
		t.Fatalf("version-5 creation = %d; want %d", c3, 1001%3+1)
	}
}

func TestRegistryCreationNeverBelowFour(t *testing.T) {
	r := newRegistry(func() uint32 { return ^uint32(0) }) // the counter wraps on bump
	c, ok := r.register(1, PortInfo{Name: "a", Port: 1, HighestVersion: 6})
	if !ok || c != 4 {
		t.Fatalf("creation after wrap = %d; want 4", c)
	}
}

func TestRegistryNamesNewestFirstAndBoundedMemory(t *testing.T) {
	r := newRegistry(func() uint32 { return 0 })
	r.register(1, PortInfo{Name: "a", Port: 10})
	r.register(2, PortInfo{Name: "b", Port: 20})
	r.register(3, PortInfo{Name: "c", Port: 30})
	r.unregister(2, "b")
	want := []NameEntry{{"c", 30}, {"a", 10}}
	if got := r.names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	for i := 0; i < maxRemembered+10; i++ {
		name := string(rune('A'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260))
		r.register(uint64(100+i), PortInfo{Name: name, Port: 1})
		r.unregister(uint64(100+i), name)
	}
	if len(r.freed) > maxRemembered || len(r.fifo) != len(r.freed) {
		t.Fatalf("freed names remembered = %d (fifo %d), bound %d", len(r.freed), len(r.fifo), maxRemembered)
	}
}
