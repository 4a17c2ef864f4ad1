// Package deps pins the project's chosen dependencies in go.mod while the packages that use
// them are being written. It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/gorilla/websocket"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/vmihailenco/msgpack/v5"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/errgroup"
)
