package fakediscord

import (
	"strings"
	"testing"
	"time"
)

func TestCloseCodes(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	cases := []struct {
		name string
		code int
		mod  func(*Config)
		act  func(t *testing.T, s *Server) *client
	}{
		{"api version", 4012, nil, func(t *testing.T, s *Server) *client {
			return dialRaw(t, s.GatewayURL()+"/?v=9&encoding=json")
		}},
		{"encoding", 4002, nil, func(t *testing.T, s *Server) *client {
			return dialRaw(t, s.GatewayURL()+"/?v=10&encoding=etf")
		}},
		{"not authenticated", 4003, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.send(map[string]any{"op": 3, "d": map[string]any{"status": "online"}})
			return c
		}},
		{"unknown opcode", 4001, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.send(map[string]any{"op": 99, "d": nil})
			return c
		}},
		{"bad json", 4002, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.sendRaw([]byte(`{"op":1,`))
			return c
		}},
		{"too large", 4002, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.sendRaw([]byte(`{"op":1,"d":null,"x":"` + strings.Repeat("a", 4100) + `"}`))
			return c
		}},
		{"bad token", 4004, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.send(identifyPayload("wrong", allIntents, 0, 1))
			return c
		}},
		{"unknown intents", 4013, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.send(identifyPayload(testToken, 1<<18, 0, 1))
			return c
		}},
		{"disallowed intents", 4014, func(c *Config) { c.AllowedIntents = IntentGuilds | IntentGuildMessages },
			func(t *testing.T, s *Server) *client {
				c, _ := dial(t, s.GatewayURL())
				c.send(identifyPayload(testToken, IntentGuildMessages|IntentMessageContent, 0, 1))
				return c
			}},
		{"invalid shard", 4010, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.send(identifyPayload(testToken, allIntents, 2, 2))
			return c
		}},
		{"sharding required", 4011, func(c *Config) { c.Guilds = MakeGuilds(1, 2); c.MaxGuildsPerShard = 1 },
			func(t *testing.T, s *Server) *client {
				c, _ := dial(t, s.GatewayURL())
				c.send(identifyPayload(testToken, allIntents, 0, 1))
				return c
			}},
		{"already authenticated", 4005, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			c.identify(s, 0, 1)
			c.send(identifyPayload(testToken, allIntents, 0, 1))
			return c
		}},
		{"session start limit exhausted", 4004, func(c *Config) { c.SessionStartTotal = 1 },
			func(t *testing.T, s *Server) *client {
				c, _ := dial(t, s.GatewayURL())
				c.identify(s, 0, 1)
				c2, _ := dial(t, s.GatewayURL())
				c2.send(identifyPayload(testToken, allIntents, 0, 1))
				return c2
			}},
		{"invalid seq", 4007, nil, func(t *testing.T, s *Server) *client {
			c, _ := dial(t, s.GatewayURL())
			r := c.identify(s, 0, 1)
			c2, _ := dial(t, r.ResumeGatewayURL)
			c2.send(resumePayload(r.SessionID, 99))
			return c2
		}},
		{"send limit", 4008, func(c *Config) { c.SendLimit = 5; c.Now = clock.Now },
			func(t *testing.T, s *Server) *client {
				c, _ := dial(t, s.GatewayURL())
				for i := 0; i < 6; i++ {
					c.send(map[string]any{"op": 1, "d": nil})
				}
				return c
			}},
		{"heartbeat timeout", 4000, func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond },
			func(t *testing.T, s *Server) *client {
				c, _ := dial(t, s.GatewayURL())
				return c // sends nothing
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startFake(t, tc.mod)
			c := tc.act(t, s)
			c.expectClose(tc.code)
			eventually(t, "close counted", func() bool { return s.Stats().CloseCodesSent[tc.code] == 1 })
		})
	}
}

func TestSendLimitSlidingWindow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := startFake(t, func(c *Config) { c.SendLimit = 3; c.SendWindow = time.Minute; c.Now = clock.Now })
	c, _ := dial(t, s.GatewayURL())
	for round := 0; round < 3; round++ { // 3 per minute, forever, is fine
		for i := 0; i < 3; i++ {
			c.send(map[string]any{"op": 1, "d": nil})
			if p := c.read(); p.Op != 11 {
				t.Fatalf("round %d beat %d: op %d, want ACK", round, i, p.Op)
			}
		}
		clock.Advance(time.Minute)
	}
	clock.Advance(-30 * time.Second) // now 30 s after the last 3 beats: one more is a 4th in the window
	c.send(map[string]any{"op": 1, "d": nil})
	c.expectClose(4008)
}

func TestHeartbeatTimeoutConfigurable(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) {
		c.HeartbeatInterval = 10 * time.Millisecond
		c.HeartbeatTimeout = time.Hour
	})
	c, _ := dial(t, s.GatewayURL())
	c.identify(s, 0, 1)
	// A control server with the default timeout: its close proves that more
	// than 1.5 intervals have passed since c's Hello.
	ref := startFake(t, func(c *Config) { c.HeartbeatInterval = 10 * time.Millisecond })
	rc, _ := dial(t, ref.GatewayURL())
	rc.expectClose(4000)
	c.send(map[string]any{"op": 1, "d": nil})
	if p := c.read(); p.Op != 11 {
		t.Fatalf("op %d, want ACK", p.Op)
	}
	if n := s.Stats().CloseCodesSent[4000]; n != 0 {
		t.Fatalf("closed %d times", n)
	}
}

func TestHeartbeatTimeoutKeepsSession(t *testing.T) {
	t.Parallel()
	s := startFake(t, func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond })
	c, _ := dial(t, s.GatewayURL())
	r := c.identify(s, 0, 1)
	c.expectClose(4000) // never beats
	c2, _ := dial(t, r.ResumeGatewayURL)
	c2.send(resumePayload(r.SessionID, 2))
	c2.readDispatch("RESUMED")
}
