package mgrctl

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/radosproc"
)

// clusterOpTimeout is how long a command of mgrctl -c waits for the
// monitors or the mgr (librados' op timeout): long enough for slow
// commands, short enough that a dead cluster is reported instead of
// hanging (--timeout and Ctrl-C stop a wait earlier).
const clusterOpTimeout = 60 * time.Second

// clusterMountTimeout bounds connecting when ctx has no deadline
// (--connect-timeout 0): librados' own default, client_mount_timeout.
const clusterMountTimeout = 300 * time.Second

// RadosDialer connects to a Ceph cluster for -c through librados in the
// gomgr-rados helper process (internal/radosproc), so mgrctl itself
// stays pure Go. Connecting (librados' client_mount_timeout) may take
// until ctx's deadline.
func RadosDialer(ctx context.Context, conf, name, keyring string) (ClusterConn, error) {
	mount := clusterMountTimeout
	if dl, ok := ctx.Deadline(); ok {
		// Whole seconds: librados refuses a fractional
		// client_mount_timeout; ctx ends the wait on time anyway.
		mount = max(time.Until(dl).Round(time.Second), time.Second)
	}
	c, err := radosproc.Dial(ctx, cephconn.DialOptions{
		Conf: conf, Name: name, Keyring: keyring,
		OpTimeout: clusterOpTimeout, MountTimeout: mount,
	})
	if err != nil {
		return nil, err
	}
	return radosConn{c}, nil
}

// radosConn adapts a cephconn.Conn to ClusterConn.
type radosConn struct{ c cephconn.Conn }

func (c radosConn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return c.c.MonCommand(cmd, inbuf)
}

// MgrCommand normalises librados' report of its own timeout waiting for
// the mgr, which comes back as +ETIMEDOUT, to -ETIMEDOUT.
func (c radosConn) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	out, status, err := c.c.MgrCommand(cmd, inbuf)
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) && coded.ErrorCode() == int(syscall.ETIMEDOUT) {
		if status == "" {
			status = "timed out waiting for the active mgr"
		}
		err = radosTimeout{err}
	}
	return out, status, err
}

func (c radosConn) Close() { c.c.Close() }

// radosTimeout is a librados timeout with a negative errno.
type radosTimeout struct{ error }

func (e radosTimeout) ErrorCode() int { return -int(syscall.ETIMEDOUT) }
func (e radosTimeout) Unwrap() error  { return e.error }
