package ha_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/fakediscord"
	"github.com/gotp/gotp/nostrum/gateway"
	"github.com/gotp/gotp/nostrum/ha"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// myBot is a bot application: its tree holds whatever the handler needs, then the bot.
type myBot struct{ bot *ha.Bot }

// Start builds the tree. The adapter's Start reads the handoff (takeover) or the last
// checkpoint (failover) from ctx and returns the bot's child spec.
func (a *myBot) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	bot, err := a.bot.Start(ctx, st)
	if err != nil {
		return nil, err
	}
	return supervisor.New(supervisor.Spec{Name: "mybot", Children: []supervisor.ChildSpec{bot}})
}

// Handoff gives the sessions to the node taking the bot over.
func (a *myBot) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	return a.bot.Handoff(ctx, to)
}

// HandoffAborted resumes them here when that node's start failed.
func (a *myBot) HandoffAborted(ctx context.Context) { a.bot.HandoffAborted(ctx) }

// A bot under the application controller. On a cluster, give app.Config a Network and the
// `distributed` entry for "mybot"; moves then carry the Discord session (takeover) or resume
// it from a checkpoint (failover). Stop reasons need no delegation: the adapter reads them.
func Example() {
	srv, _ := fakediscord.Start(fakediscord.Config{Token: "tok", Logger: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	ch := srv.Guilds()[0].Channels[0].ID

	replied, ready := make(chan string, 1), make(chan struct{})
	var bot *ha.Bot
	bot, err := ha.New(ha.Config{Bot: nostrum.Options{
		Token: "tok", BaseURL: srv.URL(), Logger: slog.New(slog.DiscardHandler),
		Intents: nostrum.IntentGuilds | nostrum.IntentGuildMessages | nostrum.IntentMessageContent,
		Handler: func(ctx context.Context, ev nostrum.Event) error {
			if ev.Type != "MESSAGE_CREATE" || ev.Message.Author.Bot {
				return nil
			}
			m := ev.Message
			// The nonce makes the reply idempotent: a failover that replays this event
			// does not post it twice.
			r, err := bot.REST().CreateMessage(ctx, m.ChannelID, rest.MessageCreate{
				Content: "pong", Nonce: rest.ReplyNonce(m.ID), EnforceNonce: true})
			if err == nil {
				replied <- r.Content
			}
			return err
		},
		OnGatewayEvent: func(e gateway.Event) {
			if _, ok := e.(gateway.Ready); ok {
				close(ready)
			}
		},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctl, _ := app.New(app.Config{Logger: slog.New(slog.DiscardHandler)})
	defer ctl.Shutdown(context.Background())                     // ends the session with close 1000
	_ = ctl.Load(app.Spec{Name: "mybot", App: &myBot{bot: bot}}) // or App: bot.App()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ctl.Start(ctx, "mybot", app.Permanent); err != nil {
		fmt.Println(err)
		return
	}
	<-ready // the shard identified
	_, _ = srv.InjectMessage(ch, "ping")
	fmt.Println(<-replied)
	// Output: pong
}
