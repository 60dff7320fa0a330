package bridge

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// fakeRados is a librados connection on an embedded object store.
type fakeRados struct {
	cephconn.Conn // the commands: not used
	s             objstore.Store
	closed        chan struct{}
}

func (f *fakeRados) ObjectOp(op objstore.Op) (objstore.Result, error) {
	return f.s.Objects(context.Background(), op)
}
func (f *fakeRados) Addrs() (string, error) { return "127.0.0.1:0/77", nil }
func (f *fakeRados) Close()                 { close(f.closed) }

// radosUser is a module whose Init hands its handle to the test.
type radosUser struct{ got chan *module.Handle }

func (r radosUser) Init(h *module.Handle) error { r.got <- h; return nil }

// TestBridgedRados: a module's Handle.Rados inside the real mgr dials
// with the identity the shim reports, registers the client with the mgr,
// reads pool stats from the mgr's df, and closes (unregistered) with the
// process; a dial that fails is not retried at once.
func TestBridgedRados(t *testing.T) {
	defer func(d time.Duration) { radosRetry = d }(radosRetry)
	radosRetry = 300 * time.Millisecond
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	store, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	defer store.Close()
	got := make(chan *module.Handle, 1)
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "rader", New: func() module.Module { return radosUser{got} }}))

	var mu sync.Mutex
	var dialed []cephconn.DialOptions
	failDial := true
	conn := &fakeRados{s: store.Objects(), closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: testWriter{t}, Idle: time.Hour,
			Dial: func(_ context.Context, o cephconn.DialOptions) (cephconn.Conn, error) {
				mu.Lock()
				defer mu.Unlock()
				dialed = append(dialed, o)
				if failDial {
					return nil, &objstore.Error{Kind: objstore.ListPools, Code: -int(syscall.ETIMEDOUT), Msg: "no monitors"}
				}
				return conn, nil
			}})
	}()
	shim := dialShim(t, ctx, dir)
	require.NoError(t, shim.p.call(ctx, "hello", hello{Module: "rader", GoName: "rader", MgrID: "x"}, nil))
	h := <-got
	rados := h.Rados()

	_, err = rados.ListPools(ctx)
	require.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err), "%v", err)
	_, err = rados.ListPools(ctx)
	require.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err))
	mu.Lock()
	require.Len(t, dialed, 1, "a failed dial is not retried at once")
	assert.Equal(t, cephconn.DialOptions{Name: "mgr.x", Config: map[string]string{"mon_host": "[v2:127.0.0.1:1]", "keyring": "/k"},
		OpTimeout: 10 * time.Second, MountTimeout: 10 * time.Second}, dialed[0], "the real mgr's identity, no ceph.conf")
	failDial = false
	mu.Unlock()
	time.Sleep(radosRetry) // then the next call dials again

	require.NoError(t, rados.CreatePool(ctx, "p"))
	io := rados.IOContext("p")
	require.NoError(t, io.WriteFull(ctx, "o", []byte("data")))
	data, err := io.Read(ctx, "o", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, "data", string(data))
	shim.mu.Lock()
	assert.Equal(t, "127.0.0.1:0/77", shim.store["register_client"], "the client is registered with the mgr")
	shim.mu.Unlock()

	st, err := rados.PoolStats(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, module.RadosPoolStats{Bytes: 2048, KB: 2, Objects: 3}, st, "from the mgr's df, not the store")
	_, err = rados.PoolStats(ctx, "q")
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))

	cancel()
	require.NoError(t, <-done)
	select {
	case <-conn.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the librados connection was not closed")
	}
}
