//go:build cgo

package cephrados

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/ceph/go-ceph/cephfs"

	"github.com/gomgr/gomgr/internal/cephconn"
)

var _ cephconn.MDSCommander = (*Conn)(nil)

// maxMDSCalls bounds the MDS commands in flight: one that never returns
// (libcephfs waits for an MDS without a time limit) keeps an OS thread.
const maxMDSCalls = 8

// MDSCommand sends a command to the MDS spec names, through a libcephfs
// client made on this connection's librados handle at first use (it is
// initialised, never mounted: ceph_mds_command needs only the MDS map).
//
// libcephfs waits for the MDS's answer with no time limit, so the call runs
// in a goroutine and MDSCommand gives up after cephconn.MDSCommandTimeout
// with -ETIMEDOUT; at most maxMDSCalls run at once (-EBUSY past that). A
// call that never returns is never freed under: Close waits for the MDS
// calls for a bounded time and, if one is still in libcephfs, leaves the
// handles to the process's exit.
func (c *Conn) MDSCommand(spec string, cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	select {
	case c.mdsSlots <- struct{}{}:
	default:
		c.mu.RUnlock()
		return nil, "", fmt.Errorf("%d MDS commands are already waiting for an answer: %w", maxMDSCalls, syscall.EBUSY)
	}
	c.mdsCalls.Add(1)
	c.mu.RUnlock()
	type result struct {
		out    []byte
		status string
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() { <-c.mdsSlots; c.mdsCalls.Done() }()
		fs, err := c.cephFS()
		if err != nil {
			ch <- result{err: err}
			return
		}
		out, status, err := fs.MdsCommandWithInputBuffer(spec, [][]byte{cmd}, inbuf)
		ch <- result{out, status, err}
	}()
	t := time.NewTimer(cephconn.MDSCommandTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.out, r.status, r.err
	case <-t.C:
		return nil, "", fmt.Errorf("mds.%s did not answer within %v: %w", spec, cephconn.MDSCommandTimeout, syscall.ETIMEDOUT)
	}
}

// cephFS returns the connection's libcephfs client, made on first use.
func (c *Conn) cephFS() (*cephfs.MountInfo, error) {
	c.fsmu.Lock()
	defer c.fsmu.Unlock()
	if c.fs != nil {
		return c.fs, nil
	}
	fs, err := cephfs.CreateFromRados(c.conn)
	if err != nil {
		return nil, fmt.Errorf("create a libcephfs client: %w", fsErrno(err))
	}
	if err := fs.Init(); err != nil {
		_ = fs.Release()
		return nil, fmt.Errorf("initialise the libcephfs client: %w", fsErrno(err))
	}
	c.fs = fs
	return fs, nil
}

// fsErrno keeps a libcephfs error that is an errno, and makes its own
// codes (CEPHFS_ERROR_*, -1000 and below, not errnos) -ENOTCONN.
func fsErrno(err error) error {
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) && coded.ErrorCode() <= -1000 {
		return fmt.Errorf("%v: %w", err, syscall.ENOTCONN)
	}
	return err
}

// closeFS waits up to mdsCloseWait for the MDS calls in flight, then
// releases the libcephfs client. It reports false, releasing nothing, if
// a call is still in libcephfs: the librados handle must then stay too.
// The caller holds c.mu.
func (c *Conn) closeFS() bool {
	done := make(chan struct{})
	go func() { c.mdsCalls.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(mdsCloseWait):
		return false
	}
	c.fsmu.Lock()
	defer c.fsmu.Unlock()
	if c.fs != nil {
		_ = c.fs.Release()
		c.fs = nil
	}
	return true
}

// mdsCloseWait is how long Close waits for MDS calls in flight.
const mdsCloseWait = 5 * time.Second
