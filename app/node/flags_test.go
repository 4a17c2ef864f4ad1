package node

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gotp/gotp/kernelcfg"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []string
		want Args
	}{
		{"seed erl style", []string{"-sname", "joe", "-setcookie", "foo", "-config", "mybot_joe.config"},
			Args{SName: "joe", Cookie: "foo", Configs: []string{"mybot_joe.config"}}},
		{"seed iex style", []string{"--sname", "joe", "--cookie", "foo", "--erl-config", "mybot_joe.config"},
			Args{SName: "joe", Cookie: "foo", Configs: []string{"mybot_joe.config"}}},
		{"flags anywhere, app flags kept in order", []string{"-discord", "http://h:1", "--name=joe@h.example", "-trace", "t.jsonl", "-setcookie=c"},
			Args{LName: "joe@h.example", Cookie: "c", Rest: []string{"-discord", "http://h:1", "-trace", "t.jsonl"}}},
		{"-config takes files up to the next flag", []string{"-config", "a", "b.config", "-events", "e", "-config", "c"},
			Args{Configs: []string{"a", "b.config", "c"}, Rest: []string{"-events", "e"}}},
		{"--erl-config repeatable", []string{"--erl-config", "a", "--erl-config=b"}, Args{Configs: []string{"a", "b"}}},
		{"kernel and gotp overrides", []string{"-kernel", "sync_nodes_timeout", "1000", "-gotp", "detection", "test"},
			Args{Overrides: []kernelcfg.Override{{App: "kernel", Param: "sync_nodes_timeout", Value: "1000"}, {App: "gotp", Param: "detection", Value: "test"}}}},
		{"-- ends the runtime's flags", []string{"-sname", "a", "--", "-sname", "b"}, Args{SName: "a", Rest: []string{"--", "-sname", "b"}}},
		{"positional args go to the app", []string{"x", "-sname", "a", "y"}, Args{SName: "a", Rest: []string{"x", "y"}}},
	}
	for _, c := range cases {
		got, err := ParseArgs(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	for _, in := range [][]string{
		{"-sname"}, {"--cookie"}, {"-config"}, {"-config", "-x"}, {"-kernel", "a"}, {"-kernel=a", "b", "c"},
		{"-sname", "a", "-name", "b@h.x"}, {"--sname="}, {"--erl-config"},
	} {
		if _, err := ParseArgs(in); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err %v, want ErrUsage", in, err)
		}
	}
}
