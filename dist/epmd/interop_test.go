package epmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireTool returns the path of an Erlang tool, skipping loudly when it is missing, or
// failing under CI=true, where erlang-base is installed and the interop proof is mandatory.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("INTEROP TEST NOT RUN: %q not found (%v); install erlang-base to run it", name, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// external is a process started by a test, in its own process group, stopped by pid.
type external struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startExternal(t *testing.T, env []string, name string, args ...string) *external {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	x := &external{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(x.exited)
	}()
	t.Cleanup(func() { x.stop(t) })
	return x
}

// stop kills the process group the test started (by its id) and waits for the process.
func (x *external) stop(t *testing.T) {
	_ = syscall.Kill(-x.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-x.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("%s (pid %d) did not exit after SIGKILL", x.cmd.Path, x.cmd.Process.Pid)
	}
}

func (x *external) running() bool {
	select {
	case <-x.exited:
		return false
	default:
		return true
	}
}

// startRealEPMD runs `epmd -port P` (no -daemon) on a free loopback port and waits until it
// answers NAMES.
func startRealEPMD(t *testing.T, epmdPath string) (addr string, x *external) {
	t.Helper()
	addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	x = startExternal(t, nil, epmdPath, "-port", port, "-address", "127.0.0.1")
	waitFor(t, "real epmd to listen on "+addr, func() bool {
		if !x.running() {
			t.Fatalf("real epmd exited early: %s", x.out.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := Names(ctx, addr)
		return err == nil
	})
	return addr, x
}

// startErlNode runs a distributed `erl -sname NAME` that finds its mapper through
// ERL_EPMD_PORT and never starts one itself (-start_epmd false).
func startErlNode(t *testing.T, erlPath, mapperAddr, name string) *external {
	t.Helper()
	_, port, _ := net.SplitHostPort(mapperAddr)
	return startExternal(t, []string{"ERL_EPMD_PORT=" + port}, erlPath,
		"-sname", name, "-noshell", "-noinput", "-start_epmd", "false")
}

// runErl evaluates expr in a non-distributed erl that uses the mapper at mapperAddr, and
// returns its output.
func runErl(t *testing.T, erlPath, mapperAddr, expr string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(mapperAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, erlPath, "-noshell", "-start_epmd", "false", "-eval", expr+", halt().")
	cmd.Env = append(os.Environ(), "ERL_EPMD_PORT="+port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("erl -eval %q: %v\n%s", expr, err, out)
	}
	return string(out)
}

// epmdNames runs the real `epmd -port P -names` client against the mapper at addr.
func epmdNames(t *testing.T, epmdPath, addr string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, epmdPath, "-port", port, "-names").CombinedOutput()
	if err != nil {
		t.Fatalf("epmd -names: %v\n%s", err, out)
	}
	return string(out)
}

func waitPortPlease(t *testing.T, addr, name string, node *external) PortInfo {
	t.Helper()
	var info PortInfo
	waitFor(t, name+" to register at "+addr, func() bool {
		if !node.running() {
			t.Fatalf("erl node %s exited: %s", name, node.out.String())
		}
		var err error
		info, err = PortPlease(context.Background(), addr, name)
		return err == nil
	})
	return info
}

// TestInteropRealEPMD: the real epmd lists our node, refuses a duplicate of it, and we
// resolve the port of a real erl node registered with it.
func TestInteropRealEPMD(t *testing.T) {
	epmdPath := requireTool(t, "epmd")
	erlPath := requireTool(t, "erl")
	addr, _ := startRealEPMD(t, epmdPath)
	ctx := testCtx(t)

	lease, err := Register(ctx, addr, Registration{Name: "gotpnode", Port: 45678})
	if err != nil {
		t.Fatalf("Register with real epmd: %v", err)
	}
	defer lease.Close()
	if lease.Creation() < 4 {
		t.Fatalf("creation %d from real epmd; want a 32-bit creation (ALIVE2_X_RESP)", lease.Creation())
	}
	if out := epmdNames(t, epmdPath, addr); !strings.Contains(out, "name gotpnode at port 45678\n") {
		t.Fatalf("epmd -names does not list our node:\n%s", out)
	}
	_, port, _ := net.SplitHostPort(addr)
	epmdPort, names, err := Names(ctx, addr)
	if err != nil || strconv.Itoa(epmdPort) != port || !containsEntry(names, NameEntry{"gotpnode", 45678}) {
		t.Fatalf("Names from real epmd = %d, %v, %v", epmdPort, names, err)
	}
	if _, err := Register(ctx, addr, Registration{Name: "gotpnode", Port: 1}); !errors.Is(err, ErrRefused) {
		t.Fatalf("duplicate Register with real epmd: err = %v, want ErrRefused", err)
	}

	erl := startErlNode(t, erlPath, addr, "erlx")
	info := waitPortPlease(t, addr, "erlx", erl)
	if info.Port <= 0 || info.NodeType != NodeTypeNormal || info.HighestVersion < 6 || info.LowestVersion < 5 {
		t.Fatalf("PortPlease(erlx) from real epmd = %+v", info)
	}
	_, names, err = Names(ctx, addr)
	if err != nil || !containsEntry(names, NameEntry{"erlx", info.Port}) {
		t.Fatalf("Names does not agree with PortPlease (%d): %v, %v", info.Port, names, err)
	}
	t.Logf("real erl node erlx registered with real epmd at port %d (versions %d..%d)", info.Port, info.LowestVersion, info.HighestVersion)

	// Closing the lease unregisters from real epmd.
	_ = lease.Close()
	waitFor(t, "real epmd to drop gotpnode", func() bool {
		return !strings.Contains(epmdNames(t, epmdPath, addr), "gotpnode")
	})
}

// TestInteropRealErlWithOurServer: a real erl node registers with our embedded server (which
// answers it ALIVE2_X_RESP), and real erl and epmd clients read our PORT2 and NAMES answers.
func TestInteropRealErlWithOurServer(t *testing.T) {
	epmdPath := requireTool(t, "epmd")
	erlPath := requireTool(t, "erl")
	srv := startServer(t, ServerConfig{Addr: freeAddr(t)})
	addr := srv.Addr().String()
	ctx := testCtx(t)

	erl := startErlNode(t, erlPath, addr, "erly")
	info := waitPortPlease(t, addr, "erly", erl)
	if info.NodeType != NodeTypeNormal || info.HighestVersion != 6 || info.Port <= 0 {
		t.Fatalf("erl's registration with our server = %+v", info)
	}
	lease, err := Register(ctx, addr, Registration{Name: "gotpn", Port: 45679})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()

	// The real epmd binary, as a client, parses our NAMES answer.
	out := epmdNames(t, epmdPath, addr)
	t.Logf("epmd -names against our server:\n%s", out)
	for _, want := range []string{fmt.Sprintf("name erly at port %d\n", info.Port), "name gotpn at port 45679\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("epmd -names against our server lacks %q:\n%s", want, out)
		}
	}
	// Real erl_epmd, as a client, parses our NAMES and PORT2 answers.
	got := runErl(t, erlPath, addr, `io:format("~p~n~p~n~p~n", [net_adm:names(), `+
		`erl_epmd:port_please("gotpn", {127,0,0,1}), erl_epmd:port_please("nobody", {127,0,0,1})])`)
	for _, want := range []string{
		fmt.Sprintf(`{"erly",%d}`, info.Port), `{"gotpn",45679}`, // net_adm:names()
		"{port,45679,6}", // port_please of our Go node
		"noport",         // port_please of an unknown name
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("erl's view of our server lacks %q:\n%s", want, got)
		}
	}
	t.Logf("real erl's view of our server:\n%s", got)
	if !regexp.MustCompile(`\{ok,\[`).MatchString(got) {
		t.Fatalf("net_adm:names() did not succeed:\n%s", got)
	}

	// The real node dies: our server frees its name.
	erl.stop(t)
	waitFor(t, "our server to free erly", func() bool { _, ok := srv.Lookup("erly"); return !ok })
}

// TestInteropKeeperLeavesRealEPMD: a keeper registers with a running real epmd rather than
// embedding; when that epmd dies, the keeper embeds a mapper and registers with it.
func TestInteropKeeperLeavesRealEPMD(t *testing.T) {
	epmdPath := requireTool(t, "epmd")
	addr, epmd := startRealEPMD(t, epmdPath)
	k := startKeeper(t, keepCfg(addr, "kept", 45680, nil))
	if st, _ := k.Status(); st.Embedded {
		t.Fatal("keeper embedded a mapper although real epmd runs")
	}
	if out := epmdNames(t, epmdPath, addr); !strings.Contains(out, "name kept at port 45680\n") {
		t.Fatalf("real epmd does not list the keeper's node:\n%s", out)
	}
	epmd.stop(t)
	st, err := waitStatus(testCtx(t), k, func(s Status) bool { return s.Registered && s.Registrations == 2 })
	if err != nil || !st.Embedded {
		t.Fatalf("after real epmd died: %v, %v; want registered with an embedded mapper", st, err)
	}
	if out := epmdNames(t, epmdPath, addr); !strings.Contains(out, "name kept at port 45680\n") {
		t.Fatalf("epmd -names against the embedded mapper:\n%s", out)
	}
}

func containsEntry(entries []NameEntry, want NameEntry) bool {
	for _, e := range entries {
		if e == want {
			return true
		}
	}
	return false
}

// TestInteropAlive2VariantsMatchRealEPMD sends the same ALIVE2_REQs to real epmd and to our
// server and checks both answer with the same response code and size: ALIVE2_RESP ('y') for
// highest version 5, ALIVE2_X_RESP ('v') for 6 and above, and the same refusal of a live name.
func TestInteropAlive2VariantsMatchRealEPMD(t *testing.T) {
	epmdPath := requireTool(t, "epmd")
	realAddr, _ := startRealEPMD(t, epmdPath)
	ours := startServer(t, ServerConfig{})
	answer := func(addr string, highest uint16, name string) (code byte, n int, result byte, hold net.Conn) {
		req, err := EncodeRequest(&Alive2Req{Registration{Name: name, Port: 9, NodeType: 77, HighestVersion: highest, LowestVersion: 5}})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(conn, buf[:1]); err != nil {
			t.Fatalf("%s: no answer to ALIVE2 highest %d: %v", addr, highest, err)
		}
		n = alive2RespLen(buf[0])
		if n == 0 {
			t.Fatalf("%s: answer code %q is no ALIVE2 response", addr, buf[0])
		}
		if _, err := io.ReadFull(conn, buf[1:n]); err != nil {
			t.Fatalf("%s: short ALIVE2 answer: %v", addr, err)
		}
		return buf[0], n, buf[1], conn
	}
	for _, tc := range []struct {
		highest  uint16
		wantCode byte
	}{{5, CodeAlive2Resp}, {6, CodeAlive2XResp}} {
		name := fmt.Sprint("v", tc.highest)
		rc, rn, rres, rconn := answer(realAddr, tc.highest, name)
		oc, on, ores, oconn := answer(ours.Addr().String(), tc.highest, name)
		if rc != tc.wantCode || oc != rc || on != rn || ores != 0 || rres != 0 {
			t.Fatalf("highest %d: real epmd answered %q (%d bytes, result %d), ours %q (%d bytes, result %d); want %q",
				tc.highest, rc, rn, rres, oc, on, ores, tc.wantCode)
		}
		// The same name again while the first registration lives: both refuse with result 1.
		rc2, _, rres2, rconn2 := answer(realAddr, tc.highest, name)
		oc2, _, ores2, oconn2 := answer(ours.Addr().String(), tc.highest, name)
		if rc2 != tc.wantCode || oc2 != rc2 || rres2 != 1 || ores2 != 1 {
			t.Fatalf("highest %d duplicate: real epmd %q result %d, ours %q result %d", tc.highest, rc2, rres2, oc2, ores2)
		}
		for _, c := range []net.Conn{rconn, oconn, rconn2, oconn2} {
			_ = c.Close()
		}
	}
}
