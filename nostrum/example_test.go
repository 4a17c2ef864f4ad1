package nostrum_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// A bot is a child of the user's own supervisor; its handler replies idempotently, so a
// reply to an event replayed after a failover is not posted twice.
func Example() {
	var bot *nostrum.Bot
	bot, err := nostrum.New(nostrum.Options{
		TokenFunc: func() string { return os.Getenv("DISCORD_TOKEN") }, // read when needed
		Intents:   nostrum.IntentGuilds | nostrum.IntentGuildMessages | nostrum.IntentMessageContent,
		Handler: func(ctx context.Context, ev nostrum.Event) error {
			if ev.Message == nil || ev.Message.Content != "!ping" {
				return nil
			}
			_, err := bot.REST().CreateMessage(ctx, ev.Message.ChannelID, rest.MessageCreate{
				Content: "pong", Nonce: rest.ReplyNonce(ev.Message.ID), EnforceNonce: true,
			})
			return err
		},
		Logger: slog.Default(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sup, err := supervisor.New(supervisor.Spec{Name: "mybot", Children: []supervisor.ChildSpec{bot.ChildSpec()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_ = sup // run with: sup.Serve(ctx)
	_ = ctx
	fmt.Println("bot built")
	// Output: bot built
}
