package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes shared by every command.
const (
	exitOK    = 0 // success
	exitFail  = 1 // the command ran and the answer is "no" (e.g. an invalid config)
	exitUsage = 2 // bad command line
)

// flagDef describes one flag. Names are written without dashes; both -name and --name are
// accepted, and a value may follow as the next argument or after '='.
type flagDef struct {
	name  string
	value bool // takes a value
	help  string
}

// command is one entry of the command table. Adding a command (nodes, apps, where,
// takeover, permit …) means adding an entry here and a run function.
type command struct {
	words   []string // e.g. {"config", "check"}
	args    string   // synopsis of the positional arguments
	summary string
	flags   []flagDef
	run     func(inv *invocation) int
}

// invocation is what a command's run function gets.
type invocation struct {
	ctx    context.Context
	args   []string          // positional arguments after the command words
	flags  map[string]string // flags given, by name ("true" for boolean flags)
	stdout io.Writer
	stderr io.Writer
}

func (inv *invocation) bool(name string) bool { return inv.flags[name] == "true" }

// globalFlags are accepted by every command.
var globalFlags = []flagDef{{name: "help", help: "show usage"}, {name: "h", help: "show usage"}}

func commands() []command {
	return append([]command{
		{
			words:   []string{"config", "check"},
			args:    "FILE...",
			summary: "merge and validate config files as a booting node would (like erl -config FILE...)",
			flags:   []flagDef{{name: "json", help: "print the kernel view (or the error) as JSON on stdout"}},
			run:     configCheck,
		},
	}, remoteCommands()...)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gotp COMMAND [flags] [args]")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		var fl []string
		for _, f := range c.flags {
			fl = append(fl, "[--"+f.name+"]")
		}
		fmt.Fprintf(w, "  gotp %s %s %s\n      %s\n", strings.Join(c.words, " "), strings.Join(fl, " "), c.args, c.summary)
	}
}

// run parses args (flags anywhere before "--"), finds the command and runs it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	defs := map[string]flagDef{}
	for _, f := range globalFlags {
		defs[f.name] = f
	}
	for _, c := range cmds {
		for _, f := range c.flags {
			defs[f.name] = f
		}
	}
	given := map[string]string{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		def, ok := defs[name]
		if !ok {
			return usageErr(stderr, "unknown flag %s", a)
		}
		switch {
		case def.value && !hasVal:
			if i+1 >= len(args) {
				return usageErr(stderr, "flag %s needs a value", a)
			}
			i++
			val = args[i]
		case !def.value && hasVal:
			if val != "true" && val != "false" {
				return usageErr(stderr, "flag %s takes no value", a)
			}
		case !def.value:
			val = "true"
		}
		given[name] = val
	}
	if given["help"] == "true" || given["h"] == "true" {
		usage(stdout)
		return exitOK
	}
	c, rest, ok := findCommand(cmds, pos)
	if !ok {
		if len(pos) == 0 {
			return usageErr(stderr, "no command given")
		}
		return usageErr(stderr, "unknown command %q", strings.Join(pos, " "))
	}
	allowed := map[string]bool{"help": true, "h": true}
	for _, f := range c.flags {
		allowed[f.name] = true
	}
	names := make([]string, 0, len(given))
	for n := range given {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !allowed[n] {
			return usageErr(stderr, "flag --%s does not apply to %s", n, strings.Join(c.words, " "))
		}
	}
	return c.run(&invocation{ctx: ctx, args: rest, flags: given, stdout: stdout, stderr: stderr})
}

// findCommand matches the longest command whose words start the positional arguments.
func findCommand(cmds []command, pos []string) (command, []string, bool) {
	best, found := command{}, false
	for _, c := range cmds {
		if len(pos) < len(c.words) {
			continue
		}
		match := true
		for i, w := range c.words {
			if pos[i] != w {
				match = false
				break
			}
		}
		if match && len(c.words) > len(best.words) {
			best, found = c, true
		}
	}
	if !found {
		return command{}, nil, false
	}
	return best, pos[len(best.words):], true
}

func usageErr(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "gotp: "+format+"\n", args...)
	usage(stderr)
	return exitUsage
}
