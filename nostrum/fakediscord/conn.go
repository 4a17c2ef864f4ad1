package fakediscord

import (
	"bytes"
	"compress/zlib"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxPayload is Discord's limit on client payloads.
const maxPayload = 4096

// outFrame is one item of a connection's write queue.
type outFrame struct {
	data      []byte
	closeCode int // > 0: send this close frame, then drop the connection
	closeText string
}

// conn is one gateway connection. The queue has its own lock (taken after
// Server.mu, never before); the other fields are guarded by Server.mu.
type conn struct {
	srv         *Server
	ws          *websocket.Conn
	listenerURL string
	compress    bool

	qmu   sync.Mutex
	queue []outFrame
	wake  chan struct{}
	stop  chan struct{}
	once  sync.Once
	// readDone is closed when the read loop has ended.
	readDone chan struct{}

	// guarded by Server.mu
	sess      *session
	authed    bool
	closing   bool
	hbTimer   *time.Timer
	reconnT   *time.Timer
	op9T      *time.Timer
	zombie    bool
	sendTimes []time.Time
	hbTimeout time.Duration // no heartbeat for this long → close 4000
}

func (c *conn) enqueue(f outFrame) {
	c.qmu.Lock()
	c.queue = append(c.queue, f)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// drop closes the TCP connection without a close frame.
func (c *conn) drop() {
	c.once.Do(func() { close(c.stop) })
	c.ws.NetConn().Close()
}

func (c *conn) stopTimersLocked() {
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	if c.reconnT != nil {
		c.reconnT.Stop()
	}
	if c.op9T != nil {
		c.op9T.Stop()
	}
}

// lingerAfterClose half-closes the TCP connection after our close frame and
// gives the client a moment to read it and hang up, so the frame is not lost
// to a reset.
func (c *conn) lingerAfterClose() {
	if tc, ok := c.ws.NetConn().(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-c.stop:
	case <-t.C:
	}
}

func (c *conn) writeLoop() {
	defer c.drop()
	var zbuf bytes.Buffer
	var zw *zlib.Writer
	if c.compress {
		zw = zlib.NewWriter(&zbuf)
	}
	for {
		c.qmu.Lock()
		items := c.queue
		c.queue = nil
		c.qmu.Unlock()
		for _, f := range items {
			deadline := time.Now().Add(10 * time.Second)
			if f.closeCode > 0 {
				msg := websocket.FormatCloseMessage(f.closeCode, f.closeText)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, deadline)
				c.lingerAfterClose()
				return
			}
			_ = c.ws.SetWriteDeadline(deadline)
			var err error
			if zw != nil {
				zbuf.Reset()
				_, _ = zw.Write(f.data)
				_ = zw.Flush()
				err = c.ws.WriteMessage(websocket.BinaryMessage, zbuf.Bytes())
			} else {
				err = c.ws.WriteMessage(websocket.TextMessage, f.data)
			}
			if err != nil {
				return
			}
		}
		if len(items) == 0 {
			select {
			case <-c.wake:
			case <-c.stop:
				return
			}
		}
	}
}

// gatewayHandler upgrades and serves one gateway connection on the listener
// whose ws URL is listenerURL.
func (s *Server) gatewayHandler(listenerURL string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || !websocket.IsWebSocketUpgrade(r) {
			writeJSON(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: 0})
			return
		}
		ws, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(1 << 20)
		q := r.URL.Query()
		c := &conn{srv: s, ws: ws, listenerURL: listenerURL,
			compress: q.Get("compress") == "zlib-stream",
			wake:     make(chan struct{}, 1), stop: make(chan struct{}), readDone: make(chan struct{})}
		ws.SetCloseHandler(func(code int, _ string) error { s.clientClosed(c, code); return nil })
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			ws.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.stats.Connections++
		s.wg.Add(2) // writer and this read loop
		go func() { defer s.wg.Done(); c.writeLoop() }()
		if s.op7BeforeHello {
			s.sendOpLocked(c, 7, nil)
		}
		switch {
		case q.Get("v") != "10":
			s.closeConnLocked(c, 4012, "Invalid API version", true)
		case q.Get("encoding") != "json":
			s.closeConnLocked(c, 4002, "Error while decoding payload.", true)
		case q.Has("compress") && !c.compress:
			s.closeConnLocked(c, 4002, "Error while decoding payload.", true)
		default:
			s.helloLocked(c)
		}
		s.mu.Unlock()
		defer s.wg.Done()
		s.readLoop(c)
	}
}

func (s *Server) helloLocked(c *conn) {
	iv := s.hbInterval
	c.enqueue(outFrame{data: mustJSON(map[string]any{
		"op": 10, "d": map[string]any{"heartbeat_interval": iv.Milliseconds()}, "s": nil, "t": nil})})
	c.hbTimeout = iv * 3 / 2
	if s.cfg.HeartbeatTimeout > 0 {
		c.hbTimeout = s.cfg.HeartbeatTimeout
	}
	c.hbTimer = time.AfterFunc(c.hbTimeout, func() { s.heartbeatMissed(c) })
}

func (s *Server) heartbeatMissed(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeConnLocked(c, 4000, "Heartbeat timeout", false)
}

// readLoop reads client payloads until the connection ends.
func (s *Server) readLoop(c *conn) {
	defer close(c.readDone)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			s.connEnded(c, err)
			return
		}
		s.mu.Lock()
		if !c.closing {
			s.handlePayloadLocked(c, data)
		}
		s.mu.Unlock()
	}
}

// clientClosed handles a client's close frame: the session's fate is decided
// (1000/1001 end it, any other code keeps it for SessionTTL) before the close
// is echoed, so a client that has the echo can rely on the server's view.
func (s *Server) clientClosed(c *conn, code int) {
	s.mu.Lock()
	initiated := c.closing
	if !initiated {
		c.closing = true
		c.stopTimersLocked()
		s.stats.CloseCodesReceived[code]++
		s.releaseSessionLocked(c, code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway)
	}
	s.mu.Unlock()
	if initiated {
		return // this is the echo of our own close frame
	}
	msg := []byte{}
	if code != websocket.CloseNoStatusReceived {
		msg = websocket.FormatCloseMessage(code, "")
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// connEnded cleans up after the read side failed: a client close 1000/1001
// invalidates the session, any other end keeps it for SessionTTL.
func (s *Server) connEnded(c *conn, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.stopTimersLocked()
	if !c.closing {
		c.closing = true
		var ce *websocket.CloseError
		invalidate := false
		if errors.As(err, &ce) {
			s.stats.CloseCodesReceived[ce.Code]++
			invalidate = ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway
		}
		s.releaseSessionLocked(c, invalidate)
	}
	c.drop()
}

// closeConnLocked sends a close frame with code and ends the connection; the
// session is invalidated or kept (detached) for SessionTTL.
func (s *Server) closeConnLocked(c *conn, code int, text string, invalidate bool) {
	if c.closing {
		return
	}
	c.closing = true
	c.stopTimersLocked()
	s.stats.CloseCodesSent[code]++
	s.releaseSessionLocked(c, invalidate)
	c.enqueue(outFrame{closeCode: code, closeText: text})
	s.log.Debug("fake discord closes connection", "code", code, "reason", text)
}

// dropConnLocked ends the connection without a close frame; the session is kept.
func (s *Server) dropConnLocked(c *conn) {
	if c.closing {
		return
	}
	c.closing = true
	c.stopTimersLocked()
	s.releaseSessionLocked(c, false)
	c.drop()
}

func (s *Server) releaseSessionLocked(c *conn, invalidate bool) {
	sess := c.sess
	c.sess, c.authed = nil, false
	if sess == nil {
		return
	}
	if invalidate {
		sess.invalid = true
		delete(s.sessions, sess.id)
	}
	if sess.conn == c {
		sess.conn = nil
		sess.detachedAt = s.cfg.Now()
	}
}
