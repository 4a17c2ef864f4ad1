package kernelcfg_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gotp/gotp/kernelcfg"
)

// Load reads config files as `erl -config` does, applies `-kernel Par Val` style overrides
// last, and returns the typed kernel view.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "kernelcfg-example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "joe.config"), []byte(`
[{kernel,
  [{distributed, [{mybot, 5000, [joe@cave, {mike@cave, robert@cave}]}]},
   {sync_nodes_mandatory, [mike@cave, robert@cave]},
   {sync_nodes_timeout, 30000}]},
 {mybot, [{prefix, "!"}]}].`), 0o644)

	cfg, err := kernelcfg.Load([]string{"joe"}, kernelcfg.LoadOptions{
		WorkDir:   dir,
		Overrides: []kernelcfg.Override{{App: "kernel", Param: "sync_nodes_timeout", Value: "10000"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := cfg.Kernel.For("mybot")
	fmt.Println(d.App, d.Timeout, d.Tiers)
	fmt.Println(cfg.Kernel.SyncNodesMandatory, cfg.Kernel.SyncNodesTimeout)
	prefix, _ := cfg.App("mybot").Text("prefix", "?")
	fmt.Println(prefix, cfg.Gotp.Detection)

	_, err = kernelcfg.Load([]string{"joe"}, kernelcfg.LoadOptions{WorkDir: dir,
		Overrides: []kernelcfg.Override{{App: "kernel", Param: "sync_nodes_optional", Value: `["x@cave"]`}}})
	fmt.Println(err)
	// Output:
	// mybot 5s [[joe@cave] [mike@cave robert@cave]]
	// [mike@cave robert@cave] 10s
	// ! lan
	// -kernel sync_nodes_optional:1:2: found "x@cave" for kernel sync_nodes_optional, expected a node atom such as x@cave, not a string
}
