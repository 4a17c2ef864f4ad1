package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotp/gotp/app"
	"github.com/gotp/gotp/dist"
	"github.com/gotp/gotp/nostrum"
	"github.com/gotp/gotp/nostrum/ha"
	"github.com/gotp/gotp/nostrum/rest"
	"github.com/gotp/gotp/supervisor"
)

// settings are mybot's own flags, read when the application first starts (the runtime
// parses them before that).
type settings struct {
	discord, trace, events *string
}

// Bot is the mybot application: a supervisor holding nostrum (through nostrum/ha, so the
// Discord session moves with the app), answering "!ping" with "pong".
type Bot struct {
	set settings
	log *slog.Logger

	once    sync.Once
	initErr error
	ha      *ha.Bot
	traceF  *jsonLines
	eventsF *jsonLines

	epoch atomic.Uint64 // the running instance's epoch
}

func (b *Bot) node() string {
	if c := app.Default(); c != nil {
		return c.Self().Name()
	}
	return "nonode"
}

func (b *Bot) trace(event string, st *app.StartType, epoch uint64) {
	l := traceLine{Node: b.node(), Event: event, Epoch: epoch}
	l.TMs, l.TUs = stamp(time.Now())
	if st != nil {
		kind := st.Kind.String()
		l.Type = &kind
		if st.From != "" {
			from := st.From.Name()
			l.From = &from
		}
	}
	b.traceF.write(l)
}

// init builds the node's adapter once: the token and the Discord URL are known by now.
func (b *Bot) init(ctx context.Context) error {
	b.once.Do(func() {
		b.traceF, b.initErr = openLines(firstNonEmpty(*b.set.trace, os.Getenv("MYBOT_TRACE")))
		if b.initErr != nil {
			return
		}
		if b.eventsF, b.initErr = openLines(firstNonEmpty(*b.set.events, os.Getenv("MYBOT_EVENTS"))); b.initErr != nil {
			return
		}
		token := os.Getenv("DISCORD_TOKEN")
		if token == "" {
			if v, ok := app.Env(ctx, "token"); ok {
				token, _ = v.(string)
			}
		}
		if token == "" {
			b.initErr = errors.New("mybot: no Discord token: set DISCORD_TOKEN or {mybot, [{token, \"...\"}]} in the config")
			return
		}
		b.ha, b.initErr = ha.New(ha.Config{Logger: b.log, Bot: nostrum.Options{
			Name:    "nostrum",
			Token:   nostrum.Secret(token),
			Intents: nostrum.IntentGuilds | nostrum.IntentGuildMessages | nostrum.IntentMessageContent,
			Handler: b.handle,
			BaseURL: firstNonEmpty(*b.set.discord, os.Getenv("DISCORD_URL")),
			Logger:  b.log,
		}})
	})
	return b.initErr
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Start builds mybot's tree for this start type: a supervisor with nostrum inside (the
// included-application pattern: nostrum moves with mybot).
func (b *Bot) Start(ctx context.Context, st app.StartType) (supervisor.Service, error) {
	b.epoch.Store(st.Epoch)
	if err := b.init(ctx); err != nil {
		return nil, err
	}
	b.trace("start", &st, st.Epoch)
	b.log.Info("mybot: starting", "start_type", st.String(), "epoch", st.Epoch)
	cs, err := b.ha.Start(ctx, st)
	if err != nil {
		return nil, err
	}
	return supervisor.New(supervisor.Spec{Name: "mybot", Strategy: supervisor.OneForOne, Logger: b.log,
		Children: []supervisor.ChildSpec{cs}})
}

// PrepStop is called before the tree stops.
func (b *Bot) PrepStop(_ context.Context, reason app.StopReason) {
	b.trace("prep_stop", nil, b.epoch.Load())
	b.log.Info("mybot: prep_stop", "reason", reason.String())
}

// Stop is called after the tree stopped.
func (b *Bot) Stop(_ context.Context, reason app.StopReason) {
	b.trace("stop", nil, b.epoch.Load())
	b.log.Info("mybot: stopped", "reason", reason.String())
}

// Handoff hands the Discord sessions to the node taking over.
func (b *Bot) Handoff(ctx context.Context, to dist.Node) ([]byte, error) {
	if b.ha == nil {
		return nil, nil
	}
	return b.ha.Handoff(ctx, to)
}

// HandoffAborted resumes the sessions after a failed takeover.
func (b *Bot) HandoffAborted(ctx context.Context) {
	if b.ha != nil {
		b.ha.HandoffAborted(ctx)
	}
}

// handle answers "!ping" with "pong" (with the message's reply nonce, so a replayed event
// is not answered twice) and logs every handled message to the events file.
func (b *Bot) handle(ctx context.Context, ev nostrum.Event) error {
	if ev.Type != "MESSAGE_CREATE" || ev.Message == nil || ev.Message.Author.Bot {
		return nil
	}
	m := ev.Message
	var err error
	if m.Content == "!ping" {
		rc := b.ha.REST()
		if rc == nil {
			err = errors.New("mybot: no REST client")
		} else {
			_, err = rc.CreateMessage(ctx, m.ChannelID, rest.MessageCreate{
				Content: "pong", Nonce: rest.ReplyNonce(m.ID), EnforceNonce: true,
				Reference: &rest.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID},
			})
		}
	}
	b.eventsF.write(eventLine{TUs: time.Now().UnixMicro(), Node: b.node(), Shard: ev.Shard, Seq: ev.Seq, ID: m.ID.String()})
	if err != nil {
		return fmt.Errorf("mybot: reply to %s: %w", m.ID, err)
	}
	return nil
}

// library is an included application: loaded so its name is known, started by the
// application that includes it.
type library struct{ name string }

func (l library) Start(context.Context, app.StartType) (supervisor.Service, error) {
	return nil, fmt.Errorf("%s is an included application: it starts inside the application that includes it", l.name)
}
