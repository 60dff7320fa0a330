//go:build cgo

package cephrados

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ceph/go-ceph/cephfs"
	"github.com/ceph/go-ceph/rados"

	"github.com/gomgr/gomgr/internal/cephconn"
)

// Available reports whether this build can connect to clusters.
func Available() error { return nil }

// Conn is a connection to a cluster. It is safe for concurrent use.
type Conn struct {
	// mu is held shared by every call into librados and exclusively by
	// Close, so the handle is never freed under a call.
	mu     sync.RWMutex
	closed bool
	conn   *rados.Conn
	fsid   string
	pools  map[string]*pool
	pmu    sync.Mutex
	// fs is the libcephfs client of MDS commands, made at first use;
	// mdsSlots and mdsCalls bound and count the MDS calls in flight.
	fs       *cephfs.MountInfo
	fsmu     sync.Mutex
	mdsSlots chan struct{}
	mdsCalls sync.WaitGroup
}

var _ cephconn.Conn = (*Conn)(nil)

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Connect reads the configuration file, applies the keyring and the
// timeouts and connects. It returns when connected, when connecting failed
// (after at most o.MountTimeout) or when ctx ends (a connection that
// completes later is shut down).
func Connect(ctx context.Context, o cephconn.DialOptions) (*Conn, error) {
	name := cephconn.EntityName(o.Name)
	rc, err := rados.NewConnWithClusterAndUser("ceph", name)
	if err != nil {
		return nil, fmt.Errorf("create a librados handle for %s: %w", name, err)
	}
	switch {
	case o.Conf != "":
		err = rc.ReadConfigFile(o.Conf)
	case len(o.Config) == 0:
		err = rc.ReadDefaultConfigFile()
	}
	if err != nil {
		rc.Shutdown()
		return nil, fmt.Errorf("read %s: %w", o.Conf, err)
	}
	opts := [][2]string{}
	for _, k := range slices.Sorted(maps.Keys(o.Config)) {
		opts = append(opts, [2]string{k, o.Config[k]})
	}
	if o.Keyring != "" {
		opts = append(opts, [2]string{"keyring", o.Keyring})
	}
	if o.OpTimeout > 0 {
		opts = append(opts, [2]string{"rados_mon_op_timeout", seconds(o.OpTimeout)},
			[2]string{"rados_osd_op_timeout", seconds(o.OpTimeout)})
	}
	if o.MountTimeout > 0 {
		opts = append(opts, [2]string{"client_mount_timeout", seconds(o.MountTimeout)})
	}
	for _, kv := range opts {
		if err := rc.SetConfigOption(kv[0], kv[1]); err != nil {
			rc.Shutdown()
			return nil, fmt.Errorf("set %s=%s: %w", kv[0], kv[1], err)
		}
	}
	done := make(chan error, 1)
	abandoned := make(chan struct{})
	go func() {
		err := rc.Connect()
		select {
		case <-abandoned:
			rc.Shutdown()
		default:
			done <- err
		}
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		close(abandoned)
		// The goroutine may have finished just before: take its result.
		select {
		case err = <-done:
		default:
			return nil, fmt.Errorf("connect as %s: %w", name, ctx.Err())
		}
	}
	if err != nil {
		rc.Shutdown()
		return nil, fmt.Errorf("connect as %s: %w", name, err)
	}
	fsid, err := rc.GetFSID()
	if err != nil {
		rc.Shutdown()
		return nil, fmt.Errorf("read the fsid: %w", err)
	}
	return &Conn{conn: rc, fsid: fsid, pools: map[string]*pool{}, mdsSlots: make(chan struct{}, maxMDSCalls)}, nil
}

// enter starts a librados call; the caller must call c.mu.RUnlock after
// it when enter returns nil.
func (c *Conn) enter() error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return syscall.ENOTCONN
	}
	return nil
}

// MonCommand sends a command to a monitor.
func (c *Conn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	return c.conn.MonCommandWithInputBuffer(cmd, inbuf)
}

// MonTargetCommand sends a command to the monitor called name.
func (c *Conn) MonTargetCommand(name string, cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	return c.conn.MonCommandTargetWithInputBuffer(name, [][]byte{cmd}, inbuf)
}

// MgrCommand sends a command to the active mgr.
func (c *Conn) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	return c.conn.MgrCommandWithInputBuffer([][]byte{cmd}, inbuf)
}

// OsdCommand sends a command to osd.<osd>.
func (c *Conn) OsdCommand(osd int, cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	return c.conn.OsdCommandWithInputBuffer(osd, [][]byte{cmd}, inbuf)
}

// PGCommand sends a command to the primary OSD of pgid.
func (c *Conn) PGCommand(pgid string, cmd, inbuf []byte) ([]byte, string, error) {
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.mu.RUnlock()
	return c.conn.PGCommandWithInputBuffer([]byte(pgid), [][]byte{cmd}, inbuf)
}

// FSID is the cluster's fsid.
func (c *Conn) FSID() string { return c.fsid }

// Close waits for the calls in flight and shuts the connection down.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.pmu.Lock()
	for _, p := range c.pools {
		p.io.Destroy()
	}
	c.pools = nil
	c.pmu.Unlock()
	if !c.closeFS() {
		return // an MDS call is still in libcephfs: never free under it
	}
	c.conn.Shutdown()
}

// Pool returns an I/O context on the named pool, opened on first use.
func (c *Conn) Pool(name string) (cephconn.Pool, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.mu.RUnlock()
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if p, ok := c.pools[name]; ok {
		return p, nil
	}
	io, err := c.conn.OpenIOContext(name)
	if err != nil {
		return nil, fmt.Errorf("open pool %s: %w", name, err)
	}
	p := &pool{c: c, io: io}
	c.pools[name] = p
	return p, nil
}

// pool is an I/O context.
type pool struct {
	c  *Conn
	io *rados.IOContext
}

var _ cephconn.Pool = (*pool)(nil)

// retErr turns the return values of go-ceph's lock calls (which report
// EBUSY, EEXIST and ENOENT as a return code with a nil error) into an
// error.
func retErr(ret int, err error) error {
	if err != nil {
		return err
	}
	if ret < 0 {
		return syscall.Errno(-ret)
	}
	return nil
}

func (p *pool) LockExclusive(oid, name, cookie, desc string, duration time.Duration, flags cephconn.LockFlags) error {
	if err := p.c.enter(); err != nil {
		return err
	}
	defer p.c.mu.RUnlock()
	f := byte(flags)
	return retErr(p.io.LockExclusive(oid, name, cookie, desc, duration, &f))
}

func (p *pool) Unlock(oid, name, cookie string) error {
	if err := p.c.enter(); err != nil {
		return err
	}
	defer p.c.mu.RUnlock()
	err := retErr(p.io.Unlock(oid, name, cookie))
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return err
}

func (p *pool) LockerCookies(oid, name string) ([]string, error) {
	if err := p.c.enter(); err != nil {
		return nil, err
	}
	defer p.c.mu.RUnlock()
	info, err := p.io.ListLockers(oid, name)
	if err != nil {
		if errors.Is(err, rados.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	var cookies []string
	for _, c := range info.Cookies {
		if c != "" {
			cookies = append(cookies, c)
		}
	}
	return cookies, nil
}

func (p *pool) WriteFull(oid string, data []byte) error {
	if err := p.c.enter(); err != nil {
		return err
	}
	defer p.c.mu.RUnlock()
	return p.io.WriteFull(oid, data)
}

func (p *pool) Read(oid string) ([]byte, error) {
	if err := p.c.enter(); err != nil {
		return nil, err
	}
	defer p.c.mu.RUnlock()
	const chunk = 64 << 10
	var out []byte
	for {
		buf := make([]byte, chunk)
		n, err := p.io.Read(oid, buf, uint64(len(out)))
		if err != nil {
			return nil, err
		}
		out = append(out, buf[:n]...)
		if n < chunk {
			return out, nil
		}
	}
}
