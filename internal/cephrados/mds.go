//go:build cgo

package cephrados

import (
	"fmt"

	"github.com/ceph/go-ceph/cephfs"

	"github.com/gomgr/gomgr/internal/cephconn"
)

var _ cephconn.MDSCommander = (*Conn)(nil)

// MDSCommand sends a command to the MDS spec names, through a libcephfs
// client made on this connection's librados handle at first use (it is
// initialised, never mounted: ceph_mds_command needs only the MDS map).
func (c *Conn) MDSCommand(spec string, cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	fs, err := c.cephFS()
	if err != nil {
		return nil, "", err
	}
	return fs.MdsCommandWithInputBuffer(spec, [][]byte{cmd}, inbuf)
}

// cephFS returns the connection's libcephfs client, made on first use.
// The caller holds c.mu for reading.
func (c *Conn) cephFS() (*cephfs.MountInfo, error) {
	c.fsmu.Lock()
	defer c.fsmu.Unlock()
	if c.fs != nil {
		return c.fs, nil
	}
	fs, err := cephfs.CreateFromRados(c.conn)
	if err != nil {
		return nil, fmt.Errorf("create a libcephfs client: %w", err)
	}
	if err := fs.Init(); err != nil {
		_ = fs.Release()
		return nil, fmt.Errorf("initialise the libcephfs client: %w", err)
	}
	c.fs = fs
	return fs, nil
}

// closeFS releases the libcephfs client, if any. The caller holds c.mu.
func (c *Conn) closeFS() {
	c.fsmu.Lock()
	defer c.fsmu.Unlock()
	if c.fs != nil {
		_ = c.fs.Release()
		c.fs = nil
	}
}
