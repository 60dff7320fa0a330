package objectformat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// ownResult is an ErrorResponseBase that chooses its own Result.
type ownResult struct{ r Result }

func (o ownResult) Error() string          { return o.r.Stderr }
func (o ownResult) FormatResponse() Result { return o.r }

// TestErrorConstructorsNormaliseTheCode is issue #9 item 23: every error
// constructor fails whatever the sign of its code, and a zero code fails
// with -EINVAL instead of reporting success. Positive and zero return
// values come only from a Result (or an ErrorResponseBase's own Result).
func TestErrorConstructorsNormaliseTheCode(t *testing.T) {
	cause := errors.New("boom")
	constructors := []struct {
		name string
		// build returns the Result each constructor produces for code.
		int   func(code int) Result
		errno func(code syscall.Errno) Result
	}{
		{"NewErrorResponseCode",
			func(c int) Result { return NewErrorResponseCode("msg", c).FormatResponse() },
			func(c syscall.Errno) Result { return NewErrorResponseCode("msg", c).FormatResponse() }},
		{"Errorf",
			func(c int) Result { return Errorf(c, "m%s", "sg").FormatResponse() },
			func(c syscall.Errno) Result { return Errorf(c, "m%s", "sg").FormatResponse() }},
		{"WrapCode",
			func(c int) Result { return WrapCode(fmt.Errorf("msg: %w", cause), c).FormatResponse() },
			func(c syscall.Errno) Result { return WrapCode(fmt.Errorf("msg: %w", cause), c).FormatResponse() }},
		{"Failed",
			func(c int) Result { return Failed(c, "msg") },
			func(c syscall.Errno) Result { return Failed(c, "msg") }},
		{"ResultOf(NewErrorResponseCode)",
			func(c int) Result { return ResultOf(NewErrorResponseCode("msg", c)) },
			func(c syscall.Errno) Result { return ResultOf(NewErrorResponseCode("msg", c)) }},
		{"Wrap(ErrorCode)",
			func(c int) Result { return Wrap(coolErr{"msg", c}).FormatResponse() },
			func(c syscall.Errno) Result { return Wrap(coolErr{"msg", int(c)}).FormatResponse() }},
	}
	ints := []struct {
		code, want int
	}{
		{-int(syscall.ENOENT), -2},
		{int(syscall.ENOENT), -2},
		{-22, -22},
		{22, -22},
		{-4000, -4000}, // no name, still a failure as given
		{4000, -4000},
		{-MaxErrno, -MaxErrno},
		{MaxErrno, -MaxErrno},
		{0, -22},
		// Not errnos: -EINVAL rather than a value a transport might
		// truncate (-1<<32 as an int32 is 0, a success).
		{-MaxErrno - 1, -22},
		{MaxErrno + 1, -22},
		{-1 << 32, -22},
		{1 << 32, -22},
		{-1<<32 - 2, -22},
		{math.MinInt, -22},
		{math.MaxInt, -22},
		{math.MinInt32, -22},
	}
	errnos := []struct {
		code syscall.Errno
		want int
	}{
		{syscall.ENOENT, -2},
		{syscall.EACCES, -13},
		{syscall.Errno(0), -22},
		{syscall.Errno(MaxErrno + 1), -22},
		{syscall.Errno(1 << 32), -22},
	}
	for _, c := range constructors {
		for _, tt := range ints {
			res := c.int(tt.code)
			require.Equal(t, tt.want, res.Retval, "%s(%d)", c.name, tt.code)
			require.Contains(t, res.Stderr, "msg", "%s(%d)", c.name, tt.code)
			require.Empty(t, res.Stdout)
		}
		for _, tt := range errnos {
			res := c.errno(tt.code)
			require.Equal(t, tt.want, res.Retval, "%s(syscall.Errno(%d))", c.name, tt.code)
		}
	}

	// The accessors agree with the normalised value.
	e := Errorf(syscall.ENOENT, "gone")
	require.Equal(t, -2, e.ReturnValue())
	require.Equal(t, -2, e.MgrReturnValue())
	require.Equal(t, -2, e.ErrorCode())
	require.Equal(t, 2, e.Errno())
	require.Equal(t, -2, ErrnoOf(fmt.Errorf("ctx: %w", e)))
	require.Equal(t, "ENOENT", ErrnoName(e.ReturnValue()))

	// ErrnoOf maps only nil to 0.
	require.Equal(t, 0, ErrnoOf(nil))
	require.Equal(t, -22, ErrnoOf(syscall.Errno(0)))
	require.Equal(t, -22, ErrnoOf(coolErr{"zero", 0}))
	require.Equal(t, -22, ErrnoOf(coolErr{"huge", -1 << 32}), "a code that is no errno")
	huge := syscall.Errno(^uintptr(0)) // -1 as an int, but no errno
	require.Equal(t, -22, NewErrorResponseCode("x", huge).ReturnValue())
	require.Equal(t, -22, Failed(huge, "x").Retval)
	require.Equal(t, -22, ErrnoOf(fmt.Errorf("x: %w", huge)))
	require.Equal(t, -22, ErrnoOf(ownResult{Result{Retval: -1 << 32}}))
	require.Equal(t, -22, ErrnoOf(ownResult{Result{Stderr: "fine"}}))
	require.Equal(t, -5, ErrnoOf(ownResult{Result{Retval: 5}}))

	// Explicit Results keep zero and positive values.
	require.Equal(t, 2, Result{Retval: 2, Stderr: "incomplete"}.Err().(*ErrorResponse).ReturnValue(),
		"Result.Err keeps the Result's value")
	require.Equal(t, Result{Retval: 3, Stderr: "own"}, ResultOf(ownResult{Result{Retval: 3, Stderr: "own"}}))
	require.Equal(t, Result{Stderr: "fine"}, ResultOf(ownResult{Result{Stderr: "fine"}}))
}

// TestPositiveErrnoFailsThroughResponder is the case the issue reports:
// Errorf(int(syscall.ENOENT), ...) returned by a handler must fail.
func TestPositiveErrnoFailsThroughResponder(t *testing.T) {
	h := Responder(func(_ context.Context, _ *Request) (map[string]int, error) {
		return nil, Errorf(int(syscall.ENOENT), "no pool %q", "rbd")
	})
	require.Equal(t, Result{Retval: -2, Stderr: `no pool "rbd"`}, serve(h, ""))
	e := EmptyResponder(func(context.Context, *Request) error { return NewErrorResponseCode("nope", syscall.EPERM) })
	require.Equal(t, Result{Retval: -1, Stderr: "nope"}, serve(e, ""))
}
