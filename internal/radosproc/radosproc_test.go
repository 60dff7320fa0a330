package radosproc

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/stretchr/testify/require"
)

// fakeConn is a cephconn.Conn answering from memory.
type fakeConn struct {
	mu      sync.Mutex
	objects map[string][]byte
	closed  bool
}

func (f *fakeConn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	if string(cmd) == "slow" {
		time.Sleep(200 * time.Millisecond)
	}
	if string(cmd) == "hang" {
		select {} // a call that never returns, as an MDS command can
	}
	if string(cmd) == "fail" {
		return nil, "no such thing", &Error{Code: -int(syscall.ENOENT), Msg: "rados: ret=-2"}
	}
	return append([]byte("mon:"), append(cmd, inbuf...)...), "st", nil
}
func (f *fakeConn) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	if string(cmd) == "incomplete" {
		return nil, "", &Error{Code: 2, Msg: "rados: ret=2"}
	}
	return append([]byte("mgr:"), cmd...), "", nil
}
func (f *fakeConn) OsdCommand(osd int, cmd, inbuf []byte) ([]byte, string, error) {
	return []byte{byte(osd)}, "", nil
}
func (f *fakeConn) PGCommand(pgid string, cmd, inbuf []byte) ([]byte, string, error) {
	return []byte(pgid), "", nil
}
func (f *fakeConn) MonTargetCommand(name string, cmd, inbuf []byte) ([]byte, string, error) {
	return []byte("mon." + name + ":" + string(cmd)), "", nil
}
func (f *fakeConn) MDSCommand(spec string, cmd, inbuf []byte) ([]byte, string, error) {
	if spec == "nosuch" {
		return nil, "mds nosuch not found", &Error{Code: -int(syscall.ENOENT), Msg: "cephfs: ret=-2"}
	}
	return []byte("mds." + spec + ":" + string(cmd) + string(inbuf)), "", nil
}
func (f *fakeConn) FSID() string { return "fsid-1" }
func (f *fakeConn) Pool(name string) (cephconn.Pool, error) {
	if name == "nopool" {
		return nil, &Error{Code: -int(syscall.ENOENT), Msg: "no pool"}
	}
	return fakePool{f}, nil
}
func (f *fakeConn) Close() { f.mu.Lock(); f.closed = true; f.mu.Unlock() }

type fakePool struct{ f *fakeConn }

func (p fakePool) LockExclusive(oid, name, cookie, desc string, d time.Duration, fl cephconn.LockFlags) error {
	if cookie == "busy" {
		return &Error{Code: -int(syscall.EBUSY), Msg: "busy"}
	}
	return nil
}
func (p fakePool) Unlock(oid, name, cookie string) error            { return nil }
func (p fakePool) LockerCookies(oid, name string) ([]string, error) { return []string{"c1", "c2"}, nil }
func (p fakePool) WriteFull(oid string, data []byte) error {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	p.f.objects[oid] = data
	return nil
}
func (p fakePool) Read(oid string) ([]byte, error) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	if d, ok := p.f.objects[oid]; ok {
		return d, nil
	}
	return nil, &Error{Code: -int(syscall.ENOENT), Msg: "no object"}
}

// pipeConn connects a client Conn to Serve in this process (the helper's
// loop), through pipes instead of a child process.
func pipeConn(t *testing.T, fake *fakeConn, dialErr error) (*Conn, chan error, error) {
	if dialErr != nil {
		return pipeConnDial(t, fake, dialErr)
	}
	return pipeConnWith(t, fake)
}

// pipeConnWith is pipeConn serving any cephconn.Conn.
func pipeConnWith(t *testing.T, conn cephconn.Conn) (*Conn, chan error, error) {
	return pipeConnDial(t, conn, nil)
}

func pipeConnDial(t *testing.T, fake cephconn.Conn, dialErr error) (*Conn, chan error, error) {
	cr, sw := io.Pipe() // helper → client
	sr, cw := io.Pipe() // client → helper
	served := make(chan error, 1)
	go func() {
		served <- Serve(sr, sw, func(context.Context, cephconn.DialOptions) (cephconn.Conn, error) {
			if dialErr != nil {
				return nil, dialErr
			}
			return fake, nil
		})
		sw.Close()
	}()
	c := &Conn{in: cw, pending: map[uint64]chan reply{}, done: make(chan struct{})}
	go c.readLoop(cr)
	rep, err := c.roundTrip(context.Background(), request{Op: "dial", Dial: &cephconn.DialOptions{Conf: "x"}})
	if err == nil && rep.Errno != 0 {
		err = &Error{Code: rep.Errno, Msg: rep.Err}
	}
	c.fsid = rep.FSID
	t.Cleanup(func() { cw.Close() })
	return c, served, err
}

func TestProtocol(t *testing.T) {
	fake := &fakeConn{objects: map[string][]byte{}}
	c, served, err := pipeConn(t, fake, nil)
	require.NoError(t, err)
	require.Equal(t, "fsid-1", c.FSID())

	out, st, err := c.MonCommand([]byte(`{"prefix":"x"}`), []byte("in"))
	require.NoError(t, err)
	require.Equal(t, `mon:{"prefix":"x"}in`, string(out))
	require.Equal(t, "st", st)
	out, _, err = c.MgrCommand([]byte("m"), nil)
	require.NoError(t, err)
	require.Equal(t, "mgr:m", string(out))
	out, _, _ = c.OsdCommand(7, nil, nil)
	require.Equal(t, []byte{7}, out)
	out, _, _ = c.PGCommand("1.1a", nil, nil)
	require.Equal(t, "1.1a", string(out))
	out, _, err = c.MonTargetCommand("b", []byte("s"), nil)
	require.NoError(t, err)
	require.Equal(t, "mon.b:s", string(out))
	out, _, err = c.MDSCommand("a", []byte("s"), []byte("+in"))
	require.NoError(t, err)
	require.Equal(t, "mds.a:s+in", string(out))
	_, st, err = c.MDSCommand("nosuch", []byte("s"), nil)
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	require.Equal(t, "mds nosuch not found", st)

	_, st, err = c.MonCommand([]byte("fail"), nil)
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err), "the errno crosses the pipe")
	require.Equal(t, "no such thing", st)

	_, _, err = c.MgrCommand([]byte("incomplete"), nil)
	var coded interface{ ErrorCode() int }
	require.ErrorAs(t, err, &coded)
	require.Equal(t, 2, coded.ErrorCode(), "a positive return value keeps its sign")

	p, _ := c.Pool("p")
	require.NoError(t, p.WriteFull("o", []byte{0, 1, 2}))
	data, err := p.Read("o")
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2}, data)
	_, err = p.Read("missing")
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	require.Equal(t, -int(syscall.EBUSY), objectformat.ErrnoOf(p.LockExclusive("o", "l", "busy", "", time.Second, cephconn.LockMustRenew)))
	require.NoError(t, p.LockExclusive("o", "l", "me", "", time.Second, 0))
	cookies, err := p.LockerCookies("o", "l")
	require.NoError(t, err)
	require.Equal(t, []string{"c1", "c2"}, cookies)
	np, _ := c.Pool("nopool")
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(np.Unlock("o", "l", "c")))

	// Calls run concurrently in the helper: a slow one does not hold up
	// the others.
	slowDone := make(chan struct{})
	go func() { _, _, _ = c.MonCommand([]byte("slow"), nil); close(slowDone) }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	_, _, err = c.MgrCommand([]byte("quick"), nil)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 150*time.Millisecond)
	<-slowDone

	// The helper going away fails later calls with -ENOTCONN.
	c.in.Close()
	require.NoError(t, <-served)
	require.Eventually(t, func() bool {
		_, _, err := c.MonCommand([]byte("x"), nil)
		return objectformat.ErrnoOf(err) == -int(syscall.ENOTCONN)
	}, 2*time.Second, 10*time.Millisecond)
	fake.mu.Lock()
	require.True(t, fake.closed, "the helper closes its connection")
	fake.mu.Unlock()
}

// plainConn is a cephconn.Conn with none of the optional interfaces.
type plainConn struct{ cephconn.Conn }

// A helper whose connection cannot reach one monitor or an MDS says so
// with -EOPNOTSUPP.
func TestOptionalTargetsUnsupported(t *testing.T) {
	rep := call(plainConn{&fakeConn{}}, request{ID: 1, Op: "mds", Name: "a", Cmd: []byte("x")})
	require.Equal(t, -int(syscall.EOPNOTSUPP), rep.Errno)
	require.Contains(t, rep.Err, "cannot send a command to an MDS")
	rep = call(plainConn{&fakeConn{}}, request{ID: 2, Op: "mon_target", Name: "a", Cmd: []byte("x")})
	require.Equal(t, -int(syscall.EOPNOTSUPP), rep.Errno)
}

// A call stuck in the library does not keep the helper alive once its
// input has ended.
func TestServeReturnsDespiteAStuckCall(t *testing.T) {
	old := serveDrain
	serveDrain = 100 * time.Millisecond
	t.Cleanup(func() { serveDrain = old })
	c, served, err := pipeConn(t, &fakeConn{objects: map[string][]byte{}}, nil)
	require.NoError(t, err)
	go func() { _, _, _ = c.MonCommand([]byte("hang"), nil) }()
	time.Sleep(20 * time.Millisecond)
	c.in.Close()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve waited for a call that never returns")
	}
}

func TestDialFailure(t *testing.T) {
	_, served, err := pipeConn(t, &fakeConn{}, &Error{Code: -int(syscall.ETIMEDOUT), Msg: "connect: timed out"})
	require.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err))
	require.EqualError(t, err, "connect: timed out")
	require.Error(t, <-served)
}

func TestHelperPath(t *testing.T) {
	t.Setenv(HelperEnv, "/x/gomgr-rados")
	p, err := HelperPath()
	require.NoError(t, err)
	require.Equal(t, "/x/gomgr-rados", p)
	t.Setenv(HelperEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err = HelperPath()
	if err != nil {
		require.ErrorContains(t, err, "gomgr-rados (the librados helper) is neither next to this program nor in $PATH")
	}
	_, err = DialHelper(context.Background(), "/nonexistent/gomgr-rados", cephconn.DialOptions{})
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.ENOENT) || err != nil)
}
