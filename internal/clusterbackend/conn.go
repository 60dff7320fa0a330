package clusterbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Conn is a connection to a Ceph cluster: the few librados calls the
// backend needs. internal/cephrados implements it with go-ceph, and
// internal/radosproc forwards it to that in a helper process; tests use a
// fake. Errors carry Ceph's errno: an ErrorCode() int method (go-ceph
// errors have one) or a syscall.Errno, somewhere in the wrap chain.
//
// Every call may block up to the connection's operation timeout (librados'
// rados_mon_op_timeout / rados_osd_op_timeout); the backend runs them off
// the caller's goroutine so contexts are honoured.
type Conn interface {
	// MonCommand sends a command to the monitors (rados_mon_command).
	MonCommand(cmd, inbuf []byte) (out []byte, status string, err error)
	// MgrCommand sends a command to the active mgr (rados_mgr_command).
	MgrCommand(cmd, inbuf []byte) (out []byte, status string, err error)
	// OsdCommand sends a command to one OSD (rados_osd_command).
	OsdCommand(osd int, cmd, inbuf []byte) (out []byte, status string, err error)
	// PGCommand sends a command to the primary OSD of a PG
	// (rados_pg_command).
	PGCommand(pgid string, cmd, inbuf []byte) (out []byte, status string, err error)
	// FSID is the cluster's fsid.
	FSID() string
	// Pool opens (and caches) an I/O context on a pool; the pool must
	// exist.
	Pool(name string) (Pool, error)
	// Close shuts the connection down once the calls in flight have
	// returned; later calls fail with -ENOTCONN.
	Close()
}

// LockFlags are librados lock flags (LIBRADOS_LOCK_FLAG_*).
type LockFlags uint8

// Lock flags.
const (
	// LockMayRenew renews the lock if the caller already holds it.
	LockMayRenew LockFlags = 1 << 0
	// LockMustRenew renews the lock and fails with -ENOENT if the caller
	// does not hold it (any more).
	LockMustRenew LockFlags = 1 << 1
)

// Pool is an I/O context on one pool: advisory object locks (cls_lock) and
// whole-object reads and writes.
type Pool interface {
	// LockExclusive takes or renews an exclusive lock. It returns nil on
	// success and an error with -EBUSY (held by someone else), -EEXIST
	// (already held by this client and cookie, flags 0) or -ENOENT
	// (LockMustRenew and not held) otherwise.
	LockExclusive(oid, name, cookie, desc string, duration time.Duration, flags LockFlags) error
	// Unlock releases a lock; releasing a lock not held is not an error.
	Unlock(oid, name, cookie string) error
	// LockerCookies returns the cookies of the current holders of a lock
	// (expired holders are not listed).
	LockerCookies(oid, name string) ([]string, error)
	// WriteFull replaces an object's data.
	WriteFull(oid string, data []byte) error
	// Read returns an object's data (an error with -ENOENT if it does not
	// exist).
	Read(oid string) ([]byte, error)
}

// Errno returns the negative errno an error carries (-EINVAL if none, 0 for
// nil). Context errors map to -ETIMEDOUT and -ECANCELED.
func Errno(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.DeadlineExceeded):
		return -int(syscall.ETIMEDOUT)
	case errors.Is(err, context.Canceled):
		return -int(syscall.ECANCELED)
	}
	return objectformat.ErrnoOf(err)
}

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
