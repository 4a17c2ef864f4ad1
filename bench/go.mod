module github.com/gotp/gotp/bench

go 1.26.0

replace github.com/gotp/gotp => ../

require (
	github.com/bwmarrin/discordgo v0.29.0
	github.com/gotp/gotp v0.0.0-00010101000000-000000000000
	github.com/thejerf/suture/v4 v4.0.6
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	golang.org/x/crypto v0.0.0-20210421170649-83a5a9bb288b // indirect
	golang.org/x/sys v0.47.0 // indirect
)
