package epmd_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gotp/gotp/dist/epmd"
)

// A node registers with a port mapper and another finds its port by name. Here the mapper is
// an embedded server on a private loopback port; in production it is the host's mapper at
// epmd.DefaultAddr() (a real epmd or one embedded by the first gotp node).
func ExampleRegister() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := epmd.Listen(ctx, epmd.ServerConfig{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	addr := srv.Addr().String()

	lease, err := epmd.Register(ctx, addr, epmd.Registration{Name: "joe", Port: 40001})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Close() // unregisters

	info, err := epmd.PortPlease(ctx, addr, "joe")
	fmt.Println(info.Name, info.Port, info.HighestVersion, err)
	_, err = epmd.PortPlease(ctx, addr, "nobody")
	fmt.Println(err != nil)
	// Output:
	// joe 40001 6 <nil>
	// true
}

// A node keeps its name registered for its whole life: Keep registers with the host's mapper,
// or embeds one when none runs, and re-registers whenever the mapper goes away.
func ExampleKeep() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	// Stay on loopback on a private port; the default is DefaultAddr() and every interface.
	srv, err := epmd.Listen(ctx, epmd.ServerConfig{Addr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := srv.Addr().String()
	srv.Close() // leave the port free: the first keeper embeds the mapper there

	k, err := epmd.Keep(ctx, epmd.KeepConfig{Addr: addr, ListenAddr: addr, Name: "joe", Port: 40001, Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()
	st, _ := k.Status()
	fmt.Println(st.Registered, st.Embedded)
	// Output: true true
}
