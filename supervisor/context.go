package supervisor

import (
	"context"
	"sync/atomic"
)

// treeContext is the parent of the children's contexts: cancelled only by the
// supervisor, with the values of Start's context and, from Serve on, Serve's context
// (so that e.g. a stop reason put in Serve's context by an application controller is
// visible to every child). It embeds the cancelCtx it is cancelled by, so contexts
// derived from it register with that cancelCtx directly and need no goroutine each.
type treeContext struct {
	context.Context
	values atomic.Pointer[valueSource]
}

type valueSource struct{ ctx context.Context }

func newTreeContext(values context.Context) (*treeContext, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t := &treeContext{Context: ctx}
	t.setValues(values)
	return t, cancel
}

func (t *treeContext) setValues(ctx context.Context) { t.values.Store(&valueSource{ctx}) }

// Value looks in the cancelCtx first (the context package finds it by a private key),
// then in the current source of values.
func (t *treeContext) Value(key any) any {
	if v := t.Context.Value(key); v != nil {
		return v
	}
	return t.values.Load().ctx.Value(key)
}
