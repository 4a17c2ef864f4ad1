package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gotp/gotp/supervisor"
)

// instance is one running application instance on this node: its service, its long-lived
// context and its stop machinery. The controller's loop starts and stops instances on
// goroutines and learns the results through events.
type instance struct {
	c      *Controller
	name   string
	app    App
	info   *instInfo
	runCtx context.Context
	cancel context.CancelFunc
	svc    supervisor.Service
	seq    uint64 // start order, for stopping in reverse

	// state: 0 starting/running, 1 stopping (we asked), 2 exited on its own.
	state     atomic.Int32
	serveDone chan struct{}
	serveErr  error
	exitDone  chan struct{} // closed after the exit path ran PrepStop/Stop
}

const (
	instRunning int32 = iota
	instStopping
	instExited
)

// run starts the instance and reports evLocalStarted, then serves it; if it exits on its own
// it runs PrepStop/Stop with Crashed and reports evLocalExited.
func (in *instance) run(startCtx context.Context) {
	err := in.start(startCtx)
	in.info.starting.Store(false)
	if err != nil {
		in.cancel()
		in.c.forget(in)
		in.c.post(evLocalStarted{App: in.name, Epoch: in.info.st.Epoch, Err: err})
		return
	}
	in.c.post(evLocalStarted{App: in.name, Epoch: in.info.st.Epoch})
	go in.serve()
}

func (in *instance) start(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start of application %s panicked: %v", in.name, r)
		}
	}()
	ctx = withInst(ctx, in.info)
	svc, err := in.app.Start(ctx, in.info.st)
	if err != nil {
		return err
	}
	if svc == nil {
		return fmt.Errorf("start of application %s returned no service", in.name)
	}
	in.svc = svc
	if s, ok := svc.(Starter); ok {
		if err := s.Start(in.runCtx); err != nil {
			return err
		}
	}
	if p, ok := in.app.(StartPhaser); ok {
		for _, ph := range p.StartPhases() {
			if err := p.StartPhase(ctx, ph, in.info.st); err != nil {
				return fmt.Errorf("start phase %s: %w", ph, err)
			}
		}
	}
	return nil
}

func (in *instance) serve() {
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("application %s panicked: %v", in.name, r)
			}
		}()
		return in.svc.Serve(in.runCtx)
	}()
	in.serveErr = err
	close(in.serveDone)
	if in.state.CompareAndSwap(instRunning, instExited) {
		in.setReason(Crashed)
		in.prepStop(Crashed)
		in.cancel()
		in.stop(Crashed)
		close(in.exitDone)
		in.c.forget(in)
		abnormal := err != nil && !errors.Is(err, supervisor.ErrShutdown) && !errors.Is(err, context.Canceled)
		reason := "normal"
		if err != nil {
			reason = err.Error()
		}
		in.c.post(evLocalExited{App: in.name, Abnormal: abnormal, Reason: reason})
	}
}

func (in *instance) setReason(r StopReason) { in.info.reason.Store(&r) }

func (in *instance) prepStop(r StopReason) {
	if p, ok := in.app.(PrepStopper); ok {
		safeCall(func() { p.PrepStop(in.runCtx, r) })
	}
}

func (in *instance) stop(r StopReason) {
	if s, ok := in.app.(Stopper); ok {
		safeCall(func() { s.Stop(in.runCtx, r) })
	}
}

// shutdown stops a running instance (PrepStop, cancel, wait for Serve, Stop). If the instance
// exited on its own meanwhile, it waits for that exit path instead. report says whether to
// post evLocalStopped.
func (in *instance) shutdown(r StopReason, report bool) {
	if in.state.CompareAndSwap(instRunning, instStopping) {
		in.setReason(r)
		in.prepStop(r)
		in.cancel()
		<-in.serveDone
		in.stop(r)
		in.c.forget(in)
	} else if in.state.Load() == instExited {
		<-in.exitDone
	}
	if report {
		in.c.post(evLocalStopped{App: in.name})
	}
}

// halt cancels the instance without callbacks, as if the process died.
func (in *instance) halt() {
	in.state.Store(instStopping)
	in.cancel()
}

func safeCall(f func()) {
	defer func() { _ = recover() }()
	f()
}

// waitGroup of instance goroutines, so Close can wait for them.
type waitGroup = sync.WaitGroup
