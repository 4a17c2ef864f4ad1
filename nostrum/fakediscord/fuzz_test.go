package fakediscord

import (
	"bytes"
	"testing"
)

// FuzzGatewayPayloads feeds arbitrary client payloads (one per line) to the
// gateway's payload handler: whatever a client sends, the fake answers with
// payloads or a close code and never panics.
func FuzzGatewayPayloads(f *testing.F) {
	seeds := []string{
		`{"op":1,"d":null}`,
		`{"op":2,"d":{"token":"test-token","intents":33281,"shard":[0,1]}}` + "\n" + `{"op":1,"d":3}`,
		`{"op":2,"d":{"token":"test-token","intents":33281}}` + "\n" + `{"op":2,"d":{}}`,
		`{"op":6,"d":{"token":"test-token","session_id":"x","seq":3}}`,
		`{"op":3,"d":{"status":"online"}}`,
		`{"op":99}`, `{"op":"1"}`, `[]`, `{`, `null`,
		`{"op":2,"d":{"token":"test-token","intents":1,"shard":[5,2]}}`,
		`{"op":2,"d":{"token":"test-token","intents":1,"shard":[0]}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	s, err := Start(Config{Token: testToken, HeartbeatInterval: 1 << 40, IdentifyWindow: 1, SessionStartTotal: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &conn{srv: s, wake: make(chan struct{}, 1), stop: make(chan struct{}), readDone: make(chan struct{})}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, line := range bytes.Split(in, []byte("\n")) {
			if c.closing {
				break
			}
			s.handlePayloadLocked(c, line)
		}
		c.qmu.Lock()
		n := len(c.queue)
		c.qmu.Unlock()
		if !c.closing && n == 0 && len(in) > 0 && !bytes.Contains(in, []byte(`"op"`)) {
			t.Fatalf("payload %q got neither an answer nor a close", in)
		}
		s.releaseSessionLocked(c, true) // keep the session table small
	})
}
