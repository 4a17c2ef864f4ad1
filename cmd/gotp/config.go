package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gotp/gotp/kernelcfg"
)

// configCheck implements `gotp config check [--json] FILE...`.
func configCheck(inv *invocation) int {
	if len(inv.args) == 0 {
		return usageErr(inv.stderr, "config check needs at least one FILE")
	}
	asJSON := inv.bool("json")
	cfg, err := kernelcfg.Load(inv.args, kernelcfg.LoadOptions{})
	if err != nil {
		line := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintln(inv.stderr, line)
		if asJSON {
			writeJSON(inv.stdout, map[string]string{"error": "bad_config", "message": line})
		}
		return exitFail
	}
	if asJSON {
		writeJSON(inv.stdout, checkOutput{Kernel: kernelJSON(cfg.Kernel)})
		return exitOK
	}
	fmt.Fprintf(inv.stdout, "%s: ok\n", strings.Join(cfg.Files, " "))
	return exitOK
}

// checkOutput is the exact JSON shape of `config check --json` (issue 2, point 6).
type checkOutput struct {
	Kernel kernelOut `json:"kernel"`
}

type kernelOut struct {
	Distributed        []distributedOut `json:"distributed"`
	SyncNodesMandatory []string         `json:"sync_nodes_mandatory"`
	SyncNodesOptional  []string         `json:"sync_nodes_optional"`
	SyncNodesTimeout   any              `json:"sync_nodes_timeout"` // int ms, "infinity" or null
}

type distributedOut struct {
	App     string     `json:"app"`
	Timeout any        `json:"timeout"` // int ms or "infinity"
	Nodes   [][]string `json:"nodes"`
}

func kernelJSON(k kernelcfg.Kernel) kernelOut {
	out := kernelOut{
		Distributed:        []distributedOut{},
		SyncNodesMandatory: nonNil(k.SyncNodesMandatory),
		SyncNodesOptional:  nonNil(k.SyncNodesOptional),
	}
	for _, d := range k.Distributed {
		tiers := make([][]string, 0, len(d.Tiers))
		for _, t := range d.Tiers {
			tiers = append(tiers, nonNil(t))
		}
		out.Distributed = append(out.Distributed, distributedOut{App: d.App, Timeout: millisJSON(d.Timeout), Nodes: tiers})
	}
	if k.SyncNodesTimeout != 0 {
		out.SyncNodesTimeout = millisJSON(k.SyncNodesTimeout)
	}
	return out
}

func millisJSON(d time.Duration) any {
	if d == kernelcfg.Infinity {
		return "infinity"
	}
	return d.Milliseconds()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
