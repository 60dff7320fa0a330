package api

import (
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Budget caps the memory that clients make the daemon hold, across every
// connection of the servers that share it: the bytes of requests in
// flight (input buffers being received or held by running commands, and
// large command texts) and of replies (over asok.SmallReply) waiting to be
// written. A request past it is refused before its bytes are read; a reply
// past it is dropped: -EBUSY while others hold the budget, -E2BIG if it
// could never fit. A nil *Budget does not limit. It is an
// asok.ReplyBudget.
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

// reserve takes n bytes of the budget for a request; when it cannot, ok
// is false and res is the reply.
func (b *Budget) reserve(n int64) (res objectformat.Result, ok bool) {
	return b.take(n,
		"request of %[1]d bytes exceeds the daemon's limit of %[2]d bytes in flight",
		"the daemon is busy: other clients' requests and unread replies hold its %[2]d bytes in flight; try again")
}

// reserveReply takes n bytes for a reply; when it cannot, ok is false and
// res is the reply to send instead.
func (b *Budget) reserveReply(n int64) (res objectformat.Result, ok bool) {
	return b.take(n,
		"reply of %[1]d bytes exceeds the daemon's in-flight memory budget of %[2]d bytes",
		"reply of %[1]d bytes does not fit the daemon's in-flight memory budget; try again")
}

// take takes n bytes, or answers -E2BIG (tooBig) if they could never fit
// and -EBUSY (busy) if others hold the budget; the messages get n and the
// budget's size.
func (b *Budget) take(n int64, tooBig, busy string) (res objectformat.Result, ok bool) {
	if b == nil || n <= 0 {
		return res, true
	}
	if n > b.max {
		return objectformat.Failed(-int(syscall.E2BIG), fmt.Sprintf(tooBig, n, b.max)), false
	}
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return objectformat.Failed(-int(syscall.EBUSY), fmt.Sprintf(busy, n, b.max)), false
	}
	return res, true
}

// ReserveReply takes n bytes for a reply waiting to be written, or returns
// why it cannot (-EBUSY, -E2BIG; see asok.ReplyBudget).
func (b *Budget) ReserveReply(n int64) error {
	if res, ok := b.reserveReply(n); !ok {
		return objectformat.NewErrorResponseCode(res.Stderr, res.Retval)
	}
	return nil
}

// Release gives n reserved bytes back.
func (b *Budget) Release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}
