package fakediscord_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/gotp/gotp/nostrum/fakediscord"
)

// Start a fake, find the gateway through REST, identify with a raw
// websocket client and receive an injected message.
func ExampleStart() {
	srv, err := fakediscord.Start(fakediscord.Config{Token: "secret", HeartbeatInterval: time.Minute})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL()+"/api/v10/gateway/bot", nil)
	req.Header.Set("Authorization", "Bot secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var gw struct {
		URL    string `json:"url"`
		Shards int    `json:"shards"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&gw)
	resp.Body.Close()

	ws, _, err := websocket.DefaultDialer.Dial(gw.URL+"/?v=10&encoding=json", nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()
	var p struct {
		Op int             `json:"op"`
		S  int64           `json:"s"`
		T  string          `json:"t"`
		D  json.RawMessage `json:"d"`
	}
	_ = ws.ReadJSON(&p) // Hello
	_ = ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{
		"token": "secret", "intents": fakediscord.IntentGuilds | fakediscord.IntentGuildMessages | fakediscord.IntentMessageContent,
		"properties": map[string]string{"os": "linux", "browser": "example", "device": "example"},
	}})
	_ = ws.ReadJSON(&p) // READY
	fmt.Println(p.T, p.S)
	_ = ws.ReadJSON(&p) // GUILD_CREATE
	fmt.Println(p.T, p.S)

	channel := srv.Guilds()[0].Channels[0].ID
	if _, err := srv.InjectMessage(channel, "hello bot"); err != nil {
		panic(err)
	}
	_ = ws.ReadJSON(&p)
	var m fakediscord.Message
	_ = json.Unmarshal(p.D, &m)
	fmt.Println(p.T, p.S, m.Content)
	// Output:
	// READY 1
	// GUILD_CREATE 2
	// MESSAGE_CREATE 3 hello bot
}
