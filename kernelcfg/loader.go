package kernelcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Override is one command-line style override `-App Param Value` (as OTP's `-kernel Par Val`).
// Value is Erlang term text, parsed like OTP parses a flag value. Overrides are applied after
// every file, in order, and win over the files.
type Override struct {
	App   string // application name, e.g. "kernel"
	Param string // parameter name, e.g. "sync_nodes_timeout"
	Value string // term text, e.g. "30000" or "[a@h, b@h]"
}

// LoadOptions tunes Load. The zero value is ready to use.
type LoadOptions struct {
	// Overrides are applied after all files, in order (later wins). Default none.
	Overrides []Override
	// WorkDir is the directory relative file names (and sys.config includes, as their
	// second choice) are resolved against. Default "": the process's working directory.
	WorkDir string
	// ReadFile reads a file by its resolved path. Default os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Validate checks the options: every override names an application and a parameter.
func (o LoadOptions) Validate() error {
	for _, ov := range o.Overrides {
		if ov.App == "" || ov.Param == "" {
			return &Error{File: fmt.Sprintf("-%s %s", ov.App, ov.Param), Msg: "found an empty application or parameter name, expected -App Par Value", Kind: ErrUsage}
		}
	}
	return nil
}

// Param is one parameter of an application's environment after merging.
type Param struct {
	Key   string // parameter name
	Value Term   // the winning value
	File  string // the file (as named in errors) or override label the value came from
	At    Pos    // where the {Key, Value} tuple starts in File
}

// Config is a loaded, merged and validated configuration: what a booting node sees.
type Config struct {
	// Files lists every file read, in merge order (includes where they were merged).
	Files []string
	// Kernel is the typed view of the kernel application's parameters gotp uses.
	Kernel Kernel
	// Gotp is the typed view of gotp's own section (design.md); defaults when absent.
	Gotp Gotp

	apps []string
	envs map[string]*Env
}

// App returns the merged environment of an application; an empty Env when it has none.
func (c *Config) App(name string) Env {
	if e, ok := c.envs[name]; ok {
		return *e
	}
	return Env{app: name}
}

// Apps lists the applications that have an environment, in order of first appearance.
func (c *Config) Apps() []string { return append([]string(nil), c.apps...) }

// ForceSuffix returns the file name OTP reads for `-config name`: the `.config` suffix is
// added unless present ("x" and "x.config" both mean "x.config"; "x.conf" means "x.conf.config").
func ForceSuffix(name string) string {
	if strings.HasSuffix(name, ".config") && filepath.Base(name) != ".config" {
		return name
	}
	return name + ".config"
}

// Load reads the files as `erl -config F1 F2 ...` does, merges them key by key (later wins),
// applies opts.Overrides, and validates the result (see the package documentation).
// Every error is an *Error. Load never touches the network.
func Load(files []string, opts LoadOptions) (*Config, error) {
	if len(files) == 0 {
		return nil, &Error{File: "kernelcfg", Msg: "no config files given, expected at least one", Kind: ErrUsage}
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &loader{opts: opts, cfg: &Config{envs: map[string]*Env{}}}
	if l.opts.ReadFile == nil {
		l.opts.ReadFile = os.ReadFile
	}
	for _, f := range files {
		if err := l.loadTop(ForceSuffix(f)); err != nil {
			return nil, err
		}
	}
	for _, o := range opts.Overrides {
		if err := l.override(o); err != nil {
			return nil, err
		}
	}
	if err := l.cfg.buildViews(l.dirOf); err != nil {
		return nil, err
	}
	return l.cfg, nil
}

type loader struct {
	opts LoadOptions
	cfg  *Config
	dirs map[string]string // file name as shown → directory of its resolved path
}

func (l *loader) resolve(name string) string {
	if filepath.IsAbs(name) || l.opts.WorkDir == "" {
		return name
	}
	return filepath.Join(l.opts.WorkDir, name)
}

// dirOf returns the directory of a loaded file's resolved path (the work directory for
// override labels).
func (l *loader) dirOf(file string) string {
	if d, ok := l.dirs[file]; ok {
		return d
	}
	return l.opts.WorkDir
}

func (l *loader) read(name string) ([]byte, *Error) {
	data, err := l.opts.ReadFile(l.resolve(name))
	if err != nil {
		why := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			why = pe.Err.Error()
		}
		return nil, &Error{File: name, Msg: why, Kind: ErrRead, Err: err}
	}
	if l.dirs == nil {
		l.dirs = map[string]string{}
	}
	l.dirs[name] = filepath.Dir(l.resolve(name))
	l.cfg.Files = append(l.cfg.Files, name)
	return data, nil
}

func (l *loader) loadTop(name string) error {
	data, err := l.read(name)
	if err != nil {
		return err
	}
	elems, err := topList(name, data)
	if err != nil {
		return err
	}
	if filepath.Base(name) != "sys.config" {
		return l.mergeFile(name, elems)
	}
	// sys.config: strings name files to include; app tuples are merged one at a time, so a
	// repeated application is allowed here (OTP 25 does the same).
	for _, e := range elems {
		if s, ok := e.(*String); ok {
			if err := l.include(name, s); err != nil {
				return err
			}
			continue
		}
		if err := l.mergeFile(name, []Term{e}); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) include(sysName string, s *String) error {
	inc := ForceSuffix(s.Value)
	cands := []string{inc}
	if !filepath.IsAbs(inc) {
		cands = []string{filepath.Join(filepath.Dir(sysName), inc), inc}
		if cands[0] == cands[1] {
			cands = cands[:1]
		}
	}
	var data []byte
	var name string
	for _, c := range cands {
		d, err := l.read(c)
		if err == nil {
			data, name = d, c
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if name == "" {
		return errAt(sysName, s.At, ErrInclude, "found include %s, expected an existing file (tried %s)", s, strings.Join(cands, " and "))
	}
	elems, err := topList(name, data)
	if err != nil {
		return err
	}
	return l.mergeFile(name, elems)
}

// topList parses a file and returns the elements of its one list.
func topList(name string, data []byte) ([]Term, *Error) {
	t, err := parseFile(name, data)
	if err != nil {
		return nil, err
	}
	elems, ok := ListElems(t)
	if !ok {
		return nil, errAt(name, t.Pos(), ErrStructure, "found %s, expected one list of {App, [{Par, Val}]} ended by a dot", short(t))
	}
	return elems, nil
}

// mergeFile checks the application tuples of one file (or one tuple of a sys.config) and
// merges them into the configuration.
func (l *loader) mergeFile(name string, elems []Term) error {
	seenApps := map[string]bool{}
	for _, e := range elems {
		if s, ok := e.(*String); ok {
			return errAt(name, s.At, ErrInclude, "found include %s, expected {App, [{Par, Val}]} (includes are allowed only in a file named sys.config, and do not nest)", s)
		}
		app, params, err := appTuple(name, e)
		if err != nil {
			return err
		}
		if seenApps[app] {
			return errAt(name, e.Pos(), ErrDuplicate, "found a second entry for application %s, expected each application once per file", quoteAtom(app))
		}
		seenApps[app] = true
		env := l.cfg.env(app)
		for _, p := range params {
			env.set(p)
		}
	}
	return nil
}

// appTuple checks one {App, [{Par, Val}]} element as OTP's check_conf_data does, plus
// OTP 25's duplicate-parameter check.
func appTuple(name string, e Term) (string, []Param, error) {
	tup, ok := e.(*Tuple)
	if !ok || len(tup.Elems) != 2 {
		return "", nil, errAt(name, e.Pos(), ErrStructure, "found %s, expected {App, [{Par, Val}]}", short(e))
	}
	app, ok := AtomName(tup.Elems[0])
	if !ok {
		return "", nil, errAt(name, tup.Elems[0].Pos(), ErrStructure, "found %s as application name, expected an atom", short(tup.Elems[0]))
	}
	elems, ok := ListElems(tup.Elems[1])
	if !ok {
		return "", nil, errAt(name, tup.Elems[1].Pos(), ErrStructure, "found %s as parameters of %s, expected a list of {Par, Val}", short(tup.Elems[1]), quoteAtom(app))
	}
	seen := map[string]bool{}
	params := make([]Param, 0, len(elems))
	for _, pe := range elems {
		pt, ok := pe.(*Tuple)
		if !ok || len(pt.Elems) != 2 {
			return "", nil, errAt(name, pe.Pos(), ErrStructure, "found %s in the parameters of %s, expected {Par, Val}", short(pe), quoteAtom(app))
		}
		key, ok := AtomName(pt.Elems[0])
		if !ok {
			return "", nil, errAt(name, pt.Elems[0].Pos(), ErrStructure, "found %s as a parameter name of %s, expected an atom", short(pt.Elems[0]), quoteAtom(app))
		}
		if seen[key] {
			return "", nil, errAt(name, pt.Elems[0].Pos(), ErrDuplicate, "found parameter %s of %s a second time, expected each parameter once", quoteAtom(key), quoteAtom(app))
		}
		seen[key] = true
		params = append(params, Param{Key: key, Value: pt.Elems[1], File: name, At: pt.At})
	}
	return app, params, nil
}

func (l *loader) override(o Override) error {
	label := fmt.Sprintf("-%s %s", o.App, o.Param)
	v, err := ParseTerm(label, o.Value)
	if err != nil {
		return err
	}
	l.cfg.env(o.App).set(Param{Key: o.Param, Value: v, File: label, At: Pos{1, 1}})
	return nil
}

func (c *Config) env(app string) *Env {
	e, ok := c.envs[app]
	if !ok {
		e = &Env{app: app, idx: map[string]int{}}
		c.envs[app] = e
		c.apps = append(c.apps, app)
	}
	return e
}

func (e *Env) set(p Param) {
	if i, ok := e.idx[p.Key]; ok {
		e.params[i] = p
		return
	}
	e.idx[p.Key] = len(e.params)
	e.params = append(e.params, p)
}

// short renders a term for an error message, cut to a readable length.
func short(t Term) string {
	s := t.String()
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
