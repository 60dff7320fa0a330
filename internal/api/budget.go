package api

import (
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Budget caps the bytes of requests in flight (input buffers being
// received or held by running commands, and large command texts) across
// every connection of the servers that share it. A request past it is
// refused before its bytes are read: -EBUSY while others hold the budget,
// -E2BIG if it could never fit. A nil *Budget does not limit.
type Budget struct {
	max  int64
	used atomic.Int64
}

// DefaultMaxInflight is the default in-flight budget.
const DefaultMaxInflight = 256 << 20

// NewBudget returns a budget of max bytes (DefaultMaxInflight if max <= 0).
func NewBudget(max int64) *Budget {
	if max <= 0 {
		max = DefaultMaxInflight
	}
	return &Budget{max: max}
}

// Max is the budget's size.
func (b *Budget) Max() int64 { return b.max }

// InUse is the number of bytes reserved now.
func (b *Budget) InUse() int64 { return b.used.Load() }

// reserve takes n bytes of the budget; when it cannot, ok is false and res
// is the reply.
func (b *Budget) reserve(n int64) (res objectformat.Result, ok bool) {
	if b == nil || n <= 0 {
		return res, true
	}
	if n > b.max {
		return objectformat.Failed(-int(syscall.E2BIG),
			fmt.Sprintf("request of %d bytes exceeds the daemon's limit of %d bytes in flight", n, b.max)), false
	}
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return objectformat.Failed(-int(syscall.EBUSY),
			fmt.Sprintf("the daemon is busy: other requests hold its %d bytes of input in flight; try again", b.max)), false
	}
	return res, true
}

// release gives n reserved bytes back.
func (b *Budget) release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}
