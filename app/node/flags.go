package node

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gotp/gotp/kernelcfg"
)

// ErrUsage is matched (errors.Is) by every command-line error of the runtime's own flags.
var ErrUsage = errors.New("bad command line")

// Args are the runtime's own flags, as erl takes them, and what is left for the app.
type Args struct {
	// SName is the -sname / --sname value ("" when not given).
	SName string
	// LName is the -name / --name value ("" when not given).
	LName string
	// Cookie is the -setcookie / --cookie value ("" when not given: $HOME/.erlang.cookie).
	Cookie string
	// Configs are the -config / --erl-config files, in the order given (suffix optional).
	Configs []string
	// Overrides are the -kernel Par Val and -gotp Par Val overrides, in order.
	Overrides []kernelcfg.Override
	// Rest holds every argument the runtime does not own, in order, for the app's flag set.
	Rest []string
}

// ParseArgs takes the runtime's flags from args, in any position, and leaves the rest in
// Args.Rest. Accepted (single or double dash, value as the next argument or after '='):
//
//	-sname N | --sname N          short node name (name or name@host)
//	-name N | --name N            long node name (name@host.domain, or name completed by the host)
//	-setcookie C | --cookie C     the cluster cookie
//	-config F [F…] | --erl-config F   config files (repeatable; -config takes every following
//	                              argument up to the next one starting with '-', as erl does)
//	-kernel Par Val | -gotp Par Val   parameter overrides (Val is Erlang term text)
//
// "--" ends the runtime's flags: everything after it goes to Rest.
func ParseArgs(args []string) (Args, error) {
	var a Args
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.Rest = append(a.Rest, args[i:]...)
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			a.Rest = append(a.Rest, arg)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		value := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%w: flag %s needs a value", ErrUsage, arg)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "sname":
			a.SName, err = value()
		case "name":
			a.LName, err = value()
		case "setcookie", "cookie":
			a.Cookie, err = value()
		case "erl-config":
			var f string
			f, err = value()
			a.Configs = append(a.Configs, f)
		case "config":
			n := len(a.Configs)
			if hasVal {
				a.Configs = append(a.Configs, val)
			}
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				a.Configs = append(a.Configs, args[i])
			}
			if len(a.Configs) == n {
				err = fmt.Errorf("%w: flag %s needs at least one file", ErrUsage, arg)
			}
		case "kernel", "gotp":
			if hasVal || i+2 >= len(args) {
				err = fmt.Errorf("%w: flag %s needs a parameter and a value (-%s Par Val)", ErrUsage, arg, name)
				break
			}
			a.Overrides = append(a.Overrides, kernelcfg.Override{App: name, Param: args[i+1], Value: args[i+2]})
			i += 2
		default:
			a.Rest = append(a.Rest, arg)
			continue
		}
		if err != nil {
			return Args{}, err
		}
		if (name == "sname" || name == "name" || name == "setcookie" || name == "cookie" || name == "erl-config") && hasVal && val == "" {
			return Args{}, fmt.Errorf("%w: flag %s needs a value", ErrUsage, arg)
		}
	}
	if a.SName != "" && a.LName != "" {
		return Args{}, fmt.Errorf("%w: -sname and -name are exclusive", ErrUsage)
	}
	return a, nil
}
