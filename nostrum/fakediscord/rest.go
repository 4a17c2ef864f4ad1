package fakediscord

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// apiError is Discord's JSON error body.
type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Errors  any    `json:"errors,omitempty"`
}

type restBucket struct {
	remaining int
	resetAt   time.Time
}

type nonceEntry struct {
	msg Message
	at  time.Time
}

// reply is a REST response computed under the lock and written after it.
type reply struct {
	status  int
	headers map[string]string
	body    any
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (rp reply) write(w http.ResponseWriter) {
	for k, v := range rp.headers {
		w.Header().Set(k, v)
	}
	if rp.body == nil {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rp.status)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return
	}
	writeJSON(w, rp.status, rp.body)
}

func (s *Server) routeREST(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v10/gateway", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"url": s.gatewayURL})
	})
	mux.HandleFunc("GET /api/v10/gateway/bot", s.authed(s.getGatewayBot))
	mux.HandleFunc("GET /api/v10/users/@me", s.authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.bot)
	}))
	mux.HandleFunc("POST /api/v10/channels/{id}/messages", s.authed(s.createMessage))
	mux.HandleFunc("GET /api/v10/channels/{id}/messages", s.authed(s.getMessages))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: 0})
	})
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// authed wraps a REST handler with the latency knob, the Authorization check
// and the global rate limit.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		lat := s.latency
		s.mu.Unlock()
		if lat > 0 {
			select {
			case <-time.After(lat):
			case <-r.Context().Done():
				return
			}
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bot ") || !s.validToken(auth) {
			writeJSON(w, http.StatusUnauthorized, apiError{Message: "401: Unauthorized", Code: 0})
			return
		}
		s.mu.Lock()
		rp, limited := s.globalLimitLocked()
		s.mu.Unlock()
		if limited {
			rp.write(w)
			return
		}
		next(w, r)
	}
}

func (s *Server) globalLimitLocked() (reply, bool) {
	now := s.cfg.Now()
	if now.Sub(s.globalStart) >= time.Second {
		s.globalStart, s.globalCount = now, 0
	}
	if s.globalCount < s.cfg.GlobalLimit {
		s.globalCount++
		return reply{}, false
	}
	after := s.globalStart.Add(time.Second).Sub(now)
	s.stats.RateLimited429++
	s.stats.RateLimitedByScope["global"]++
	return reply{status: http.StatusTooManyRequests,
		headers: map[string]string{"Retry-After": secs(after), "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
		body:    map[string]any{"message": "You are being rate limited.", "retry_after": after.Seconds(), "global": true},
	}, true
}

func (s *Server) getGatewayBot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	left := s.startLeftLocked()
	resetAfter := time.Duration(0)
	if !s.startReset.IsZero() {
		resetAfter = s.startReset.Sub(s.cfg.Now())
	}
	body := map[string]any{"url": s.gatewayURL, "shards": s.cfg.Shards, "session_start_limit": map[string]any{
		"total": s.cfg.SessionStartTotal, "remaining": left,
		"reset_after": resetAfter.Milliseconds(), "max_concurrency": s.cfg.MaxConcurrency,
	}}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// createMessageRequest is the JSON body of POST /channels/{id}/messages.
type createMessageRequest struct {
	Content      string            `json:"content"`
	Nonce        json.RawMessage   `json:"nonce"`
	EnforceNonce bool              `json:"enforce_nonce"`
	TTS          bool              `json:"tts"`
	Embeds       []json.RawMessage `json:"embeds"`
	StickerIDs   []string          `json:"sticker_ids"`
	Components   []json.RawMessage `json:"components"`
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Message: "could not read body", Code: 0})
		return
	}
	s.mu.Lock()
	rp := s.createMessageLocked(r.PathValue("id"), body)
	s.mu.Unlock()
	rp.write(w)
}

func (s *Server) createMessageLocked(channelID string, body []byte) reply {
	if s.force5xx > 0 {
		s.force5xx--
		s.stats.ServerErrors++
		return reply{status: http.StatusBadGateway}
	}
	if s.forceShared > 0 {
		s.forceShared--
		s.stats.RateLimited429++
		s.stats.RateLimitedByScope["shared"]++
		ra := s.forceShRA
		return reply{status: http.StatusTooManyRequests,
			headers: map[string]string{"Retry-After": secs(ra), "X-RateLimit-Scope": "shared"},
			body:    map[string]any{"message": "You are being rate limited.", "retry_after": ra.Seconds(), "global": false},
		}
	}
	ci, ok := s.channels[channelID]
	if !ok {
		return reply{status: http.StatusNotFound, body: apiError{Message: "Unknown Channel", Code: 10003}}
	}
	rp, limited := s.bucketLocked(channelID)
	if limited {
		return rp
	}
	rp.status, rp.body = s.newRESTMessageLocked(ci, body)
	return rp
}

// bucketLocked applies the create-message bucket of a channel and returns
// the rate-limit headers (and a 429 when it is exhausted).
func (s *Server) bucketLocked(channelID string) (reply, bool) {
	now := s.cfg.Now()
	b := s.buckets[channelID]
	if b == nil || !now.Before(b.resetAt) {
		b = &restBucket{remaining: s.cfg.RESTBucketLimit, resetAt: now.Add(s.cfg.RESTBucketWindow)}
		s.buckets[channelID] = b
	}
	after := b.resetAt.Sub(now)
	limited := b.remaining == 0
	if !limited {
		b.remaining--
	}
	h := map[string]string{
		"X-RateLimit-Limit":       strconv.Itoa(s.cfg.RESTBucketLimit),
		"X-RateLimit-Remaining":   strconv.Itoa(b.remaining),
		"X-RateLimit-Reset":       strconv.FormatFloat(float64(b.resetAt.UnixMilli())/1000, 'f', 3, 64),
		"X-RateLimit-Reset-After": secs(after),
		"X-RateLimit-Bucket":      defaultRESTBucketName,
	}
	if !limited {
		return reply{headers: h}, false
	}
	s.stats.RateLimited429++
	s.stats.RateLimitedByScope["user"]++
	h["Retry-After"] = secs(after)
	h["X-RateLimit-Scope"] = "user"
	return reply{status: http.StatusTooManyRequests, headers: h,
		body: map[string]any{"message": "You are being rate limited.", "retry_after": after.Seconds(), "global": false},
	}, true
}

func formError(field, code, msg string) apiError {
	return apiError{Message: "Invalid Form Body", Code: 50035, Errors: map[string]any{
		field: map[string]any{"_errors": []map[string]string{{"code": code, "message": msg}}}}}
}

// nonceKey returns the nonce as a string (int or string ≤ 25 chars) or ok=false.
func nonceKey(raw json.RawMessage) (string, bool) {
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, utf8.RuneCountInString(str) <= 25
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if _, err := n.Int64(); err == nil {
			return n.String(), true
		}
	}
	return "", false
}

func (s *Server) newRESTMessageLocked(ci channelInfo, body []byte) (int, any) {
	var req createMessageRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, apiError{Message: "The request body contains invalid JSON.", Code: 50109}
	}
	if utf8.RuneCountInString(req.Content) > 2000 {
		return http.StatusBadRequest, formError("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
	}
	if len(req.Embeds) > 10 {
		return http.StatusBadRequest, formError("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
	}
	if req.Content == "" && len(req.Embeds) == 0 && len(req.StickerIDs) == 0 && len(req.Components) == 0 {
		return http.StatusBadRequest, apiError{Message: "Cannot send an empty message", Code: 50006}
	}
	now := s.cfg.Now()
	var key string
	if len(req.Nonce) > 0 && string(req.Nonce) != "null" {
		k, ok := nonceKey(req.Nonce)
		if !ok {
			return http.StatusBadRequest, formError("nonce", "BASE_TYPE_BAD_LENGTH", "Must be an integer or a string of 25 or fewer characters.")
		}
		key = k
		if e, hit := s.nonces[key]; hit && req.EnforceNonce && now.Sub(e.at) <= s.cfg.NonceWindow {
			s.stats.NonceHits++
			return http.StatusOK, restView(e.msg)
		}
	}
	m := s.newMessageLocked(ci, s.bot, req.Content)
	m.TTS = req.TTS
	if req.Embeds != nil {
		m.Embeds = req.Embeds
	}
	if key != "" {
		m.Nonce = append(json.RawMessage(nil), req.Nonce...)
		s.pruneNoncesLocked(now)
		s.nonces[key] = nonceEntry{msg: m, at: now}
	}
	s.messages = append(s.messages, m)
	s.rememberLocked(m)
	s.stats.MessagesCreated++
	s.dispatchMessageLocked(ci, m, true)
	return http.StatusOK, restView(m)
}

// pruneNoncesLocked forgets nonces older than NonceWindow once the table
// has grown, so a long run does not keep every nonce.
func (s *Server) pruneNoncesLocked(now time.Time) {
	if len(s.nonces) < 4096 || len(s.nonces)%1024 != 0 {
		return
	}
	for k, e := range s.nonces {
		if now.Sub(e.at) > s.cfg.NonceWindow {
			delete(s.nonces, k)
		}
	}
}

// channelHistory is how many messages per channel GET /messages can return.
const channelHistory = 1000

// rememberLocked keeps m in its channel's history (newest last).
func (s *Server) rememberLocked(m Message) {
	h := append(s.history[m.ChannelID], m)
	if len(h) >= 2*channelHistory {
		h = append([]Message(nil), h[len(h)-channelHistory:]...)
	}
	s.history[m.ChannelID] = h
}

// getMessages serves GET /channels/{id}/messages?after=&before=&limit=
// (default 50, at most 100), newest first, like Discord; with after it
// returns the messages right after that id.
func (s *Server) getMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, http.StatusBadRequest, formError("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100."))
			return
		}
		limit = n
	}
	after, errA := optSnowflake(q.Get("after"))
	before, errB := optSnowflake(q.Get("before"))
	if errA != nil || errB != nil {
		writeJSON(w, http.StatusBadRequest, formError("after", "NUMBER_TYPE_COERCE", "Value is not snowflake."))
		return
	}
	s.mu.Lock()
	_, known := s.channels[r.PathValue("id")]
	var picked []Message
	for _, m := range s.history[r.PathValue("id")] {
		id, _ := parseSnowflake(m.ID)
		if id > after && (before == 0 || id < before) {
			picked = append(picked, restView(m))
		}
	}
	s.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusNotFound, apiError{Message: "Unknown Channel", Code: 10003})
		return
	}
	if len(picked) > limit {
		if q.Has("after") && !q.Has("before") {
			picked = picked[:limit] // the ones right after
		} else {
			picked = picked[len(picked)-limit:] // the newest
		}
	}
	out := make([]Message, len(picked))
	for i, m := range picked {
		out[len(picked)-1-i] = m
	}
	writeJSON(w, http.StatusOK, out)
}

func optSnowflake(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	return parseSnowflake(v)
}

// restView is the message as REST returns it (no guild_id).
func restView(m Message) Message {
	m.GuildID = ""
	return m
}
