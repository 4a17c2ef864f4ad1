// Command mybot is the seed's bot in Go: a Discord bot that runs on one node of a cluster and
// moves when that node dies or a higher-priority node comes back (OTP's distributed
// applications). Start each node as the seed does:
//
//	go run ./examples/mybot -sname joe -setcookie foo -config examples/mybot/mybot_joe.config
//
// (also --sname, --cookie, --erl-config; replace HOSTNAME in the config files with this
// host's name first). Its own flags:
//
//	-discord URL   Discord's base URL (default the real one; else $DISCORD_URL), e.g. a fake's
//	-trace F       append one JSON line per App callback to F (else $MYBOT_TRACE)
//	-events F      append one JSON line per handled MESSAGE_CREATE to F (else $MYBOT_EVENTS)
//
// The token comes from $DISCORD_TOKEN, else the token key of mybot's config section:
// [{mybot, [{token, "..."}]}, {kernel, [...]}].
package main

import (
	"flag"
	"log/slog"
	"os"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/app/node"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	fs := flag.NewFlagSet("mybot", flag.ContinueOnError)
	set := settings{
		discord: fs.String("discord", "", "Discord's base URL, e.g. http://127.0.0.1:PORT of a fake (default: the real Discord, or $DISCORD_URL)"),
		trace:   fs.String("trace", "", "append the callback trace (JSON lines) to this file (else $MYBOT_TRACE)"),
		events:  fs.String("events", "", "append one JSON line per handled message to this file (else $MYBOT_EVENTS)"),
	}
	bot := &Bot{set: set, log: log}
	node.Main(node.Options{
		Apps: []app.Spec{
			{Name: "nostrum", Description: "Discord library (included in mybot)", App: library{name: "nostrum"}},
			{Name: "mybot", Description: "the seed's Discord bot", App: bot, Included: []string{"nostrum"}},
		},
		RestartType: app.Permanent,
		Flags:       fs,
		Logger:      log,
	})
}
