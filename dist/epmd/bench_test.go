package epmd

import (
	"context"
	"testing"
)

// BenchmarkDecodeAlive2Req measures decoding a typical registration request.
func BenchmarkDecodeAlive2Req(b *testing.B) {
	req, err := EncodeRequest(&Alive2Req{Registration{Name: "joe", Port: 40001, NodeType: 77, HighestVersion: 6, LowestVersion: 5}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(req[2:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPortPlease measures one lookup over loopback TCP against the embedded server
// (dial, request, answer, close): the cost a node pays to resolve a peer's port.
func BenchmarkPortPlease(b *testing.B) {
	s, err := Listen(context.Background(), ServerConfig{Addr: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	addr := s.Addr().String()
	lease, err := Register(context.Background(), addr, Registration{Name: "joe", Port: 40001})
	if err != nil {
		b.Fatal(err)
	}
	defer lease.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PortPlease(ctx, addr, "joe"); err != nil {
			b.Fatal(err)
		}
	}
}
