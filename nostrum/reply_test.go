package nostrum

import "github.com/gotp/gotp/nostrum/rest"

func restReply(ev Event) rest.MessageCreate {
	return rest.MessageCreate{Content: "pong", Nonce: rest.ReplyNonce(ev.Message.ID), EnforceNonce: true}
}
