package kernelcfg

import (
	"fmt"
	"strings"
	"testing"
)

// bigConfig builds a config of about size bytes: a kernel section plus many applications
// with a mix of atoms, strings, integers, floats, tuples, lists, maps and binaries.
func bigConfig(size int) []byte {
	var b strings.Builder
	b.WriteString("% generated\n[{kernel, [{distributed, [{mybot, 5000, [joe@cave, {mike@cave, robert@cave}]}]},\n  {sync_nodes_mandatory, [mike@cave, robert@cave]}, {sync_nodes_timeout, 30000}]}")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, ",\n {app_%d, [{name, 'app-%d'}, {port, %d}, {ratio, %d.5e-3}, {hosts, [\"h%d.example.com\", \"h\\x{e9}\\n\"]},\n   {nested, {a, [b, {c, 16#FF}], #{k => <<\"v\", 1, 2>>}}}, {enabled, true}, {list, [%d, -%d, $a | tail]}]} %% app %d\n",
			i, i, 1000+i%60000, i, i, i, i, i)
	}
	b.WriteString("].\n")
	return []byte(b.String())
}

func BenchmarkParse1MB(b *testing.B) {
	src := bigConfig(1 << 20)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile("big.config", src); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBigConfigLoads(t *testing.T) {
	t.Parallel()
	src := bigConfig(1 << 20)
	term, err := ParseFile("big.config", src)
	if err != nil {
		t.Fatal(err)
	}
	elems, _ := ListElems(term)
	if len(elems) < 1000 {
		t.Fatalf("only %d apps", len(elems))
	}
}
