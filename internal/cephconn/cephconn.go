// Package cephconn is the contract of a connection to a Ceph cluster: the
// few librados calls gomgr makes (Conn, Pool), how to dial one
// (DialOptions, DialFunc) and how their errors carry Ceph's errno (Errno).
// It is a leaf: internal/cephrados implements it with go-ceph (cgo, only
// in the gomgr-rados helper), internal/radosproc forwards it to that
// helper, and internal/clusterbackend (the daemon's attached backend) and
// mgrctl use it, so neither the helper nor mgrctl links the daemon.
package cephconn

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/objstore"
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

// MonTargeter is implemented by a Conn that can send a command to one
// named monitor (rados_mon_command_target), as `ceph tell mon.<name>`
// does: the commands a monitor answers only for itself (mon_status) need
// it.
type MonTargeter interface {
	MonTargetCommand(name string, cmd, inbuf []byte) (out []byte, status string, err error)
}

// ObjectStore is implemented by a Conn that runs the object-store
// operations of modules (module.Handle.Rados): pools, objects, omap,
// xattrs and object-class calls, checked by objstore.Check before they
// get here. Errors carry librados' errno.
type ObjectStore interface {
	ObjectOp(op objstore.Op) (objstore.Result, error)
}

// AddrsReporter is implemented by a Conn that can tell its client
// addresses (rados_getaddrs), which a mgr registers so that the monitors
// blocklist them when it fails over, as Python's self.rados does.
type AddrsReporter interface {
	Addrs() (string, error)
}

// MDSCommander is implemented by a Conn that can send a command to an MDS
// (libcephfs' ceph_mds_command, as `ceph tell mds.<spec>`): spec is an MDS
// name, a rank ("0", "<fs>:0") or a GID, as the MDS map resolves it.
type MDSCommander interface {
	MDSCommand(spec string, cmd, inbuf []byte) (out []byte, status string, err error)
}

// MDSCommandTimeout bounds an MDS command: libcephfs waits for the MDS's
// answer with no limit of its own (no librados timeout covers it).
const MDSCommandTimeout = time.Minute

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

// DialOptions say how to connect to a cluster.
type DialOptions struct {
	// Conf is the ceph.conf path; Name the cephx entity ("client.admin";
	// a bare id means client.<id>); Keyring overrides the keyring of
	// ceph.conf when set.
	Conf, Name, Keyring string
	// OpTimeout is librados' rados_mon_op_timeout and
	// rados_osd_op_timeout: no monitor, mgr or OSD call blocks longer.
	OpTimeout time.Duration
	// MountTimeout is client_mount_timeout: how long connecting may take.
	MountTimeout time.Duration
	// Config are Ceph options set on the connection after the
	// configuration file (mon_host, keyring, ...). With Config set and
	// Conf empty no file is read: the bridge connects with the options of
	// the real mgr it runs in, which it asks that mgr for.
	Config map[string]string
}

// EntityName returns name as a cephx entity name ("admin" →
// "client.admin"; "" → "client.admin").
func EntityName(name string) string {
	switch {
	case name == "":
		return "client.admin"
	case !strings.Contains(name, "."):
		return "client." + name
	}
	return name
}

// DialFunc connects to a cluster (radosproc.Dial in the binaries).
type DialFunc func(ctx context.Context, o DialOptions) (Conn, error)

// Objects returns conn's object store as an objstore.Store (nil if conn
// has none). Each call runs off the caller's goroutine, so ctx is
// honoured; one abandoned finishes in the background, bounded by the
// connection's OSD operation timeout.
func Objects(conn Conn) objstore.Store {
	s, ok := conn.(ObjectStore)
	if !ok {
		return nil
	}
	return connObjects{s}
}

type connObjects struct{ s ObjectStore }

func (c connObjects) Objects(ctx context.Context, op objstore.Op) (objstore.Result, error) {
	if err := ctx.Err(); err != nil {
		return objstore.Result{}, err
	}
	type reply struct {
		res objstore.Result
		err error
	}
	ch := make(chan reply, 1)
	go func() {
		res, err := c.s.ObjectOp(op)
		ch <- reply{res, err}
	}()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		return objstore.Result{}, ctx.Err()
	}
}
