package clusterbackend

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// events records a backend's events.
type events struct {
	mu  sync.Mutex
	evs []backend.Event
}

func (e *events) add(ev backend.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) has(match func(backend.Event) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.ContainsFunc(e.evs, match)
}

func (e *events) reset() {
	e.mu.Lock()
	e.evs = nil
	e.mu.Unlock()
}

func configEvent(key string) func(backend.Event) bool {
	return func(ev backend.Event) bool { return ev.Kind == backend.ConfigChanged && ev.Key == key }
}

func notifyEvent(t module.NotifyType) func(backend.Event) bool {
	return func(ev backend.Event) bool { return ev.Kind == backend.ClusterNotify && ev.Notification.Type == t }
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return nil
}

// newTestBackend opens a backend on f with fast polling.
func newTestBackend(t *testing.T, f *fakeCluster) (*Backend, *events) {
	t.Helper()
	b, err := New(context.Background(), f.conn(), Options{ID: "x", Hostname: "h1", Log: testLog(t),
		PollInterval: 10 * time.Millisecond, KVRefresh: 20 * time.Millisecond, OpTimeout: time.Second, PerfPeriod: -1})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	ev := &events{}
	b.Subscribe(ev.add)
	return b, ev
}

func TestConfigSetKnownOptionAndForceFallback(t *testing.T) {
	f := newFakeCluster()
	f.known["mgr/selftest/rwoption4"] = true
	b, ev := newTestBackend(t, f)
	ctx := context.Background()

	require.NoError(t, b.Config().Set(ctx, "mgr/selftest/rwoption4", "Mars"))
	require.NoError(t, b.Config().Set(ctx, "mgr/hello/place", "Venus"))
	assert.Equal(t, 3, f.count("config set"), "the unknown option is retried with force, the known one is not")

	for key, want := range map[string]string{"mgr/selftest/rwoption4": "Mars", "mgr/hello/place": "Venus"} {
		v, ok := f.configValue("mgr", key)
		assert.True(t, ok, key)
		assert.Equal(t, want, v)
		got, ok := b.Config().Get(key)
		assert.True(t, ok)
		assert.Equal(t, want, got)
		assert.True(t, ev.has(configEvent(key)), "a local write emits ConfigChanged for %s", key)
	}

	require.NoError(t, b.Config().Delete(ctx, "mgr/hello/place"))
	_, ok := b.Config().Get("mgr/hello/place")
	assert.False(t, ok)
	_, ok = f.configValue("mgr", "mgr/hello/place")
	assert.False(t, ok)
}

func TestConfigSetKeepsTheMonitorsError(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	f.hooks["config set"] = func() { f.down = true }
	err := b.Config().Set(context.Background(), "mgr/hello/place", "x")
	require.Error(t, err)
	assert.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err))
	assert.Contains(t, err.Error(), "config set mgr mgr/hello/place")
	res := objectformat.ResultOf(err)
	assert.Equal(t, objectformat.Result{Retval: -int(syscall.ETIMEDOUT), Stderr: "timed out"}, res)
}

func TestConfigChangedOutsideIsSeenAndNotified(t *testing.T) {
	f := newFakeCluster()
	b, ev := newTestBackend(t, f)
	f.setConfig("mgr", "mgr/hello/place", "Mars")
	require.Eventually(t, func() bool { v, _ := b.Config().Get("mgr/hello/place"); return v == "Mars" }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return ev.has(configEvent("mgr/hello/place")) }, 5*time.Second, 5*time.Millisecond)

	ev.reset()
	f.mu.Lock()
	f.config = nil
	f.mu.Unlock()
	require.Eventually(t, func() bool { _, ok := b.Config().Get("mgr/hello/place"); return !ok }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return ev.has(configEvent("mgr/hello/place")) }, 5*time.Second, 5*time.Millisecond,
		"removing a key is a change")
}

func TestConfigPrecedence(t *testing.T) {
	f := newFakeCluster()
	f.mu.Lock()
	f.setConfigLocked("global", "a", "global", "")
	f.setConfigLocked("global", "b", "global", "")
	f.setConfigLocked("mgr", "b", "mgr", "")
	f.setConfigLocked("mgr", "c", "mgr", "")
	f.setConfigLocked("mgr.x", "c", "mgr.x", "")
	f.setConfigLocked("mgr", "c", "mgr@h1", "host:h1") // masked beats unmasked in the same section
	f.setConfigLocked("mgr", "d", "mgr", "")
	f.setConfigLocked("mgr", "d", "other host", "host:h2")
	f.setConfigLocked("mgr.y", "e", "another mgr", "")
	f.setConfigLocked("osd", "f", "osd", "")
	f.mu.Unlock()
	b, _ := newTestBackend(t, f)
	assert.Equal(t, map[string]string{"a": "global", "b": "mgr", "c": "mgr.x", "d": "mgr"}, b.Config().List(""))

	// A local write goes to the mgr section and does not hide mgr.x.
	require.NoError(t, b.Config().Set(context.Background(), "c", "new"))
	v, _ := b.Config().Get("c")
	assert.Equal(t, "mgr.x", v)
	require.NoError(t, b.Config().Set(context.Background(), "b", "new"))
	v, _ = b.Config().Get("b")
	assert.Equal(t, "new", v)

	cfg, err := b.Cluster().Get(context.Background(), "config")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "global", "b": "new", "c": "mgr.x", "d": "mgr"}, cfg)
}

func TestRefreshDoesNotUndoConcurrentLocalWrites(t *testing.T) {
	f := newFakeCluster()
	f.setConfig("mgr", "mgr/m/kept", "old")
	f.kv["mgr/m/k"] = "old"
	b, _ := newTestBackend(t, f)
	require.NoError(t, b.Close()) // no background polling: drive refreshes by hand
	ctx := context.Background()

	// A write made through the daemon while the dump is in flight (the dump
	// was produced before it) must survive the refresh.
	v := "new"
	f.hooks["config dump"] = func() { b.config.local("mgr/m/kept", &v) }
	changed, err := b.config.refresh(ctx)
	require.NoError(t, err)
	assert.Empty(t, changed)
	got, _ := b.config.Get("mgr/m/kept")
	assert.Equal(t, "new", got)
	// The next refresh sees the cluster's value again (here the fake never
	// got the write, so it reverts: the point is the write log is pruned).
	delete(f.hooks, "config dump")
	changed, err = b.config.refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"mgr/m/kept"}, changed)

	f.hooks["config-key dump"] = func() {
		b.kv.mu.Lock()
		b.kv.m["mgr/m/k"] = "new"
		b.kv.m["mgr/m/added"] = "x"
		b.kv.wlog.mark("mgr/m/k")
		b.kv.wlog.mark("mgr/m/added")
		b.kv.mu.Unlock()
	}
	require.NoError(t, b.kv.refresh(ctx))
	assert.Equal(t, map[string]string{"mgr/m/k": "new", "mgr/m/added": "x"}, b.kv.List("mgr/m/"))
}

func TestKVStore(t *testing.T) {
	f := newFakeCluster()
	f.kv["mgr/hello/a"] = "1"
	f.kv["other/key"] = "o"
	b, _ := newTestBackend(t, f)
	ctx := context.Background()
	kv := b.KV()

	v, ok := kv.Get("mgr/hello/a")
	assert.True(t, ok)
	assert.Equal(t, "1", v)
	gets := f.count("config-key get")
	_, _ = kv.Get("mgr/hello/a")
	_, ok = kv.Get("mgr/hello/missing")
	assert.False(t, ok)
	assert.Equal(t, gets, f.count("config-key get"), "mgr/ keys are answered from the cache")

	require.NoError(t, kv.Set(ctx, "mgr/hello/b", "two\nlines\x00and a NUL"))
	assert.Equal(t, "two\nlines\x00and a NUL", f.kv["mgr/hello/b"], "values travel as the input buffer, bytes intact")
	v, _ = kv.Get("mgr/hello/b")
	assert.Equal(t, "two\nlines\x00and a NUL", v)

	f.mu.Lock()
	f.kv["mgr/hello/outside"] = "o"
	f.mu.Unlock()
	require.Eventually(t, func() bool { v, _ := kv.Get("mgr/hello/outside"); return v == "o" }, 5*time.Second, 5*time.Millisecond,
		"keys written from outside appear after a refresh")

	v, ok = kv.Get("other/key")
	assert.True(t, ok)
	assert.Equal(t, "o", v)
	assert.Equal(t, map[string]string{"other/key": "o"}, kv.List("other/"))
	assert.Equal(t, map[string]string{"mgr/hello/a": "1", "mgr/hello/b": "two\nlines\x00and a NUL", "mgr/hello/outside": "o"}, kv.List("mgr/hello/"))

	require.NoError(t, kv.Delete(ctx, "mgr/hello/a"))
	_, ok = kv.Get("mgr/hello/a")
	assert.False(t, ok)
	f.mu.Lock()
	_, ok = f.kv["mgr/hello/a"]
	f.mu.Unlock()
	assert.False(t, ok)
}

func TestGetCachesByEpochAndNotifies(t *testing.T) {
	f := newFakeCluster()
	b, ev := newTestBackend(t, f)
	ctx := context.Background()
	cl := b.Cluster()
	assert.Equal(t, "fake-fsid", cl.FSID())
	assert.True(t, cl.HaveMonConnection())

	m, err := cl.Get(ctx, "osd_map")
	require.NoError(t, err)
	assert.Equal(t, int64(5), m.(map[string]any)["epoch"])
	m.(map[string]any)["epoch"] = "scribbled" // callers get their own copy
	m, err = cl.Get(ctx, "osd_map")
	require.NoError(t, err)
	assert.Equal(t, int64(5), m.(map[string]any)["epoch"])
	assert.Equal(t, 1, f.count("osd dump"), "an unchanged epoch is served from the cache")

	f.mu.Lock()
	f.pools = append(f.pools, "newpool")
	f.osdEpoch++
	f.mu.Unlock()
	require.Eventually(t, func() bool { return ev.has(notifyEvent(module.NotifyOSDMap)) }, 5*time.Second, 5*time.Millisecond)
	m, err = cl.Get(ctx, "osd_map")
	require.NoError(t, err)
	assert.Equal(t, int64(6), m.(map[string]any)["epoch"])
	assert.Contains(t, m.(map[string]any)["pools"], "newpool")
	assert.Equal(t, 2, f.count("osd dump"))
	assert.False(t, ev.has(notifyEvent(module.NotifyMonMap)), "only what changed is notified")

	f.mu.Lock()
	f.health = `{"status":"HEALTH_WARN","checks":{"X":{}},"mutes":[]}`
	f.mu.Unlock()
	require.Eventually(t, func() bool { return ev.has(notifyEvent(module.NotifyHealth)) }, 5*time.Second, 5*time.Millisecond)
	h, err := cl.Get(ctx, "health")
	require.NoError(t, err)
	assert.Equal(t, "HEALTH_WARN", h.(map[string]any)["status"])
}

func TestGetShapes(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	ctx := context.Background()
	cl := b.Cluster()

	md, err := cl.Get(ctx, "osd_metadata")
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1"}, slices.Sorted(func(yield func(string) bool) {
		for k := range md.(map[string]any) {
			if !yield(k) {
				return
			}
		}
	}))

	s, err := cl.Get(ctx, "pg_summary")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"by_osd":       map[string]any{"0": map[string]any{"active+clean": int64(2)}, "1": map[string]any{"active+clean": int64(1), "peering": int64(1)}},
		"by_pool":      map[string]any{"1": map[string]any{"active+clean": int64(1)}, "2": map[string]any{"active+clean": int64(1), "peering": int64(1)}},
		"all":          map[string]any{"active+clean": int64(2), "peering": int64(1)},
		"pg_stats_sum": map[string]any{"num_objects": int64(3)},
	}, s)

	d, err := cl.Get(ctx, "pg_dump")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"pg_stats_sum": map[string]any{"num_objects": int64(3)}, "pg_stats_delta": map[string]any{"x": int64(1)}}, d)

	v, err := cl.Get(ctx, "no_such_thing")
	assert.NoError(t, err)
	assert.Nil(t, v, "unknown names give nil, like Python's get()")
}

func TestMonitorLossServesCachedState(t *testing.T) {
	f := newFakeCluster()
	f.setConfig("mgr", "mgr/hello/place", "Mars")
	f.kv["mgr/hello/k"] = "v"
	f.downDelay = 20 * time.Millisecond
	b, ev := newTestBackend(t, f)
	ctx := context.Background()
	cl := b.Cluster()
	_, err := cl.Get(ctx, "osd_map")
	require.NoError(t, err)

	f.setDown(true)
	connChanged := func() bool { return ev.has(func(e backend.Event) bool { return e.Kind == backend.ConnectionChanged }) }
	require.Eventually(t, func() bool { return !cl.HaveMonConnection() }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, connChanged, 5*time.Second, 5*time.Millisecond)

	m, err := cl.Get(ctx, "osd_map")
	require.NoError(t, err, "the cached map is served")
	assert.Equal(t, int64(5), m.(map[string]any)["epoch"])
	_, err = cl.Get(ctx, "mon_map")
	assert.Equal(t, -int(syscall.ENOTCONN), objectformat.ErrnoOf(err), "a map never fetched cannot be served: %v", err)
	v, _ := b.Config().Get("mgr/hello/place")
	assert.Equal(t, "Mars", v)
	v, _ = b.KV().Get("mgr/hello/k")
	assert.Equal(t, "v", v)
	err = b.KV().Set(ctx, "mgr/hello/k", "w")
	assert.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err), "writes fail with librados' errno: %v", err)
	res := cl.Command(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "status"}, nil)
	assert.Equal(t, -int(syscall.ETIMEDOUT), res.Retval)

	ev.reset()
	f.setDown(false)
	require.Eventually(t, func() bool { return cl.HaveMonConnection() }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, connChanged, 5*time.Second, 5*time.Millisecond)
}

func TestCommandRoutingKeepsErrno(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	ctx := context.Background()
	cl := b.Cluster()
	cmd := map[string]any{"prefix": "version"}

	res := cl.Command(ctx, module.Target{Type: "osd", ID: "0"}, cmd, nil)
	assert.Equal(t, objectformat.Result{Stdout: []byte(`osd.0:{"prefix":"version"}`)}, res)
	res = cl.Command(ctx, module.Target{Type: "osd", ID: "osd.0"}, cmd, nil)
	assert.Equal(t, 0, res.Retval)
	res = cl.Command(ctx, module.Target{Type: "osd", ID: "7"}, cmd, nil)
	assert.Equal(t, -int(syscall.ENXIO), res.Retval)
	res = cl.Command(ctx, module.Target{Type: "osd", ID: "x"}, cmd, nil)
	assert.Equal(t, -int(syscall.EINVAL), res.Retval)
	res = cl.Command(ctx, module.Target{Type: "pg", ID: "1.0"}, cmd, nil)
	assert.Equal(t, `1.0:{"pgid":"1.0","prefix":"version"}`, string(res.Stdout))
	assert.Equal(t, map[string]any{"prefix": "version"}, cmd, "the caller's command is not modified")
	res = cl.Command(ctx, module.Target{Type: "mds", ID: "a"}, cmd, nil)
	assert.Equal(t, -int(syscall.EOPNOTSUPP), res.Retval)

	res = cl.Command(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "nosuch"}, nil)
	assert.Equal(t, objectformat.Result{Retval: -22, Stderr: "command not known"}, res)
	res = cl.Command(ctx, module.Target{Type: "mgr"}, map[string]any{"prefix": "nosuch"}, nil)
	assert.Equal(t, objectformat.Result{Retval: -22, Stderr: "No handler found for 'nosuch'"}, res)

	// librados reports its own mgr timeout as +110; a module may return a
	// positive value on purpose.
	f.mgrReply = func(m map[string]any) ([]byte, string, error) {
		if m["prefix"] == "eval" {
			return nil, "", errno(2)
		}
		return nil, "", errno(110)
	}
	res = cl.Command(ctx, module.Target{Type: "mgr"}, map[string]any{"prefix": "x"}, nil)
	assert.Equal(t, -int(syscall.ETIMEDOUT), res.Retval)
	res = cl.Command(ctx, module.Target{Type: "mgr"}, map[string]any{"prefix": "eval"}, nil)
	assert.Equal(t, 2, res.Retval)

	// A caller's deadline is honoured even if librados is slow.
	f.mgrReply = func(map[string]any) ([]byte, string, error) { time.Sleep(time.Second); return nil, "", nil }
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	res = cl.Command(cctx, module.Target{Type: "mgr"}, cmd, nil)
	assert.Equal(t, -int(syscall.ETIMEDOUT), res.Retval)
	assert.Less(t, time.Since(start), 500*time.Millisecond)
}

func TestNewFailsWithoutMonitors(t *testing.T) {
	f := newFakeCluster()
	f.down = true
	c := f.conn()
	_, err := New(context.Background(), c, Options{ID: "x", OpTimeout: 50 * time.Millisecond})
	require.Error(t, err)
	assert.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err))
	assert.True(t, c.closed, "the connection is closed on failure")
}

func TestErrno(t *testing.T) {
	assert.Equal(t, 0, Errno(nil))
	assert.Equal(t, -int(syscall.ETIMEDOUT), Errno(context.DeadlineExceeded))
	assert.Equal(t, -int(syscall.ECANCELED), Errno(context.Canceled))
	assert.Equal(t, -int(syscall.EBUSY), Errno(errors.Join(errno(-16))))
	assert.Equal(t, -int(syscall.ENOENT), Errno(syscall.ENOENT))
	e := &CommandError{Op: "config set mgr k", Retval: -22, Status: "unrecognized config option 'k'"}
	assert.Equal(t, "config set mgr k: unrecognized config option 'k' (EINVAL)", e.Error())
	assert.Equal(t, -22, objectformat.ErrnoOf(e))
}

func TestEntityName(t *testing.T) {
	assert.Equal(t, "client.admin", EntityName(""))
	assert.Equal(t, "client.gomgr", EntityName("gomgr"))
	assert.Equal(t, "mgr.x", EntityName("mgr.x"))
}

// namedConn is a fakeConn that can also reach one named monitor and an
// MDS (as the librados helper's connection can).
type namedConn struct{ *fakeConn }

func (c namedConn) MonTargetCommand(name string, cmd, _ []byte) ([]byte, string, error) {
	return []byte("mon." + name + ":" + string(cmd)), "", nil
}

func (c namedConn) MDSCommand(spec string, cmd, _ []byte) ([]byte, string, error) {
	if spec != "a" && spec != "0" {
		return nil, "", errno(-int(syscall.ENOENT))
	}
	return []byte("mds." + spec + ":" + string(cmd)), "", nil
}

func TestCommandToANamedMonitorOrMDS(t *testing.T) {
	f := newFakeCluster()
	b, err := New(context.Background(), namedConn{f.conn()}, Options{ID: "x", Hostname: "h1", Log: testLog(t),
		PollInterval: 10 * time.Millisecond, KVRefresh: 20 * time.Millisecond, OpTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	cl := b.Cluster()
	cmd := map[string]any{"prefix": "version"}
	for _, tc := range []struct {
		target module.Target
		want   objectformat.Result
	}{
		{module.Target{Type: "mon", ID: "b"}, objectformat.Result{Stdout: []byte(`mon.b:{"prefix":"version"}`)}},
		{module.Target{Type: "mds", ID: "a"}, objectformat.Result{Stdout: []byte(`mds.a:{"prefix":"version"}`)}},
		{module.Target{Type: "mds", ID: "0"}, objectformat.Result{Stdout: []byte(`mds.0:{"prefix":"version"}`)}},
		{module.Target{Type: "mds", ID: "zz"}, objectformat.Result{Retval: -int(syscall.ENOENT), Stderr: "no MDS daemon found by name, rank or GID 'zz'"}},
		{module.Target{Type: "mds"}, objectformat.Result{Retval: -int(syscall.ENOENT), Stderr: "an mds command needs an MDS name, rank or GID"}},
	} {
		assert.Equal(t, tc.want, cl.Command(ctx, tc.target, cmd, nil), "%+v", tc.target)
	}

	// Without monitors they fail at once (libcephfs and a told monitor
	// would wait for the monitors).
	f.setDown(true)
	require.Eventually(t, func() bool { return !cl.HaveMonConnection() }, 5*time.Second, 10*time.Millisecond)
	for _, target := range []module.Target{{Type: "mon", ID: "b"}, {Type: "mds", ID: "a"}} {
		res := cl.Command(ctx, target, cmd, nil)
		assert.Equal(t, -int(syscall.ENOTCONN), res.Retval, "%+v", target)
		assert.Contains(t, res.Stderr, "no monitor connection")
	}
}
