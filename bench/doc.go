// Package bench holds benchmarks that compare gotp with its peers (thejerf/suture,
// bwmarrin/discordgo, …). It is a Go module of its own so that the peers never enter the
// library's go.mod. Each sub-directory is one comparison; docs/BENCHMARKS.md has the figures
// and the commands that produced them.
package bench
