package supervisor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gotp/gotp/supervisor"
)

func TestSpecValidate(t *testing.T) {
	ok := func(context.Context) (supervisor.Service, error) { return supervisor.ServiceFunc(nil), nil }
	w := supervisor.ChildSpec{ID: "w", Start: ok}
	for name, tc := range map[string]struct {
		spec supervisor.Spec
		want string
	}{
		"unknown strategy":  {supervisor.Spec{Strategy: 9}, "unknown strategy"},
		"negative period":   {supervisor.Spec{Period: -1}, "negative period"},
		"empty ID":          {supervisor.Spec{Children: []supervisor.ChildSpec{{Start: ok}}}, "empty ID"},
		"nil Start":         {supervisor.Spec{Children: []supervisor.ChildSpec{{ID: "x"}}}, `child "x": Start is nil`},
		"duplicate":         {supervisor.Spec{Children: []supervisor.ChildSpec{w, w}}, `child "w": duplicate ID`},
		"bad shutdown":      {supervisor.Spec{Children: []supervisor.ChildSpec{{ID: "x", Start: ok, Shutdown: -5}}}, "negative shutdown"},
		"bad restart":       {supervisor.Spec{Children: []supervisor.ChildSpec{{ID: "x", Start: ok, Restart: 7}}}, "unknown restart type"},
		"bad type":          {supervisor.Spec{Children: []supervisor.ChildSpec{{ID: "x", Start: ok, Type: 7}}}, "unknown child type"},
		"significant never": {supervisor.Spec{Children: []supervisor.ChildSpec{{ID: "x", Start: ok, Restart: supervisor.Transient, Significant: true}}}, "auto shutdown is never"},
		"significant permanent": {supervisor.Spec{AutoShutdown: supervisor.AnySignificant,
			Children: []supervisor.ChildSpec{{ID: "x", Start: ok, Significant: true}}}, "permanent child cannot be significant"},
		"simple without template": {supervisor.Spec{Strategy: supervisor.SimpleOneForOne}, "exactly one child spec"},
		"simple auto shutdown": {supervisor.Spec{Strategy: supervisor.SimpleOneForOne, AutoShutdown: supervisor.AllSignificant,
			Children: []supervisor.ChildSpec{{Start: ok}}}, "not allowed with simple_one_for_one"},
		"bad jitter": {supervisor.Spec{Backoff: supervisor.Backoff{Jitter: 2}}, "bad backoff"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := supervisor.New(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `supervisor "supervisor"`) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := supervisor.New(supervisor.Spec{Strategy: supervisor.SimpleOneForOne, Children: []supervisor.ChildSpec{{Start: ok}}}); err != nil {
		t.Errorf("a template without ID is valid: %v", err)
	}
	if _, err := supervisor.New(supervisor.Spec{}); err != nil {
		t.Errorf("the zero Spec is valid: %v", err)
	}
}

func TestSpecAsChild(t *testing.T) {
	c := supervisor.Spec{Name: "sub"}.ChildSpec()
	if c.ID != "sub" || c.Type != supervisor.SupervisorChild || c.Restart != supervisor.Permanent {
		t.Errorf("ChildSpec() = %+v", c)
	}
	svc, err := c.Start(context.Background())
	if _, ok := svc.(*supervisor.Supervisor); !ok || err != nil {
		t.Errorf("Start built %T, %v", svc, err)
	}
	var _ supervisor.ChildSpecer = supervisor.Spec{}
}

func TestEventsReachTheLogger(t *testing.T) {
	noLeaks(t)
	var buf bytes.Buffer
	h := newHarness(t)
	spec := h.spec(supervisor.OneForOne, h.child("A", supervisor.Permanent))
	spec.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := run(t, spec)
	h.exit("A", exitPanic)
	h.waitEvent("restart A", 1)
	r.stop(t)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	var msgs []string
	for _, m := range lines {
		msgs = append(msgs, m["level"].(string)+" "+m["msg"].(string))
	}
	want := "DEBUG child_started,ERROR child_exited,INFO child_restarting,DEBUG child_started,DEBUG child_exited"
	if strings.Join(msgs, ",") != want {
		t.Errorf("log:\n%s", buf.String())
	}
	crash := lines[1]
	if crash["supervisor"] != "sup" || crash["child"] != "A" || crash["reason"] != "panic: kaboom" || !strings.Contains(crash["stack"].(string), "goroutine") {
		t.Errorf("crash line %v", crash)
	}
}

func TestEventStrings(t *testing.T) {
	for _, tc := range []struct {
		e    supervisor.Event
		want string
	}{
		{supervisor.EventChildStarted{Supervisor: "s", Child: "c"}, `supervisor "s": child "c" started`},
		{supervisor.EventChildStartFailed{Supervisor: "s", Child: "c", Err: errBoom}, `supervisor "s": child "c" failed to start: boom`},
		{supervisor.EventChildExited{Supervisor: "s", Child: "c", Err: errBoom, Restart: true}, `supervisor "s": child "c" exited (boom), restart: true`},
		{supervisor.EventChildAbandoned{Supervisor: "s", Child: "c", Shutdown: time.Second}, `supervisor "s": child "c" did not stop within 1s; abandoned, it may still be running`},
		{supervisor.EventChildAbandoned{Supervisor: "s", Child: "c", Shutdown: supervisor.BrutalKill}, `supervisor "s": child "c" brutally killed before it returned; abandoned, it may still be running`},
		{supervisor.EventIntensityReached{Supervisor: "s", Child: "c", Err: errBoom, MaxRestarts: 1, Period: 5 * time.Second}, `supervisor "s": more than 1 restarts in 5s, last child "c" (boom); stopping`},
		{supervisor.EventAutoShutdown{Supervisor: "s", Child: "c", AutoShutdown: supervisor.AnySignificant}, `supervisor "s": auto shutdown (any_significant) after significant child "c" exited (<nil>)`},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		m := tc.e.Map()
		if m["supervisor"] != "s" || m["child"] != "c" || m["event"] == "" {
			t.Errorf("Map() = %v", m)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Errorf("Map() is not JSON: %v", err)
		}
		if len(tc.e.Attrs()) != len(m)-1 {
			t.Errorf("Attrs() = %v", tc.e.Attrs())
		}
	}
}

func TestErrorsText(t *testing.T) {
	e := &supervisor.ExitError{Supervisor: "s", Reason: supervisor.ErrMaxRestartIntensity, Child: "c", Cause: errBoom,
		Restarts: 1, Period: 5 * time.Second, Unstopped: []string{"d"}}
	want := `supervisor "s": reached max restart intensity (more than 1 restarts in 5s) after child "c" exited: boom; abandoned unstopped children ["d"]`
	if e.Error() != want {
		t.Errorf("%q", e.Error())
	}
	if errors.Is(e, errBoom) {
		t.Error("ExitError unwraps its cause")
	}
	p := &supervisor.PanicError{Value: errBoom}
	if !errors.Is(p, errBoom) || p.Error() != "panic: boom" {
		t.Errorf("PanicError %v", p)
	}
}
