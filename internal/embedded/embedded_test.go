package embedded

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

func TestStoreAndReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	ctx := context.Background()
	var events []backend.Event
	var mu sync.Mutex
	b.Subscribe(func(ev backend.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() })
	require.NoError(t, b.Config().Set(ctx, "mgr/hello/place", "Mars"))
	require.NoError(t, b.KV().Set(ctx, "mgr/hello/k", "v"))
	require.NoError(t, b.KV().Set(ctx, "other", "x"))
	require.NoError(t, b.Config().Delete(ctx, "mgr/hello/nosuch"), "deleting a missing key is fine")
	require.Error(t, b.KV().Set(ctx, "", "x"))
	v, ok := b.Config().Get("mgr/hello/place")
	require.True(t, ok)
	require.Equal(t, "Mars", v)
	require.Equal(t, map[string]string{"mgr/hello/k": "v"}, b.KV().List("mgr/"))
	mu.Lock()
	require.Equal(t, []backend.Event{{Kind: backend.ConfigChanged, Key: "mgr/hello/place"}}, events, "config writes notify; KV writes and no-op deletes do not")
	mu.Unlock()
	fsid := b.Cluster().FSID()
	require.Len(t, fsid, 36)

	// A second open of a database in use fails clearly.
	_, err = Open(dir, Options{Timeout: 50 * time.Millisecond})
	require.ErrorContains(t, err, "in use by another process")
	require.NoError(t, b.Close())

	b2, err := Open(dir, Options{})
	require.NoError(t, err)
	defer b2.Close()
	v, _ = b2.Config().Get("mgr/hello/place")
	require.Equal(t, "Mars", v, "durable across reopen")
	require.Equal(t, fsid, b2.Cluster().FSID(), "the cluster id is kept")
	require.NoError(t, b2.KV().Delete(ctx, "mgr/hello/k"))
	_, ok = b2.KV().Get("mgr/hello/k")
	require.False(t, ok)
}

func TestEmbeddedCluster(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	c := b.Cluster()
	require.False(t, c.HaveMonConnection())
	for _, name := range []string{"osd_map", "mon_map", "fs_map", "df", "pg_summary", "mon_status"} {
		v, err := c.Get(ctx, name)
		require.NoError(t, err)
		require.Equal(t, true, v.(map[string]any)["gomgr_embedded"], "%s is marked as embedded", name)
	}
	v, err := c.Get(ctx, "__OBJ_DNE__")
	require.NoError(t, err)
	require.Nil(t, v)

	mon := module.Target{Type: "mon"}
	res := c.Command(ctx, mon, map[string]any{"prefix": "config-key set", "key": "a", "val": "b"}, nil)
	require.Zero(t, res.Retval)
	res = c.Command(ctx, mon, map[string]any{"prefix": "config-key get", "key": "a"}, nil)
	require.Equal(t, "b", string(res.Stdout))
	res = c.Command(ctx, mon, map[string]any{"prefix": "config-key set", "key": "c"}, []byte("from inbuf"))
	require.Zero(t, res.Retval)
	res = c.Command(ctx, mon, map[string]any{"prefix": "config-key get", "key": "c"}, nil)
	require.Equal(t, "from inbuf", string(res.Stdout))
	res = c.Command(ctx, mon, map[string]any{"prefix": "config-key exists", "key": "nope"}, nil)
	require.Equal(t, -int(syscall.ENOENT), res.Retval)
	res = c.Command(ctx, mon, map[string]any{"prefix": "config-key ls"}, nil)
	require.Equal(t, "[\n    \"a\",\n    \"c\"\n]", string(res.Stdout))
	res = c.Command(ctx, mon, map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/x/y", "value": "1"}, nil)
	require.Zero(t, res.Retval)
	res = c.Command(ctx, mon, map[string]any{"prefix": "config get", "who": "mgr", "key": "mgr/x/y"}, nil)
	require.Equal(t, "1\n", string(res.Stdout))
	res = c.Command(ctx, mon, map[string]any{"prefix": "osd dump"}, nil)
	require.Equal(t, -int(syscall.ENOTCONN), res.Retval)
	require.Contains(t, res.Stderr, "no monitor connection: 'osd dump' for mon needs a Ceph cluster")
	res = c.Command(ctx, module.Target{Type: "osd", ID: "1"}, map[string]any{"prefix": "perf dump"}, nil)
	require.Contains(t, res.Stderr, "for osd.1")
}
