package api

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// running caps the commands a server runs at once (ServerOptions.
// MaxRunning). The in-flight budget bounds the replies waiting to be
// written, but a command builds its reply before the budget can be asked
// for it (`config-key dump` of a large store allocates its whole JSON
// text): without a cap, a hundred concurrent dumps of a 27 MB store from
// a read-only client took the daemon past 2 GB. A command waits for a
// slot for at most wait, then is refused with -EBUSY. A nil *running does
// not limit.
type running struct {
	slots chan struct{}
	wait  time.Duration
}

func newRunning(n int, wait time.Duration) *running {
	if n <= 0 {
		return nil
	}
	return &running{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting up to r.wait or until ctx ends; when it
// cannot, ok is false and res is the reply.
func (r *running) acquire(ctx context.Context) (res objectformat.Result, ok bool) {
	if r == nil {
		return res, true
	}
	select {
	case r.slots <- struct{}{}:
		return res, true
	default:
	}
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case r.slots <- struct{}{}:
		return res, true
	case <-t.C:
	case <-ctx.Done():
	}
	return objectformat.Failed(-int(syscall.EBUSY), fmt.Sprintf(
		"the daemon is busy: %d commands from this socket's clients are running and none finished within %s; try again", cap(r.slots), r.wait)), false
}

// release gives a slot back.
func (r *running) release() {
	if r != nil {
		<-r.slots
	}
}
