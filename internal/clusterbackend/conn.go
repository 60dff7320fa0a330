package clusterbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The connection contract lives in the leaf package internal/cephconn; these
// are its names for the backend's own code.
type (
	// Conn is cephconn.Conn.
	Conn = cephconn.Conn
	// Pool is cephconn.Pool.
	Pool = cephconn.Pool
	// LockFlags is cephconn.LockFlags.
	LockFlags = cephconn.LockFlags
	// DialOptions is cephconn.DialOptions.
	DialOptions = cephconn.DialOptions
	// DialFunc is cephconn.DialFunc.
	DialFunc = cephconn.DialFunc
)

// Lock flags (cephconn.LockMayRenew, cephconn.LockMustRenew).
const (
	LockMayRenew  = cephconn.LockMayRenew
	LockMustRenew = cephconn.LockMustRenew
)

// Errno is cephconn.Errno.
func Errno(err error) int { return cephconn.Errno(err) }

// EntityName is cephconn.EntityName.
func EntityName(name string) string { return cephconn.EntityName(name) }

// CommandError is a failed cluster command: the errno and status text the
// cluster returned, like Python's (retval, outb, outs) with retval < 0.
type CommandError struct {
	// Op names the command ("config set mgr/hello/place").
	Op string
	// Retval is the negative errno.
	Retval int
	// Status is the cluster's status text (outs).
	Status string
	// Err is the underlying librados or context error.
	Err error
}

func (e *CommandError) Error() string {
	status := e.Status
	if status == "" && e.Err != nil {
		status = e.Err.Error()
	}
	if status == "" {
		status = objectformat.Strerror(e.Retval)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Op, status, objectformat.ErrnoName(e.Retval))
}

// ErrorCode returns the negative errno (objectformat.ErrnoOf reads it).
func (e *CommandError) ErrorCode() int { return e.Retval }

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }

// FormatResponse makes the error answer commands with the cluster's own
// errno and status text.
func (e *CommandError) FormatResponse() objectformat.Result {
	status := e.Status
	if status == "" {
		status = e.Error()
	}
	return objectformat.Result{Retval: e.Retval, Stderr: status}
}

// commandFunc is one librados command call.
type commandFunc func(cmd, inbuf []byte) ([]byte, string, error)

// run calls f off the caller's goroutine and waits for it or for ctx. A
// call abandoned because ctx ended finishes in the background (bounded by
// the connection's operation timeout).
func run[T any](ctx context.Context, f func() T) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

type reply struct {
	out    []byte
	status string
	err    error
}

// command sends cmd (marshalled to JSON) through f and returns the cluster's
// reply as a Result: Retval is 0 or a negative errno, Stderr the status.
func command(ctx context.Context, f commandFunc, cmd map[string]any, inbuf []byte) objectformat.Result {
	js, err := json.Marshal(cmd)
	if err != nil {
		return objectformat.Failed(-int(syscall.EINVAL), fmt.Sprintf("cannot encode command: %v", err))
	}
	r, err := run(ctx, func() reply {
		out, status, err := f(js, inbuf)
		return reply{out, status, err}
	})
	if err != nil {
		return objectformat.Failed(Errno(err), fmt.Sprintf("%v: %v", cmd["prefix"], err))
	}
	if r.err != nil {
		status := r.status
		if status == "" {
			status = r.err.Error()
		}
		return objectformat.Result{Retval: retval(r.err), Stdout: r.out, Stderr: status}
	}
	return objectformat.Result{Stdout: r.out, Stderr: r.status}
}

// retval is the return value a failed librados command reports. Positive
// values are legal replies (a module may return 2) and are kept, except
// ETIMEDOUT: librados reports its own mgr command timeout as +110.
func retval(err error) int {
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		if c := coded.ErrorCode(); c > 0 && c != int(syscall.ETIMEDOUT) {
			return c
		}
	}
	return Errno(err)
}

// resultError turns a failed Result into a *CommandError naming op.
func resultError(op string, res objectformat.Result) error {
	if res.Retval == 0 {
		return nil
	}
	return &CommandError{Op: op, Retval: res.Retval, Status: res.Stderr}
}
