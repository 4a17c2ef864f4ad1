package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// shardConnsLocked returns the live connections holding a session of shard.
func (s *Server) shardConnsLocked(shard int) ([]*conn, error) {
	if s.closed {
		return nil, ErrClosed
	}
	var out []*conn
	for c := range s.conns {
		if !c.closing && c.sess != nil && c.sess.shardID == shard {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %d", ErrNoConnection, shard)
	}
	return out, nil
}

// sessionConnLocked returns the live connection holding session id.
func (s *Server) sessionConnLocked(id string) (*conn, error) {
	if s.closed {
		return nil, ErrClosed
	}
	ss, ok := s.sessions[id]
	if !ok || ss.conn == nil || ss.conn.closing {
		return nil, fmt.Errorf("%w: session %q", ErrNoConnection, id)
	}
	return ss.conn, nil
}

// CloseSession sends a close frame with code to the connection holding the
// session (same session fate as CloseShard).
func (s *Server) CloseSession(sessionID string, code int) error {
	if code < 1000 || code > 4999 {
		return fmt.Errorf("fakediscord: close code %d out of range", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.sessionConnLocked(sessionID)
	if err != nil {
		return err
	}
	s.closeConnLocked(c, code, "Closed by fakediscord control.", invalidatingCode(code))
	return nil
}

// DropSession drops the TCP connection holding the session without a close
// frame; the session stays resumable for SessionTTL.
func (s *Server) DropSession(sessionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.sessionConnLocked(sessionID)
	if err != nil {
		return err
	}
	s.dropConnLocked(c)
	return nil
}

func invalidatingCode(code int) bool {
	return code == 4004 || code == 4007 || code == 4009 || (code >= 4010 && code <= 4014)
}

// Reconnect sends op 7 to the shard's live connection(s); a connection the
// client has not closed after ReconnectGrace is closed with 4000.
func (s *Server) Reconnect(shard int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		s.sendOpLocked(c, 7, nil)
		if c.reconnT != nil {
			c.reconnT.Stop()
		}
		c.reconnT = time.AfterFunc(s.cfg.ReconnectGrace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.closeConnLocked(c, 4000, "Reconnect requested.", false)
		})
	}
	return err
}

// InvalidSession sends op 9 with d = resumable to the shard's live
// connection(s). The session leaves the connection (which may IDENTIFY or
// RESUME again); it stays resumable only if resumable is true.
func (s *Server) InvalidSession(shard int, resumable bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		s.sendOpLocked(c, 9, resumable)
		s.releaseSessionLocked(c, !resumable)
	}
	return err
}

// CloseShard sends a close frame with code to the shard's live
// connection(s). 4004, 4007, 4009 and 4010–4014 also end the session; any
// other code keeps it resumable for SessionTTL.
func (s *Server) CloseShard(shard int, code int) error {
	if code < 1000 || code > 4999 {
		return fmt.Errorf("fakediscord: close code %d out of range", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		s.closeConnLocked(c, code, "Closed by fakediscord control.", invalidatingCode(code))
	}
	return err
}

// DropShard drops the TCP connection(s) of the shard without a close frame;
// the sessions stay resumable for SessionTTL.
func (s *Server) DropShard(shard int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		s.dropConnLocked(c)
	}
	return err
}

// SetZombie stops (on) or resumes (off) heartbeat ACKs on the shard's live
// connection(s); the fake keeps the socket open and keeps dispatching. Only
// the connections live now are affected: a client that detects the zombie
// and reconnects gets ACKs on its new connection. Turning it on with no live
// connection on the shard returns ErrNoConnection; turning it off never fails
// (except ErrClosed), so a test may call it after the client reconnected.
func (s *Server) SetZombie(shard int, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		c.zombie = on
	}
	if !on && errors.Is(err, ErrNoConnection) {
		return nil
	}
	return err
}

// RequestHeartbeat sends a server-initiated op 1 to the shard's connection(s).
func (s *Server) RequestHeartbeat(shard int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.shardConnsLocked(shard)
	for _, c := range cs {
		var seq any
		if c.sess != nil {
			seq = c.sess.seq
		}
		s.sendOpLocked(c, 1, seq)
	}
	return err
}

// ExpireSessions makes every session unresumable: detached ones are gone at
// once, attached ones as soon as their connection ends.
func (s *Server) ExpireSessions() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, ss := range s.sessions {
		ss.noResume = true
	}
	s.liveSessionsLocked()
	return nil
}

// SetHeartbeatInterval changes the interval sent in Hello to new connections.
func (s *Server) SetHeartbeatInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("fakediscord: heartbeat interval %v is not positive", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hbInterval = d
	return nil
}

// ResetIdentifyBudget restores session_start_limit.remaining to the total
// and forgets the identify buckets.
func (s *Server) ResetIdentifyBudget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLeft, s.startReset = s.cfg.SessionStartTotal, time.Time{}
	s.lastIdent = map[int]time.Time{}
}

// ForceShared429 makes the next n create-message requests get a 429 with
// scope shared and retry_after.
func (s *Server) ForceShared429(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forceShared, s.forceShRA = n, retryAfter
}

// ForceServerError makes the next n create-message requests get a 502 with
// an HTML body and no rate-limit headers.
func (s *Server) ForceServerError(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.force5xx = n
}

// SetReconnectBeforeHello makes new connections get an op 7 before Hello
// (Discord may send op 7 at any time); the connection is otherwise served
// normally.
func (s *Server) SetReconnectBeforeHello(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op7BeforeHello = on
}

// SetLatency delays every authenticated REST response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// routeControl serves the control API under /_fake/ (JSON in, JSON out).
func (s *Server) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_fake/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Messages())
	})
	mux.HandleFunc("GET /_fake/dispatched", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Dispatched())
	})
	mux.HandleFunc("GET /_fake/world", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"bot": s.bot, "guilds": s.Guilds(),
			"dm_channels": s.DMChannels(), "gateway_url": s.gatewayURL, "resume_url": s.resumeURL})
	})
	mux.HandleFunc("POST /_fake/inject", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ChannelID string `json:"channel_id"`
			Content   string `json:"content"`
		}
		if !decode(w, r, &in) {
			return
		}
		m, err := s.InjectMessage(in.ChannelID, in.Content)
		respond(w, m, err)
	})
	mux.HandleFunc("POST /_fake/event", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Shard *int            `json:"shard"`
			Type  string          `json:"t"`
			D     json.RawMessage `json:"d"`
		}
		if !decode(w, r, &in) {
			return
		}
		shard := -1
		if in.Shard != nil {
			shard = *in.Shard
		}
		respond(w, map[string]bool{"ok": true}, s.InjectEvent(shard, in.Type, in.D))
	})
	s.routeStreams(mux)
	s.routeShardControls(mux)
	s.routeKnobs(mux)
}

func (s *Server) routeStreams(mux *http.ServeMux) {
	var streams = map[string]func(){}
	next := 0
	mux.HandleFunc("POST /_fake/stream/start", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			PerSecond float64 `json:"per_second"`
			ChannelID string  `json:"channel_id"`
		}
		if !decode(w, r, &in) {
			return
		}
		if _, ok := s.channelKnown(in.ChannelID); !ok || in.PerSecond <= 0 {
			respond(w, nil, fmt.Errorf("%w (or per_second <= 0): %q", ErrUnknownChannel, in.ChannelID))
			return
		}
		stop := s.StartStream(in.PerSecond, in.ChannelID)
		s.mu.Lock()
		id := strconv.Itoa(next)
		next++
		streams[id] = stop
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	})
	mux.HandleFunc("POST /_fake/stream/stop", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID string `json:"id"`
		}
		if !decode(w, r, &in) {
			return
		}
		s.mu.Lock()
		stop, ok := streams[in.ID]
		delete(streams, in.ID)
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown stream " + in.ID})
			return
		}
		stop()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

func (s *Server) channelKnown(id string) (channelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci, ok := s.channels[id]
	return ci, ok
}

func (s *Server) routeShardControls(mux *http.ServeMux) {
	type body struct {
		Code      int  `json:"code"`
		Resumable bool `json:"resumable"`
		On        bool `json:"on"`
	}
	actions := map[string]func(shard int, b body) error{
		"reconnect":      func(sh int, _ body) error { return s.Reconnect(sh) },
		"invalidsession": func(sh int, b body) error { return s.InvalidSession(sh, b.Resumable) },
		"close":          func(sh int, b body) error { return s.CloseShard(sh, b.Code) },
		"drop":           func(sh int, _ body) error { return s.DropShard(sh) },
		"zombie":         func(sh int, b body) error { return s.SetZombie(sh, b.On) },
		"heartbeat":      func(sh int, _ body) error { return s.RequestHeartbeat(sh) },
	}
	mux.HandleFunc("POST /_fake/shards/{shard}/{action}", func(w http.ResponseWriter, r *http.Request) {
		shard, err := strconv.Atoi(r.PathValue("shard"))
		act, ok := actions[r.PathValue("action")]
		if err != nil || !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown shard or action"})
			return
		}
		var b body
		if r.ContentLength != 0 && !decode(w, r, &b) {
			return
		}
		respond(w, map[string]bool{"ok": true}, act(shard, b))
	})
}

func (s *Server) routeKnobs(mux *http.ServeMux) {
	mux.HandleFunc("POST /_fake/sessions/{id}/close", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Code int `json:"code"`
		}
		if decode(w, r, &in) {
			respond(w, map[string]bool{"ok": true}, s.CloseSession(r.PathValue("id"), in.Code))
		}
	})
	mux.HandleFunc("POST /_fake/sessions/{id}/drop", func(w http.ResponseWriter, r *http.Request) {
		respond(w, map[string]bool{"ok": true}, s.DropSession(r.PathValue("id")))
	})
	mux.HandleFunc("POST /_fake/sessions/expire", func(w http.ResponseWriter, r *http.Request) {
		respond(w, map[string]bool{"ok": true}, s.ExpireSessions())
	})
	mux.HandleFunc("POST /_fake/identify/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetIdentifyBudget()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_fake/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			IntervalMS int64 `json:"interval_ms"`
		}
		if decode(w, r, &in) {
			respond(w, map[string]bool{"ok": true}, s.SetHeartbeatInterval(time.Duration(in.IntervalMS)*time.Millisecond))
		}
	})
	mux.HandleFunc("POST /_fake/rest", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Shared429    int   `json:"shared_429"`
			RetryAfterMS int64 `json:"retry_after_ms"`
			ServerErrors int   `json:"server_errors"`
			LatencyMS    int64 `json:"latency_ms"`
			Op7Hello     bool  `json:"op7_before_hello"`
		}
		if !decode(w, r, &in) {
			return
		}
		s.ForceShared429(in.Shared429, time.Duration(in.RetryAfterMS)*time.Millisecond)
		s.ForceServerError(in.ServerErrors)
		s.SetLatency(time.Duration(in.LatencyMS) * time.Millisecond)
		s.SetReconnectBeforeHello(in.Op7Hello)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON body: " + err.Error()})
		return false
	}
	return true
}

func respond(w http.ResponseWriter, ok any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, ok)
	case errors.Is(err, ErrUnknownChannel), errors.Is(err, ErrNoConnection):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	}
}
