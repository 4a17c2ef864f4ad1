package fakediscord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Server is a running fake Discord. All state is guarded by one mutex: the
// fake favours simple, obviously ordered behaviour over throughput.
type Server struct {
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader

	mainLn, resumeLn   net.Listener
	mainSrv, resumeSrv *http.Server
	baseURL            string // http://host:port
	gatewayURL         string // ws://host:port of the main listener
	resumeURL          string // ws://host:port of the resume listener

	wg sync.WaitGroup // serve loops, connections, streams

	mu             sync.Mutex
	closed         bool
	ids            snowflaker
	bot            User
	author         User // synthetic author of injected messages
	guilds         []Guild
	channels       map[string]channelInfo
	conns          map[*conn]struct{}
	sessions       map[string]*session
	hbInterval     time.Duration
	lastIdent      map[int]time.Time // identify bucket → last IDENTIFY
	startLeft      int
	startReset     time.Time
	stats          Stats
	messages       []Message
	history        map[string][]Message // channel → its messages, oldest first
	dispatched     []Dispatch
	nonces         map[string]nonceEntry
	buckets        map[string]*restBucket
	globalStart    time.Time
	globalCount    int
	forceShared    int
	forceShRA      time.Duration
	force5xx       int
	latency        time.Duration
	op7BeforeHello bool
	streams        map[int]chan struct{}
	nextStream     int
}

type channelInfo struct {
	ch      Channel
	guildID string // "" for DM channels
	guild   uint64
}

// Start listens on cfg.Addr (REST, control API, gateway) and on a second
// address for resume_gateway_url, and serves until Close.
func Start(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "fakediscord"),
		upgrader:   websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		channels:   map[string]channelInfo{},
		conns:      map[*conn]struct{}{},
		sessions:   map[string]*session{},
		hbInterval: cfg.HeartbeatInterval,
		lastIdent:  map[int]time.Time{},
		startLeft:  cfg.SessionStartTotal,
		nonces:     map[string]nonceEntry{},
		history:    map[string][]Message{},
		buckets:    map[string]*restBucket{},
		streams:    map[int]chan struct{}{},
	}
	s.stats.ResumesByURL = map[string]int{}
	s.stats.RateLimitedByScope = map[string]int{}
	s.stats.CloseCodesSent = map[int]int{}
	s.stats.CloseCodesReceived = map[int]int{}
	s.mintWorld()
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.log.Debug("fake discord started", "url", s.baseURL, "resume_url", s.resumeURL)
	return s, nil
}

func (s *Server) mintWorld() {
	now := s.cfg.Now()
	mint := func(id *string) {
		if *id == "" {
			*id = formatID(s.ids.next(now))
		}
	}
	botID := formatID(s.ids.next(now))
	s.bot = User{ID: botID, Username: s.cfg.BotUsername, Discriminator: "0", Bot: true}
	name := "Fake User"
	s.author = User{ID: formatID(s.ids.next(now)), Username: "fakeuser", Discriminator: "0", GlobalName: &name}
	for _, g := range s.cfg.Guilds {
		g.Channels = append([]Channel(nil), g.Channels...)
		mint(&g.ID)
		gid, _ := parseSnowflake(g.ID)
		for i := range g.Channels {
			mint(&g.Channels[i].ID)
			g.Channels[i].Type = ChannelGuildText
			s.channels[g.Channels[i].ID] = channelInfo{ch: g.Channels[i], guildID: g.ID, guild: gid}
		}
		s.guilds = append(s.guilds, g)
	}
	for _, ch := range s.cfg.DMChannels {
		mint(&ch.ID)
		ch.Type = ChannelDM
		s.channels[ch.ID] = channelInfo{ch: ch}
	}
}

func (s *Server) listen() error {
	var err error
	if s.mainLn, err = net.Listen("tcp", s.cfg.Addr); err != nil {
		return fmt.Errorf("fakediscord: listen %s: %w", s.cfg.Addr, err)
	}
	if s.resumeLn, err = net.Listen("tcp", s.cfg.ResumeAddr); err != nil {
		s.mainLn.Close()
		return fmt.Errorf("fakediscord: listen resume %s: %w", s.cfg.ResumeAddr, err)
	}
	s.baseURL = "http://" + s.mainLn.Addr().String()
	s.gatewayURL = "ws://" + s.mainLn.Addr().String()
	s.resumeURL = "ws://" + s.resumeLn.Addr().String()

	mux := http.NewServeMux()
	s.routeREST(mux)
	s.routeControl(mux)
	mux.HandleFunc("/", s.gatewayHandler(s.gatewayURL))
	rmux := http.NewServeMux()
	rmux.HandleFunc("/", s.gatewayHandler(s.resumeURL))
	s.mainSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.resumeSrv = &http.Server{Handler: rmux, ReadHeaderTimeout: 10 * time.Second}
	for _, p := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{s.mainSrv, s.mainLn}, {s.resumeSrv, s.resumeLn}} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Warn("fake discord listener stopped", "err", err)
			}
		}()
	}
	return nil
}

// URL is the base URL, "http://127.0.0.1:PORT": REST under /api/v10, the
// control API under /_fake/, the gateway at the root (also given by
// /api/v10/gateway/bot).
func (s *Server) URL() string { return s.baseURL }

// GatewayURL is the gateway URL /gateway/bot returns ("ws://127.0.0.1:PORT").
func (s *Server) GatewayURL() string { return s.gatewayURL }

// ResumeURL is the resume_gateway_url sent in READY (the second listener).
func (s *Server) ResumeURL() string { return s.resumeURL }

// BotUser is the bot's user object (/users/@me).
func (s *Server) BotUser() User { return s.bot }

// Guilds returns the guilds with their minted ids.
func (s *Server) Guilds() []Guild {
	out := make([]Guild, len(s.guilds))
	for i, g := range s.guilds {
		g.Channels = append([]Channel(nil), g.Channels...)
		out[i] = g
	}
	return out
}

// DMChannels returns the DM channels with their minted ids.
func (s *Server) DMChannels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, ci := range s.channels {
		if ci.guildID == "" {
			out = append(out, ci.ch)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Close stops the listeners, drops every gateway connection (no close
// frame), stops the streams and waits for every goroutine of the server.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.closing = true
		c.stopTimersLocked()
		c.drop()
	}
	for id, stop := range s.streams {
		close(stop)
		delete(s.streams, id)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(s.mainSrv.Shutdown(ctx), s.resumeSrv.Shutdown(ctx))
	s.wg.Wait()
	return err
}

// Stats returns a snapshot of the counters and sessions.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ResumesByURL = copyMap(s.stats.ResumesByURL)
	st.RateLimitedByScope = copyMap(s.stats.RateLimitedByScope)
	st.CloseCodesSent = copyMap(s.stats.CloseCodesSent)
	st.CloseCodesReceived = copyMap(s.stats.CloseCodesReceived)
	st.LiveConnections = len(s.conns)
	st.SessionStartLeft = s.startLeftLocked()
	st.LastSeq = map[string]int64{}
	now := s.cfg.Now()
	for _, ss := range s.sessions {
		st.LastSeq[ss.id] = ss.seq
		info := SessionStats{ID: ss.id, Shard: ss.shardID, NumShards: ss.numShards, Seq: ss.seq,
			Attached: ss.conn != nil, Resumable: !s.expiredLocked(ss, now) && !ss.noResume}
		if len(ss.ring) > 0 {
			info.Oldest = ss.ring[0].seq
		}
		st.Sessions = append(st.Sessions, info)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].ID < st.Sessions[j].ID })
	return st
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Messages returns the messages created through REST, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Dispatched returns every dispatch sent or buffered, in order.
func (s *Server) Dispatched() []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Dispatch(nil), s.dispatched...)
}
