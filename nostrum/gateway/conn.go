package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/gotp/gotp/nostrum/discord"
)

// errConnGone is returned by a write on a connection that has ended.
var errConnGone = errors.New("gateway: connection gone")

// closeZombie is the code we close with when we abandon a connection but keep the session
// (anything but 1000/1001, which would end the session).
const closeZombie = 4000

// killKind says how a connection is being torn down from outside the reader.
type killKind int

const (
	killNone   killKind = iota
	killStop            // owner stops: close 1000, the session ends
	killDetach          // drop TCP, no close frame: the session stays resumable
	killZombie          // no ACK: close 4000, reconnect, RESUME
)

type outMsg struct {
	b    []byte
	done chan error
}

// wsConn is one websocket connection: the reader is the session's Run goroutine, the
// writer is writeLoop, the only goroutine calling WriteMessage.
type wsConn struct {
	ws     *websocket.Conn
	lim    *sendLimiter
	prio   chan outMsg
	normal chan outMsg
	gone   chan struct{}
	wdone  chan struct{} // closed when writeLoop has exited (e.g. after a write error)
	acked  atomic.Bool
	// busy is set while the reader waits in Dispatch, stalled when such a wait was long:
	// an ACK may then sit unread in the socket, so no zombie verdict is possible.
	busy    atomic.Bool
	stalled atomic.Bool
	buf     bytes.Buffer
	zr      *inflater

	killed atomic.Int32 // a killKind; the first kill wins
	ctx    context.Context
	cancel context.CancelFunc // cancelled by kill: unblocks Dispatch
}

func (c *wsConn) write(ctx context.Context, b []byte, prio bool) error {
	m := outMsg{b: b, done: make(chan error, 1)}
	ch := c.normal
	if prio {
		ch = c.prio
	}
	select {
	case ch <- m:
	case <-c.gone:
		return errConnGone
	case <-c.wdone:
		return errConnGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-m.done:
		return err
	case <-c.gone:
		return errConnGone
	case <-c.wdone:
		return errConnGone
	case <-ctx.Done():
		return ctx.Err() // it may still be written
	}
}

// kill tears the connection down from outside the reader; the first kind wins.
func (c *wsConn) kill(k killKind) {
	if !c.killed.CompareAndSwap(int32(killNone), int32(k)) {
		return
	}
	c.cancel()
	func() {
		deadline := time.Now().Add(time.Second)
		switch k {
		case killStop:
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
			// Give the gateway a moment to echo the close, then drop.
			time.AfterFunc(time.Second, func() { _ = c.ws.Close() })
		case killZombie:
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(closeZombie, "zombied"), deadline)
			_ = c.ws.Close()
		default:
			_ = c.ws.Close()
		}
	}()
}

func (c *wsConn) killedAs() killKind { return killKind(c.killed.Load()) }

func (c *wsConn) writeLoop() {
	defer close(c.wdone)
	for {
		var m outMsg
		prio := false
		select {
		case m = <-c.prio:
			prio = true
		default:
			select {
			case m = <-c.prio:
				prio = true
			case m = <-c.normal:
			case <-c.gone:
				return
			}
		}
		if !c.send(m, prio) {
			return
		}
	}
}

// send waits for the limiter (letting priority messages overtake) and writes m.
func (c *wsConn) send(m outMsg, prio bool) bool {
	for {
		wait := c.lim.reserve(time.Now(), prio)
		if wait == 0 {
			break
		}
		t := time.NewTimer(wait)
		var overtake chan outMsg
		if !prio {
			overtake = c.prio
		}
		select {
		case <-t.C:
		case pm := <-overtake:
			t.Stop()
			if !c.send(pm, true) {
				m.done <- errConnGone
				return false
			}
		case <-c.gone:
			t.Stop()
			m.done <- errConnGone
			return false
		}
	}
	err := c.ws.WriteMessage(websocket.TextMessage, m.b)
	m.done <- err
	if err != nil {
		_ = c.ws.Close() // a connection we cannot write to is dead: wake the reader
	}
	return err == nil
}

// next reads the next gateway payload.
func (c *wsConn) next(decode func(string) (discord.Payload, error)) (discord.Payload, error) {
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return discord.Payload{}, err
		}
		c.buf.Reset()
		if _, err := c.buf.ReadFrom(r); err != nil {
			return discord.Payload{}, err
		}
		var frame string
		if typ == websocket.BinaryMessage {
			if c.zr == nil {
				return discord.Payload{}, fmt.Errorf("gateway: binary frame without compression")
			}
			msg, complete, err := c.zr.feed(c.buf.Bytes())
			if err != nil {
				return discord.Payload{}, err
			}
			if !complete {
				continue
			}
			frame = string(msg)
		} else {
			frame = string(c.buf.Bytes())
		}
		return decode(frame)
	}
}

func gatewayURL(base string, compress bool) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("gateway: url %q: %w", base, err)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	q := u.Query()
	q.Set("v", "10")
	q.Set("encoding", "json")
	if compress {
		q.Set("compress", "zlib-stream")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// connect dials target and serves the connection until it ends.
func (s *Session) connect(ctx context.Context, target string, resume bool) (outcome, error) {
	u, err := gatewayURL(target, s.cfg.Compress)
	if err != nil {
		return outcome{}, err
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	ws, resp, err := s.cfg.Dialer.DialContext(dctx, u, nil)
	cancel()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return outcome{}, fmt.Errorf("gateway: dial %s: %w", target, err)
	}
	ws.SetReadLimit(s.cfg.ReadLimit)
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	c := &wsConn{
		ctx:    cctx,
		cancel: ccancel,
		ws:     ws,
		prio:   make(chan outMsg, 4),
		normal: make(chan outMsg),
		gone:   make(chan struct{}),
		wdone:  make(chan struct{}),
	}
	if s.cfg.Compress {
		c.zr = newInflater()
	}
	s.cfg.OnEvent(Connected{Shard: s.cfg.Shard, URL: target, Resume: resume})
	var wg sync.WaitGroup
	defer func() {
		s.clearReady(c)
		close(c.gone)
		_ = ws.Close()
		if c.zr != nil {
			c.zr.close()
		}
		wg.Wait()
	}()
	wg.Add(1)
	go func() { // turns a stop or a detach into a teardown of this connection
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.kill(killStop)
		case <-s.detach:
			c.kill(killDetach)
		case <-c.gone:
		}
	}()
	return s.serve(ctx, c, resume, &wg), nil
}

// serve runs Hello, IDENTIFY or RESUME, and the read loop of one connection.
func (s *Session) serve(ctx context.Context, c *wsConn, resume bool, wg *sync.WaitGroup) outcome {
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	p, err := c.next(s.cfg.Decode)
	if err != nil {
		return s.readFailure(c, err, false)
	}
	if p.Op == discord.OpReconnect {
		return outcome{reason: "op 7 before hello", action: ActionResume}
	}
	var hello struct {
		Interval float64 `json:"heartbeat_interval"`
	}
	if p.Op != discord.OpHello || discord.DecodeJSON(p.D, &hello) != nil || hello.Interval <= 0 {
		return outcome{reason: fmt.Sprintf("expected hello, got op %d", p.Op), action: ActionResume}
	}
	_ = c.ws.SetReadDeadline(time.Time{})
	interval := time.Duration(hello.Interval * float64(time.Millisecond))
	first := time.Duration(s.cfg.Rand() * float64(interval))
	s.cfg.OnEvent(Hello{Shard: s.cfg.Shard, Interval: interval, FirstBeat: first})

	// Reserve enough slots for every heartbeat of a window, plus IDENTIFY/RESUME, but at
	// most half the limit, so ordinary sends always get through (a heartbeat interval far
	// below the send window is a misconfiguration the gateway would punish anyway).
	beats := int(math.Ceil(float64(s.cfg.SendWindow)/float64(interval))) + 2
	reserved := max(s.cfg.SendReserved, min(beats, s.cfg.SendLimit/2))
	c.lim = newSendLimiter(s.cfg.SendLimit, reserved, s.cfg.SendWindow+s.cfg.SendMargin)
	c.acked.Store(true)
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); s.heartbeat(c, interval, first) }()

	if err := s.sendHandshake(c, resume); err != nil {
		return outcome{reason: "handshake: " + err.Error(), action: ActionResume}
	}
	healthy := false
	for {
		p, err := c.next(s.cfg.Decode)
		if err != nil {
			return s.readFailure(c, err, healthy)
		}
		switch p.Op {
		case discord.OpDispatch:
			if out, stop := s.onDispatch(c, p, &healthy); stop {
				return out
			}
		case discord.OpHeartbeat:
			_ = c.write(context.Background(), s.heartbeatFrame(), true)
		case discord.OpHeartbeatACK:
			c.acked.Store(true)
		case discord.OpReconnect:
			c.kill(killZombie)
			return outcome{reason: "op 7 reconnect", action: ActionResume, healthy: healthy}
		case discord.OpInvalidSession:
			if p.D == "true" && s.State().SessionID != "" {
				s.log.Info("invalid session (resumable): resuming on the same socket")
				if err := s.sendHandshake(c, true); err != nil {
					return outcome{reason: "resume after op 9: " + err.Error(), healthy: healthy}
				}
				continue
			}
			s.loseSession("op 9 invalid session")
			c.kill(killZombie)
			return outcome{reason: "op 9 invalid session", action: ActionReidentify, wait: true, healthy: healthy}
		}
	}
}

// onDispatch handles one op 0; it reports whether the connection must end.
func (s *Session) onDispatch(c *wsConn, p discord.Payload, healthy *bool) (outcome, bool) {
	switch p.Type {
	case "READY":
		var r struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
		}
		if err := discord.DecodeJSON(p.D, &r); err != nil || r.SessionID == "" {
			s.log.Error("gateway: READY without a session id", "err", err)
			c.kill(killZombie)
			return outcome{reason: "bad READY", action: ActionReidentify}, true
		}
		s.mu.Lock()
		s.sessionID, s.resumeURL = r.SessionID, r.ResumeURL
		s.mu.Unlock()
		*healthy = true
		s.setReady(c)
		s.cfg.OnEvent(Ready{Shard: s.cfg.Shard, SessionID: r.SessionID, ResumeURL: r.ResumeURL})
	case "RESUMED":
		*healthy = true
		s.setReady(c)
		s.cfg.OnEvent(Resumed{Shard: s.cfg.Shard, From: s.seq.Load()})
	}
	if p.Seq != 0 && p.Seq <= s.seq.Load() && p.Type != "READY" {
		return outcome{}, false // a replayed event we already handed over
	}
	c.busy.Store(true)
	began := time.Now()
	err := s.cfg.Dispatch(c.ctx, Dispatch{Shard: s.cfg.Shard, Seq: p.Seq, Type: p.Type, Data: p.D})
	if time.Since(began) > 5*time.Millisecond {
		c.stalled.Store(true)
	}
	c.busy.Store(false)
	if err != nil {
		if k := c.killedAs(); k != killNone {
			return s.killedOutcome(k, *healthy), true
		}
		s.log.Error("gateway: dispatch refused the event; reconnecting", "seq", p.Seq, "err", err)
		c.kill(killZombie)
		return outcome{reason: "dispatch: " + err.Error(), action: ActionResume, healthy: *healthy}, true
	}
	if p.Seq != 0 {
		s.seq.Store(p.Seq)
	}
	return outcome{}, false
}

func (s *Session) killedOutcome(k killKind, healthy bool) outcome {
	switch k {
	case killStop:
		s.mu.Lock()
		s.sessionID, s.resumeURL = "", ""
		s.mu.Unlock()
		return outcome{reason: "stopped", stop: true, code: websocket.CloseNormalClosure}
	case killDetach:
		return outcome{reason: "detached", detach: true}
	}
	return outcome{reason: "zombie: heartbeat not acknowledged", action: ActionResume, healthy: healthy}
}

// readFailure turns a read error into an outcome.
func (s *Session) readFailure(c *wsConn, err error, healthy bool) outcome {
	if k := c.killedAs(); k != killNone {
		return s.killedOutcome(k, healthy)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return outcome{reason: "closed by gateway", code: ce.Code, action: ClassifyClose(ce.Code), healthy: healthy}
	}
	if errors.Is(err, discord.ErrSyntax) {
		s.log.Warn("gateway: undecodable payload; reconnecting", "err", err)
	}
	return outcome{reason: "read: " + err.Error(), action: ActionResume, healthy: healthy}
}

func (s *Session) heartbeatFrame() []byte {
	seq := s.seq.Load()
	if seq == 0 {
		return []byte(`{"op":1,"d":null}`)
	}
	return fmt.Appendf(nil, `{"op":1,"d":%d}`, seq)
}

// heartbeat beats after first, then every interval; a beat without an ACK since the
// previous one means the connection is a zombie.
func (s *Session) heartbeat(c *wsConn, interval, first time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-c.gone:
			return
		case <-t.C:
		}
		acked := c.acked.Swap(false)
		stalled := c.stalled.Swap(false) || c.busy.Load()
		if !acked && !stalled {
			s.log.Warn("gateway: heartbeat not acknowledged; zombie connection", "interval", interval)
			c.kill(killZombie)
			return
		}
		_ = c.write(context.Background(), s.heartbeatFrame(), true)
		t.Reset(interval)
	}
}

// sendHandshake sends IDENTIFY or RESUME. The token is read here and nowhere else.
func (s *Session) sendHandshake(c *wsConn, resume bool) error {
	var d any
	op := discord.OpIdentify
	if resume {
		st := s.State()
		op = discord.OpResume
		d = struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}{s.cfg.Token(), st.SessionID, st.Seq}
	} else {
		d = struct {
			Token          string     `json:"token"`
			Intents        uint64     `json:"intents"`
			Properties     Properties `json:"properties"`
			LargeThreshold int        `json:"large_threshold"`
			Shard          [2]int     `json:"shard"`
			Presence       any        `json:"presence,omitempty"`
		}{s.cfg.Token(), s.cfg.Intents, s.cfg.Properties, s.cfg.LargeThreshold,
			[2]int{s.cfg.Shard, s.cfg.ShardCount}, s.cfg.Presence}
	}
	b, err := json.Marshal(struct {
		Op int `json:"op"`
		D  any `json:"d"`
	}{op, d})
	if err != nil {
		return fmt.Errorf("encoding op %d failed", op) // never wrap: the value holds the token
	}
	if len(b) > MaxPayload {
		return fmt.Errorf("%w: op %d", ErrPayloadTooLarge, op)
	}
	err = c.write(context.Background(), b, true)
	if !resume {
		s.releaseGate()
	}
	return err
}

// inflater decodes a zlib-stream: one zlib context for the whole connection, a message
// ends with a sync flush (00 00 ff ff).
type inflater struct {
	done chan struct{}
	pw   *io.PipeWriter
	out  chan json.RawMessage
	errc chan error
}

func newInflater() *inflater {
	pr, pw := io.Pipe()
	f := &inflater{done: make(chan struct{}), pw: pw, out: make(chan json.RawMessage), errc: make(chan error, 1)}
	go f.run(pr)
	return f
}

func (f *inflater) run(pr *io.PipeReader) {
	zr, err := zlibReader(pr)
	if err != nil {
		f.errc <- err
		_ = pr.CloseWithError(err)
		return
	}
	dec := json.NewDecoder(zr)
	for {
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			f.errc <- fmt.Errorf("gateway: zlib-stream: %w", err)
			_ = pr.CloseWithError(err)
			return
		}
		select {
		case f.out <- m:
		case <-f.done:
			return
		}
	}
}

var zlibSuffix = []byte{0, 0, 0xff, 0xff}

func (f *inflater) feed(b []byte) ([]byte, bool, error) {
	if _, err := f.pw.Write(b); err != nil {
		return nil, false, fmt.Errorf("gateway: zlib-stream: %w", err)
	}
	if !bytes.HasSuffix(b, zlibSuffix) {
		return nil, false, nil
	}
	select {
	case m := <-f.out:
		return m, true, nil
	case err := <-f.errc:
		return nil, false, err
	}
}

func (f *inflater) close() {
	close(f.done)
	_ = f.pw.CloseWithError(io.ErrClosedPipe)
}
