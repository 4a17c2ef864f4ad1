package dist_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/dist"
)

// A node registers its one port with a real Erlang epmd (run on a private port, not as a
// daemon, stopped by pid), and the real epmd lists it.
func TestRealEPMDListsOurNode(t *testing.T) {
	epmdPath, err := exec.LookPath("epmd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("epmd not installed (Debian: erlang-base) and CI=true")
		}
		t.Skip("SKIPPED LOUDLY: epmd not installed (Debian: erlang-base); the real-epmd interop test did not run")
	}
	port := freePort(t)
	cmd := exec.Command(epmdPath, "-port", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx := ctxT(t, 20*time.Second)
	names := func() string {
		out, _ := exec.CommandContext(ctx, epmdPath, "-port", fmt.Sprint(port), "-names").CombinedOutput()
		return string(out)
	}
	for !strings.Contains(names(), "epmd: up and running") {
		if ctx.Err() != nil {
			t.Fatalf("real epmd did not come up: %s", names())
		}
		time.Sleep(50 * time.Millisecond)
	}
	e, err := dist.Start(ctx, dist.Config{Logger: quietLog(), Name: "gotpnode@127.0.0.1", Kind: dist.LongNames, Cookie: "c",
		Profile: dist.ProfileTest, MapperPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	want := fmt.Sprintf("name gotpnode at port %d", e.Port())
	if out := names(); !strings.Contains(out, want) {
		t.Fatalf("real epmd -names:\n%s\nwant a line %q", out, want)
	}
}
