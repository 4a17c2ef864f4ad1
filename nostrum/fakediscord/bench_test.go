package fakediscord

import (
	"testing"
)

// BenchmarkInjectToClient measures MESSAGE_CREATE events per second from
// InjectMessage to a raw websocket client that reads them (one session).
func BenchmarkInjectToClient(b *testing.B) {
	s, err := Start(Config{Token: testToken, HeartbeatInterval: 1 << 40, ReplayBuffer: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, _ := dial(b, s.GatewayURL())
	c.identify(s, 0, 1)
	ch := firstChannel(s)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := c.tryRead(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.InjectMessage(ch, "benchmark message"); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	c.ws.Close()
}
