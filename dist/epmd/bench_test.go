package epmd

import (
	"context"
	"net"
	"os/exec"
	"testing"
	"time"
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

// BenchmarkPortPleaseRealEPMD is BenchmarkPortPlease against the real epmd, for comparison.
func BenchmarkPortPleaseRealEPMD(b *testing.B) {
	path, err := exec.LookPath("epmd")
	if err != nil {
		b.Skipf("real epmd not installed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(path, "-port", port, "-address", "127.0.0.1")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ctx := context.Background()
	var lease *Lease
	for deadline := time.Now().Add(20 * time.Second); ; {
		if lease, err = Register(ctx, addr, Registration{Name: "joe", Port: 40001}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("real epmd did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer lease.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PortPlease(ctx, addr, "joe"); err != nil {
			b.Fatal(err)
		}
	}
}
