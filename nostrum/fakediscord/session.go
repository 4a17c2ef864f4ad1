package fakediscord

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// session is a gateway session: it outlives its connections.
type session struct {
	id         string
	token      string
	shardID    int
	numShards  int
	intents    uint64
	seq        int64
	ring       []ringEntry // the last ReplayBuffer dispatches, oldest first
	conn       *conn       // attached connection or nil
	detachedAt time.Time
	invalid    bool // deleted: never resumable again
	noResume   bool // ExpireSessions: gone as soon as it is detached
}

type ringEntry struct {
	seq  int64
	data []byte
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) expiredLocked(ss *session, now time.Time) bool {
	if ss.invalid {
		return true
	}
	if ss.conn != nil {
		return false
	}
	return ss.noResume || now.Sub(ss.detachedAt) > s.cfg.SessionTTL
}

// dispatchLocked gives the event the session's next sequence number, keeps
// it in the replay buffer and sends it if a connection is attached.
func (s *Server) dispatchLocked(ss *session, typ string, d []byte, msgID string) {
	ss.seq++
	data := make([]byte, 0, len(d)+len(typ)+48)
	data = append(data, `{"op":0,"s":`...)
	data = strconv.AppendInt(data, ss.seq, 10)
	data = append(data, `,"t":`...)
	data = strconv.AppendQuote(data, typ)
	data = append(data, `,"d":`...)
	data = append(data, d...)
	data = append(data, '}')
	ss.ring = append(ss.ring, ringEntry{seq: ss.seq, data: data})
	if n := len(ss.ring) - s.cfg.ReplayBuffer; n > 0 {
		ss.ring = ss.ring[n:]
	}
	s.dispatched = append(s.dispatched, Dispatch{Session: ss.id, Shard: ss.shardID, Seq: ss.seq, Type: typ, MessageID: msgID})
	if len(s.dispatched) >= 2*s.cfg.DispatchLog { // trim in bulk: amortised O(1)
		s.dispatched = append([]Dispatch(nil), s.dispatched[len(s.dispatched)-s.cfg.DispatchLog:]...)
	}
	if ss.conn != nil && !ss.conn.closing {
		ss.conn.enqueue(outFrame{data: data})
	}
}

// liveSessionsLocked returns the sessions that still exist, dropping expired ones.
func (s *Server) liveSessionsLocked() []*session {
	now := s.cfg.Now()
	out := make([]*session, 0, len(s.sessions))
	for id, ss := range s.sessions {
		if s.expiredLocked(ss, now) {
			delete(s.sessions, id)
			continue
		}
		out = append(out, ss)
	}
	return out
}

func (s *Server) sendOpLocked(c *conn, op int, d any) {
	c.enqueue(outFrame{data: mustJSON(map[string]any{"op": op, "d": d, "s": nil, "t": nil})})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakediscord: marshal: " + err.Error()) // only our own types are marshalled
	}
	return b
}

// handlePayloadLocked applies one client payload.
func (s *Server) handlePayloadLocked(c *conn, data []byte) {
	now := s.cfg.Now()
	c.sendTimes = append(c.sendTimes, now)
	cut := 0
	for cut < len(c.sendTimes) && now.Sub(c.sendTimes[cut]) >= s.cfg.SendWindow {
		cut++
	}
	c.sendTimes = c.sendTimes[cut:]
	if len(c.sendTimes) > s.cfg.SendLimit {
		s.closeConnLocked(c, 4008, "Rate limited.", false)
		return
	}
	if len(data) > maxPayload {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", false)
		return
	}
	var p struct {
		Op *int            `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.Op == nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", false)
		return
	}
	switch *p.Op {
	case 1:
		s.heartbeatLocked(c)
	case 2:
		s.identifyLocked(c, p.D)
	case 6:
		s.resumeLocked(c, p.D)
	case 3, 4, 8, 31, 43:
		if !c.authed {
			s.closeConnLocked(c, 4003, "Not authenticated.", false)
		}
	default:
		s.closeConnLocked(c, 4001, "Unknown opcode.", false)
	}
}

func (s *Server) heartbeatLocked(c *conn) {
	s.stats.Heartbeats++
	if c.hbTimer != nil {
		c.hbTimer.Reset(c.hbTimeout)
	}
	if c.zombie {
		return
	}
	s.stats.HeartbeatACKs++
	s.sendOpLocked(c, 11, nil)
}

func (s *Server) validToken(tok string) bool {
	if len(tok) > 4 && tok[:4] == "Bot " {
		tok = tok[4:]
	}
	if tok == "" {
		return false
	}
	return s.cfg.Token == "" || tok == s.cfg.Token
}

func (s *Server) startLeftLocked() int {
	if !s.startReset.IsZero() && !s.cfg.Now().Before(s.startReset) {
		s.startLeft, s.startReset = s.cfg.SessionStartTotal, time.Time{}
	}
	return s.startLeft
}

func (s *Server) identifyLocked(c *conn, raw json.RawMessage) {
	if c.authed {
		s.closeConnLocked(c, 4005, "Already authenticated.", false)
		return
	}
	var d struct {
		Token   string  `json:"token"`
		Intents *uint64 `json:"intents"`
		Shard   []int   `json:"shard"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.Intents == nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", false)
		return
	}
	shard := []int{0, 1}
	if d.Shard != nil {
		shard = d.Shard
	}
	switch {
	case !s.validToken(d.Token):
		s.closeConnLocked(c, 4004, "Authentication failed.", false)
	case *d.Intents&^knownIntents != 0:
		s.closeConnLocked(c, 4013, "Invalid intent(s).", false)
	case s.cfg.AllowedIntents != 0 && *d.Intents&^s.cfg.AllowedIntents != 0:
		s.closeConnLocked(c, 4014, "Disallowed intent(s).", false)
	case len(shard) != 2 || shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]:
		s.closeConnLocked(c, 4010, "Invalid shard.", false)
	case len(s.guildsOfShard(shard[0], shard[1])) > s.cfg.MaxGuildsPerShard:
		s.closeConnLocked(c, 4011, "Sharding required.", false)
	case s.startLeftLocked() <= 0:
		s.closeConnLocked(c, 4004, "Authentication failed.", false)
	default:
		s.identifyAcceptedLocked(c, d.Token, *d.Intents, shard[0], shard[1])
	}
}

func (s *Server) identifyAcceptedLocked(c *conn, token string, intents uint64, shardID, numShards int) {
	now := s.cfg.Now()
	key := shardID % s.cfg.MaxConcurrency
	if last, ok := s.lastIdent[key]; ok && now.Sub(last) < s.cfg.IdentifyWindow {
		s.stats.IdentifyRejected++
		if s.cfg.InvalidSessionDelay <= 0 {
			s.sendOpLocked(c, 9, false)
			return
		}
		if c.op9T != nil {
			c.op9T.Stop()
		}
		c.op9T = time.AfterFunc(s.cfg.InvalidSessionDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !c.closing {
				s.sendOpLocked(c, 9, false)
			}
		})
		return
	}
	s.lastIdent[key] = now
	if s.startReset.IsZero() {
		s.startReset = now.Add(s.cfg.SessionStartReset)
	}
	s.startLeft--
	s.stats.Identifies++
	ss := &session{id: newSessionID(), token: strings.TrimPrefix(token, "Bot "), shardID: shardID, numShards: numShards, intents: intents, conn: c}
	s.sessions[ss.id] = ss
	c.sess, c.authed = ss, true
	guilds := s.guildsOfShard(shardID, numShards)
	stubs := make([]map[string]any, len(guilds))
	for i, g := range guilds {
		stubs[i] = map[string]any{"id": g.ID, "unavailable": true}
	}
	s.dispatchLocked(ss, "READY", mustJSON(map[string]any{
		"v": 10, "user": s.bot, "guilds": stubs, "session_id": ss.id,
		"resume_gateway_url": s.resumeURL, "shard": []int{shardID, numShards},
		"application":      map[string]any{"id": s.bot.ID, "flags": 0},
		"private_channels": []any{}, "session_type": "normal",
	}), "")
	ts := now.UTC().Format(timestampLayout)
	for _, g := range guilds {
		chans := make([]map[string]any, len(g.Channels))
		for i, ch := range g.Channels {
			chans[i] = map[string]any{"id": ch.ID, "name": ch.Name, "type": ch.Type, "position": i}
		}
		s.dispatchLocked(ss, "GUILD_CREATE", mustJSON(map[string]any{
			"id": g.ID, "name": g.Name, "owner_id": s.author.ID, "unavailable": false,
			"member_count": 2, "large": false, "joined_at": ts, "channels": chans,
			"threads": []any{}, "members": []any{}, "roles": []any{}, "presences": []any{},
			"voice_states": []any{}, "emojis": []any{}, "stickers": []any{},
		}), "")
	}
}

func (s *Server) guildsOfShard(shardID, numShards int) []Guild {
	var out []Guild
	for _, g := range s.guilds {
		id, _ := parseSnowflake(g.ID)
		if ShardOf(id, numShards) == shardID {
			out = append(out, g)
		}
	}
	return out
}

func (s *Server) resumeLocked(c *conn, raw json.RawMessage) {
	if c.authed {
		s.closeConnLocked(c, 4005, "Already authenticated.", false)
		return
	}
	var d struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       *int64 `json:"seq"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", false)
		return
	}
	if !s.validToken(d.Token) {
		s.closeConnLocked(c, 4004, "Authentication failed.", false)
		return
	}
	var seq int64
	if d.Seq != nil {
		seq = *d.Seq
	}
	ss, ok := s.sessions[d.SessionID]
	if !ok || s.expiredLocked(ss, s.cfg.Now()) || ss.noResume || ss.token != strings.TrimPrefix(d.Token, "Bot ") {
		s.stats.ResumesFailed++
		s.sendOpLocked(c, 9, false)
		return
	}
	if seq > ss.seq {
		s.closeConnLocked(c, 4007, "Invalid seq.", false)
		if ss.conn == nil { // a socket that holds the session keeps it
			ss.invalid = true
			delete(s.sessions, ss.id)
		}
		return
	}
	if len(ss.ring) > 0 && seq < ss.ring[0].seq-1 || len(ss.ring) == 0 && seq < ss.seq {
		s.stats.ResumesFailed++
		s.sendOpLocked(c, 9, false)
		return
	}
	if old := ss.conn; old != nil && old != c {
		if s.cfg.RejectResumeWhileAttached {
			s.sendOpLocked(c, 9, true)
			return
		}
		s.closeConnLocked(old, 4000, "Session resumed elsewhere.", false)
	}
	ss.conn = c
	c.sess, c.authed = ss, true
	s.stats.Resumes++
	s.stats.ResumesByURL[c.listenerURL]++
	for _, e := range ss.ring {
		if e.seq > seq {
			c.enqueue(outFrame{data: e.data})
		}
	}
	s.dispatchLocked(ss, "RESUMED", []byte(`{}`), "")
}
