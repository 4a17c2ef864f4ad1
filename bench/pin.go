package bench

// The peers compared against, pinned in this module's go.mod while the comparisons are
// being written.
import (
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/thejerf/suture/v4"
)
