package fakediscord

import (
	"encoding/json"
	"fmt"
	"time"
)

const timestampLayout = "2006-01-02T15:04:05.000000+00:00"

// InjectMessage makes a message by a (fake) user in channelID and dispatches
// MESSAGE_CREATE to every session that should receive it.
func (s *Server) InjectMessage(channelID, content string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Message{}, ErrClosed
	}
	ci, ok := s.channels[channelID]
	if !ok {
		return Message{}, fmt.Errorf("%w: %q", ErrUnknownChannel, channelID)
	}
	m := s.newMessageLocked(ci, s.author, content)
	s.stats.MessagesInjected++
	s.rememberLocked(m)
	s.dispatchMessageLocked(ci, m, false)
	return m, nil
}

// InjectEvent dispatches an arbitrary event (t, d) to every session of
// shard (all shards if shard < 0). d must be a JSON value.
func (s *Server) InjectEvent(shard int, typ string, d json.RawMessage) error {
	if typ == "" {
		return fmt.Errorf("fakediscord: event type is empty")
	}
	if !json.Valid(d) {
		return fmt.Errorf("fakediscord: event %s: payload is not JSON", typ)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, ss := range s.liveSessionsLocked() {
		if shard < 0 || ss.shardID == shard {
			s.dispatchLocked(ss, typ, d, "")
		}
	}
	return nil
}

func (s *Server) newMessageLocked(ci channelInfo, author User, content string) Message {
	now := s.cfg.Now()
	return Message{
		ID: formatID(s.ids.next(now)), ChannelID: ci.ch.ID, GuildID: ci.guildID,
		Author: author, Content: content, Timestamp: now.UTC().Format(timestampLayout),
		Mentions: []User{}, MentionRoles: []string{},
		Attachments: []json.RawMessage{}, Embeds: []json.RawMessage{},
	}
}

// dispatchMessageLocked routes MESSAGE_CREATE: guild messages to the sessions
// whose shard owns the guild (under each session's own shard count), DMs to
// shard 0; intents gate delivery and content.
func (s *Server) dispatchMessageLocked(ci channelInfo, m Message, byBot bool) {
	ev := messageCreate{Message: m}
	if ci.guildID != "" {
		ev.Member = &member{Roles: []string{}, JoinedAt: m.Timestamp}
	}
	full := mustJSON(ev)
	var blank []byte
	for _, ss := range s.liveSessionsLocked() {
		d := full
		if ci.guildID == "" {
			if ss.shardID != 0 || ss.intents&IntentDirectMessages == 0 {
				continue
			}
		} else {
			if ShardOf(ci.guild, ss.numShards) != ss.shardID || ss.intents&IntentGuildMessages == 0 {
				continue
			}
			if !byBot && ss.intents&IntentMessageContent == 0 {
				if blank == nil {
					b := ev
					b.Content, b.Embeds, b.Attachments = "", []json.RawMessage{}, []json.RawMessage{}
					blank = mustJSON(b)
				}
				d = blank
			}
		}
		s.dispatchLocked(ss, "MESSAGE_CREATE", d, m.ID)
	}
}

// StartStream injects perSecond messages per second into channelID until
// stop is called (or the server closes). Message contents are "stream N".
func (s *Server) StartStream(perSecond float64, channelID string) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || perSecond <= 0 {
		return func() {}
	}
	id := s.nextStream
	s.nextStream++
	done, finished := make(chan struct{}), make(chan struct{})
	s.streams[id] = done
	s.wg.Add(1)
	go s.runStream(perSecond, channelID, done, finished)
	return func() {
		s.mu.Lock()
		if ch, ok := s.streams[id]; ok {
			close(ch)
			delete(s.streams, id)
		}
		s.mu.Unlock()
		<-finished // no message is injected after stop returns
	}
}

func (s *Server) runStream(perSecond float64, channelID string, done, finished chan struct{}) {
	defer s.wg.Done()
	defer close(finished)
	tick := time.Duration(float64(time.Second) / perSecond)
	tick = max(tick, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	sent := 0
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		due := int(time.Since(start).Seconds() * perSecond)
		for ; sent < due; sent++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.InjectMessage(channelID, fmt.Sprintf("stream %d", sent)); err != nil {
				s.log.Warn("fake discord stream stopped", "channel", channelID, "err", err)
				return
			}
		}
	}
}
