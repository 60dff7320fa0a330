package main

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/mgrctl"
	"github.com/gomgr/gomgr/internal/radosproc"
)

// Timeouts of mgrctl -c. Connecting gives up after clusterMountTimeout
// (librados would wait 300 s); a command waits at most clusterOpTimeout
// for the monitors or the mgr, long enough for slow commands, short enough
// that a dead cluster is reported instead of hanging (Ctrl-C still stops
// a wait earlier).
const (
	clusterMountTimeout = 10 * time.Second
	clusterOpTimeout    = 60 * time.Second
)

// dialCluster connects to a Ceph cluster for -c through librados
// in the gomgr-rados helper process (internal/radosproc).
var dialCluster mgrctl.ClusterDialer = func(conf, name, keyring string) (mgrctl.ClusterConn, error) {
	c, err := radosproc.Dial(context.Background(), clusterbackend.DialOptions{
		Conf: conf, Name: name, Keyring: keyring,
		OpTimeout: clusterOpTimeout, MountTimeout: clusterMountTimeout,
	})
	if err != nil {
		return nil, err
	}
	return clusterConn{c}, nil
}

// clusterConn adapts a clusterbackend.Conn to mgrctl.ClusterConn.
type clusterConn struct{ c clusterbackend.Conn }

func (c clusterConn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return c.c.MonCommand(cmd, inbuf)
}

// MgrCommand normalises librados' report of its own timeout waiting for
// the mgr, which comes back as +ETIMEDOUT, to -ETIMEDOUT.
func (c clusterConn) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	out, status, err := c.c.MgrCommand(cmd, inbuf)
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) && coded.ErrorCode() == int(syscall.ETIMEDOUT) {
		if status == "" {
			status = "timed out waiting for the active mgr"
		}
		err = timeoutError{err}
	}
	return out, status, err
}

func (c clusterConn) Close() { c.c.Close() }

// timeoutError is a librados timeout with a negative errno.
type timeoutError struct{ error }

func (e timeoutError) ErrorCode() int { return -int(syscall.ETIMEDOUT) }
func (e timeoutError) Unwrap() error  { return e.error }
