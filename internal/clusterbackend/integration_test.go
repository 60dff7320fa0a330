package clusterbackend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/jsonval"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/internal/testutil"
	_ "github.com/gomgr/gomgr/modules/notes"    // for TestClusterNotes, in modhost.Default()
	_ "github.com/gomgr/gomgr/modules/selftest" // for TestClusterSelfTestRun, in modhost.Default()
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// testModule is a module that records what the backend tells it.
type testModule struct {
	h *module.Handle

	mu            sync.Mutex
	notifications []module.Notification
	configNotify  int
}

func (m *testModule) Init(h *module.Handle) error {
	m.h = h
	return nil
}

func (m *testModule) Notify(_ context.Context, n module.Notification) {
	m.mu.Lock()
	m.notifications = append(m.notifications, n)
	m.mu.Unlock()
}

func (m *testModule) ConfigNotify(context.Context) {
	m.mu.Lock()
	m.configNotify++
	m.mu.Unlock()
}

func (m *testModule) notified(t module.NotifyType) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.notifications {
		if x.Type == t {
			n++
		}
	}
	return n
}

type whereArgs struct {
	clicommand.Read `prefix:"gomgrtest where" desc:"Where are we"`
}

// testModules returns a registry with two test modules: "selftest" with
// options the real Pacific mgr reports (so the monitors know them), and
// "gomgrtest", which no real mgr has. made receives the instances.
func testModules(made map[string]*testModule, mu *sync.Mutex) *modhost.Registry {
	reg := modhost.NewRegistry()
	newMod := func(name string) func() module.Module {
		return func() module.Module {
			m := &testModule{}
			mu.Lock()
			made[name] = m // the last one made is the running instance
			mu.Unlock()
			if name == "gomgrtest" {
				return &gomgrtestModule{m}
			}
			return m
		}
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(reg.Register(module.Info{Name: "selftest", New: newMod("selftest"),
		Options:     []module.Option{{Name: "rwoption4", Type: module.Str}, {Name: "testkey", Type: module.Str}},
		NotifyTypes: []module.NotifyType{module.NotifyOSDMap, module.NotifyMonMap, module.NotifyHealth, module.NotifyPGSummary}}))
	must(reg.Register(module.Info{Name: "gomgrtest", New: newMod("gomgrtest"),
		Options: []module.Option{{Name: "place", Type: module.Str, Default: "world", Runtime: true}}}))
	return reg
}

// gomgrtestModule is a testModule with the "gomgrtest where" command.
type gomgrtestModule struct{ *testModule }

func (g *gomgrtestModule) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(context.Context, *whereArgs) objectformat.Result {
		place, err := g.h.StringOption("place")
		if err != nil {
			return objectformat.ResultOf(err)
		}
		return objectformat.OK(fmt.Sprintf("place=%s mon=%v", place, g.h.HaveMonConnection()))
	})}
}

// attacher returns an Attacher for the test cluster.
func (c *testCluster) attacher(o clusterbackend.AttachOptions) *clusterbackend.Attacher {
	o.Conf, o.Name, o.Keyring = c.conf, "client.admin", c.keyring
	return clusterbackend.NewAttacher(o, radosproc.Dial)
}

// env is a module manager attached to the test cluster.
type env struct {
	c       *testCluster
	backend backend.Backend
	mgr     *modhost.Manager
	mods    map[string]*testModule
	modsMu  sync.Mutex
}

func (e *env) mod(name string) *testModule {
	e.modsMu.Lock()
	defer e.modsMu.Unlock()
	return e.mods[name]
}

// startEnv attaches a module manager (mgr id "gt") with the test modules
// enabled to the cluster.
func startEnv(t *testing.T, c *testCluster) *env {
	t.Helper()
	e := &env{c: c, mods: map[string]*testModule{}}
	log := slog.New(slog.NewTextHandler(newLogBuffer(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	b, _, err := c.attacher(clusterbackend.AttachOptions{}).Open(ctx, "gt", log)
	require.NoError(t, err)
	e.backend = b
	t.Cleanup(func() { b.Close() })
	m, err := modhost.NewManager(modhost.Config{MgrID: "gt", Registry: testModules(e.mods, &e.modsMu), Backend: b, Log: log, LogWriter: logWriter{log}})
	require.NoError(t, err)
	require.NoError(t, m.Start(ctx))
	t.Cleanup(m.Close)
	for _, name := range []string{"selftest", "gomgrtest"} {
		_, err := m.Enable(ctx, name, false)
		require.NoError(t, err)
	}
	e.mgr = m
	return e
}

// logWriter sends module log lines to a logger.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

const eventually = 20 * time.Second

func TestClusterOptionsBothWays(t *testing.T) {
	c := needCluster(t)
	e := startEnv(t, c)
	ctx := context.Background()
	st := e.mod("selftest")

	// An option the real mgr knows: plain `ceph config set` reaches the
	// module at run time, with a config notification.
	c.mustCeph(t, "config", "set", "mgr", "mgr/selftest/rwoption4", "Mars")
	t.Cleanup(func() { c.ceph(t, "config", "rm", "mgr", "mgr/selftest/rwoption4") })
	require.Eventually(t, func() bool { v, _ := st.h.StringOption("rwoption4"); return v == "Mars" }, eventually, 50*time.Millisecond)
	require.Eventually(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.configNotify > 0 }, eventually, 50*time.Millisecond)

	// ... and the other way round.
	require.NoError(t, st.h.SetOption(ctx, "rwoption4", "Venus"))
	assert.Equal(t, "Venus\n", c.mustCeph(t, "config", "get", "mgr", "mgr/selftest/rwoption4"))
	require.NoError(t, st.h.SetLocalizedOption(ctx, "testkey", "local"))
	t.Cleanup(func() { c.ceph(t, "config", "rm", "mgr", "mgr/selftest/gt/testkey") })
	assert.Equal(t, "local\n", c.mustCeph(t, "config", "get", "mgr", "mgr/selftest/gt/testkey"))
	v, err := st.h.LocalizedOption("testkey")
	require.NoError(t, err)
	assert.Equal(t, "local", v)

	// An option of a gomgr-only module: Pacific refuses plain `config set`
	// (no mgr reported it) and accepts it with --force; the module's own
	// writes use the same fallback and show in `config dump`.
	g := e.mod("gomgrtest")
	_, stderr, rc := c.ceph(t, "config", "set", "mgr", "mgr/gomgrtest/place", "Mars")
	assert.Equal(t, int(syscall.EINVAL), rc)
	assert.Contains(t, stderr, "unrecognized config option 'mgr/gomgrtest/place'")
	c.mustCeph(t, "config", "set", "mgr", "mgr/gomgrtest/place", "Mars", "--force")
	t.Cleanup(func() { c.ceph(t, "config", "rm", "mgr", "mgr/gomgrtest/place") })
	require.Eventually(t, func() bool { v, _ := g.h.StringOption("place"); return v == "Mars" }, eventually, 50*time.Millisecond)

	require.NoError(t, g.h.SetOption(ctx, "place", "Jupiter"))
	var dump []map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.mustCeph(t, "config", "dump", "-f", "json")), &dump))
	assert.Contains(t, dump, map[string]any{"section": "mgr", "name": "mgr/gomgrtest/place", "value": "Jupiter",
		"level": "unknown", "can_update_at_runtime": false, "mask": ""})
	assert.Contains(t, c.mustCeph(t, "config", "get", "mgr"), "mgr/gomgrtest/place")
	assert.Equal(t, "Jupiter", c.mustCeph(t, "config-key", "get", "config/mgr/mgr/gomgrtest/place"))
	_, stderr, rc = c.ceph(t, "config", "get", "mgr", "mgr/gomgrtest/place")
	assert.Equal(t, int(syscall.ENOENT), rc, "Pacific's config get only knows options a mgr reported: %s", stderr)

	c.mustCeph(t, "config", "rm", "mgr", "mgr/gomgrtest/place")
	require.Eventually(t, func() bool { v, _ := g.h.StringOption("place"); return v == "world" }, eventually, 50*time.Millisecond,
		"config rm brings the default back")
}

func TestClusterKVStoreIsConfigKey(t *testing.T) {
	c := needCluster(t)
	e := startEnv(t, c)
	ctx := context.Background()
	g := e.mod("gomgrtest")

	require.NoError(t, g.h.SetStore(ctx, "greeting", "hello\nworld"))
	t.Cleanup(func() { c.ceph(t, "config-key", "rm", "mgr/gomgrtest/greeting") })
	assert.Equal(t, "hello\nworld", c.mustCeph(t, "config-key", "get", "mgr/gomgrtest/greeting"))
	require.NoError(t, g.h.SetLocalizedStore(ctx, "where", "here"))
	t.Cleanup(func() { c.ceph(t, "config-key", "rm", "mgr/gomgrtest/gt/where") })
	assert.Equal(t, "here", c.mustCeph(t, "config-key", "get", "mgr/gomgrtest/gt/where"))

	// The enabled module list is gomgr's own key under mgr/.
	assert.Contains(t, c.mustCeph(t, "config-key", "get", "mgr/.gomgr/enabled_modules"), "gomgrtest")

	// Keys written from outside are picked up by the periodic refresh.
	c.mustCeph(t, "config-key", "set", "mgr/gomgrtest/outside", "from the CLI")
	t.Cleanup(func() { c.ceph(t, "config-key", "rm", "mgr/gomgrtest/outside") })
	require.Eventually(t, func() bool { v, _ := g.h.Store("outside"); return v == "from the CLI" }, eventually, 100*time.Millisecond)
	assert.Equal(t, map[string]string{"greeting": "hello\nworld", "gt/where": "here", "outside": "from the CLI"}, g.h.StorePrefix(""))

	require.NoError(t, g.h.DeleteStore(ctx, "greeting"))
	_, stderr, rc := c.ceph(t, "config-key", "get", "mgr/gomgrtest/greeting")
	assert.Equal(t, int(syscall.ENOENT), rc, stderr)
}

// decode parses JSON.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := jsonval.DecodeObject([]byte(s)) // Python's number types, as Get
	require.NoError(t, err, s)
	return v
}

func TestClusterGetMatchesTheCLI(t *testing.T) {
	c := needCluster(t)
	e := startEnv(t, c)
	ctx := context.Background()
	h := e.mod("selftest").h
	require.True(t, h.HaveMonConnection())

	// Get may lag the monitors by one poll: retry until both saw the
	// same epoch.
	var got, want map[string]any
	deadline := time.Now().Add(eventually)
	for {
		v, err := h.Get(ctx, "osd_map")
		require.NoError(t, err)
		got = v.(map[string]any)
		want = decode(t, c.mustCeph(t, "osd", "dump", "-f", "json"))
		if got["epoch"] == want["epoch"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, k := range []string{"epoch", "fsid", "osds", "pools"} {
		assert.Equal(t, want[k], got[k], k)
	}
	assert.Equal(t, want["fsid"], e.backend.Cluster().FSID())

	mon, err := h.Get(ctx, "mon_map")
	require.NoError(t, err)
	monDump := decode(t, c.mustCeph(t, "mon", "dump", "-f", "json"))
	assert.Equal(t, monDump["mons"], mon.(map[string]any)["mons"])
	assert.NotNil(t, monDump["quorum"])
	assert.NotContains(t, mon, "quorum", "the mgr's mon map has no quorum member (the CLI's mon dump adds it)")
	md, err := h.Get(ctx, "osd_metadata")
	require.NoError(t, err)
	assert.Equal(t, "pacific", md.(map[string]any)["0"].(map[string]any)["ceph_release"])
	assert.NotContains(t, md.(map[string]any)["0"], "id", "Python's osd_metadata entries have the id as their key only")
	for _, name := range []string{"fs_map", "mgr_map", "health", "df", "pg_summary", "pg_status", "mon_status", "osd_stats", "osd_map_tree", "osd_map_crush", "io_rate"} {
		v, err := h.Get(ctx, name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, v, name)
	}
	mgrMap, _ := h.Get(ctx, "mgr_map")
	assert.Equal(t, "x", mgrMap.(map[string]any)["active_name"], "mgr_map is the real cluster's")
	cfg, err := h.Get(ctx, "config")
	require.NoError(t, err)
	// Python's show_config: every Ceph option of this daemon as text.
	assert.Equal(t, "5", cfg.(map[string]any)["mgr_stats_period"])
	assert.Equal(t, "mgr.gt", cfg.(map[string]any)["name"])
	require.Eventually(t, func() bool { // PG stats reach the mgr a little after start
		pg, err := h.Get(ctx, "pg_summary")
		by, _ := pg.(map[string]any)["by_osd"].(map[string]any)
		return err == nil && by["0"] != nil
	}, eventually, 200*time.Millisecond)
	v, err := h.Get(ctx, "no_such_map")
	assert.NoError(t, err)
	assert.Nil(t, v)

	// Commands keep the cluster's errno and status text.
	res := h.MonCommand(ctx, map[string]any{"prefix": "config-key get", "key": "no/such/key"}, nil)
	assert.Equal(t, -int(syscall.ENOENT), res.Retval)
	res = e.backend.Cluster().Command(ctx, module.Target{Type: "mgr"}, map[string]any{"prefix": "mgr self-test nosuch"}, nil)
	assert.Equal(t, objectformat.Result{Retval: -int(syscall.EINVAL), Stderr: "No handler found for 'mgr self-test nosuch'"}, res)
	res = e.backend.Cluster().Command(ctx, module.Target{Type: "osd", ID: "0"}, map[string]any{"prefix": "version", "format": "json"}, nil)
	require.Equal(t, 0, res.Retval, res.Stderr)
	assert.Equal(t, "pacific", decode(t, string(res.Stdout))["release"])
	res = e.backend.Cluster().Command(ctx, module.Target{Type: "pg", ID: "1.0"}, map[string]any{"prefix": "query", "format": "json"}, nil)
	require.Equal(t, 0, res.Retval, res.Stderr)
	assert.Equal(t, "1.0", decode(t, string(res.Stdout))["info"].(map[string]any)["pgid"])
}

func TestClusterPoolCreateNotifiesOSDMap(t *testing.T) {
	c := needCluster(t)
	e := startEnv(t, c)
	ctx := context.Background()
	st := e.mod("selftest")
	before, err := st.h.Get(ctx, "osd_map")
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond) // let a poll settle on the current epoch
	n := st.notified(module.NotifyOSDMap)

	const pool = "gomgr-notify-test"
	c.mustCeph(t, "osd", "pool", "create", pool, "1", "1")
	t.Cleanup(func() { c.ceph(t, "osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it") })
	require.Eventually(t, func() bool { return st.notified(module.NotifyOSDMap) > n }, eventually, 50*time.Millisecond,
		"creating a pool fires osd_map")
	after, err := st.h.Get(ctx, "osd_map")
	require.NoError(t, err)
	assert.Greater(t, after.(map[string]any)["epoch"], before.(map[string]any)["epoch"])
	var names []any
	for _, p := range after.(map[string]any)["pools"].([]any) {
		names = append(names, p.(map[string]any)["pool_name"])
	}
	assert.Contains(t, names, pool)
	assert.Equal(t, 0, e.mod("gomgrtest").notified(module.NotifyOSDMap), "modules that did not ask get nothing")
}

// daemonProc is a ceph-mgr binary started by a test.
type daemonProc struct {
	id   string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

func TestClusterFailoverThroughTheRADOSLock(t *testing.T) {
	c := needCluster(t)
	const pool = ".gomgr-failover-test"
	t.Cleanup(func() { c.ceph(t, "osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it") })

	t.Run("clean exit hands over at once", func(t *testing.T) {
		type running struct {
			cancel context.CancelFunc
			done   chan error
			d      chan *daemon.Daemon
		}
		logs := newLogBuffer(t)
		start := func(id string) *running {
			ctx, cancel := context.WithCancel(context.Background())
			r := &running{cancel: cancel, done: make(chan error, 1), d: make(chan *daemon.Daemon, 1)}
			dir := testutil.ShortTempDir(t)
			a := c.attacher(clusterbackend.AttachOptions{Election: clusterbackend.ElectionOptions{Pool: pool}})
			go func() {
				r.done <- daemon.Run(ctx, daemon.Options{ID: id, DataDir: dir, Log: logs, Registry: modhost.NewRegistry(),
					Cluster: a, Ready: func(d *daemon.Daemon) { r.d <- d }})
			}()
			t.Cleanup(func() { cancel(); <-r.done })
			return r
		}
		a := start("fa")
		da := <-a.d
		require.Eventually(t, func() bool { return da.Role() == daemon.RoleActive }, eventually, 50*time.Millisecond)
		b := start("fb")
		db := <-b.d
		time.Sleep(2 * time.Second)
		assert.Equal(t, daemon.RoleStandby, db.Role(), "one active daemon at a time")

		begin := time.Now()
		a.cancel()
		require.NoError(t, <-a.done)
		a.done <- nil // for the cleanup
		require.Eventually(t, func() bool { return db.Role() == daemon.RoleActive }, eventually, 20*time.Millisecond)
		took := time.Since(begin)
		t.Logf("clean handover took %s", took)
		assert.Less(t, took, 5*time.Second)
	})

	t.Run("killed active expires", func(t *testing.T) {
		bin := buildBinary(t, "./cmd/ceph-mgr")
		start := func(id string) *daemonProc {
			dir := testutil.ShortTempDir(t)
			p := &daemonProc{id: id}
			p.cmd = exec.Command(bin, "-i", id, "-c", c.conf, "--keyring", c.keyring, "--lock-pool", pool,
				"--data", filepath.Join(dir, "data"), "--run-dir", dir)
			p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
			require.NoError(t, p.cmd.Start())
			t.Cleanup(func() {
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
				if t.Failed() {
					t.Logf("mgr.%s output:\n%s", id, p.logs.String())
				}
			})
			return p
		}
		// An observer reads the published active daemon like a standby.
		obs, err := radosproc.Dial(context.Background(), clusterbackend.DialOptions{Conf: c.conf, Keyring: c.keyring, OpTimeout: 5 * time.Second})
		require.NoError(t, err)
		t.Cleanup(obs.Close)
		election := clusterbackend.NewElection(obs, "observer", clusterbackend.ElectionOptions{Pool: pool})
		// slowest is the longest a read of the active daemon took: a
		// cluster that stalls (an overloaded host) stalls the active's
		// renewals too, and its lock then expires sooner after the kill.
		var slowest atomic.Int64 // nanoseconds (Eventually calls active on goroutines of its own)
		active := func() string {
			start := time.Now()
			info, err := election.Active()
			for took := int64(time.Since(start)); ; {
				if old := slowest.Load(); took <= old || slowest.CompareAndSwap(old, took) {
					break
				}
			}
			if err != nil {
				return ""
			}
			return info.ID
		}

		procs := map[string]*daemonProc{"ka": start("ka"), "kb": start("kb")}
		require.Eventually(t, func() bool { return active() != "" }, eventually, 100*time.Millisecond, "one daemon becomes active")
		first := active()
		info, err := election.Active()
		require.NoError(t, err)
		assert.Equal(t, procs[first].cmd.Process.Pid, info.PID)
		other := "ka"
		if first == "ka" {
			other = "kb"
		}

		stalled := time.Duration(slowest.Load())
		begin := time.Now()
		require.NoError(t, procs[first].cmd.Process.Signal(syscall.SIGKILL))
		require.Eventually(t, func() bool { return active() == other }, 30*time.Second, 100*time.Millisecond,
			"the standby takes over once the dead daemon's lock expires")
		took := time.Since(begin)
		t.Logf("takeover after kill -9 took %s (lock duration 10s)", took)
		assert.Less(t, took, 15*time.Second)
		if stalled > 2*time.Second {
			t.Logf("a read of the active daemon took %s before the kill: its renewals may have stalled too, so no lower bound", stalled)
		} else {
			assert.Greater(t, took, 3*time.Second, "a killed daemon's lock is not released early")
		}
	})

	t.Run("a second daemon with the same id is refused", func(t *testing.T) {
		bin := buildBinary(t, "./cmd/ceph-mgr")
		run := func(id string) (*exec.Cmd, *testutil.SyncBuffer) {
			dir := testutil.ShortTempDir(t) // another data directory each
			cmd := exec.Command(bin, "-i", id, "-c", c.conf, "--keyring", c.keyring, "--lock-pool", pool,
				"--data", filepath.Join(dir, "data"), "--run-dir", dir)
			out := &testutil.SyncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			return cmd, out
		}
		first, firstOut := run("dup")
		require.Eventually(t, func() bool { return strings.Contains(firstOut.String(), "took the id lock") },
			eventually, 100*time.Millisecond, "the first daemon claims its id")
		second, secondOut := run("dup")
		done := make(chan error, 1)
		go func() { done <- second.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "the second daemon exits non-zero: %s", secondOut.String())
			assert.Contains(t, secondOut.String(), "mgr.dup is already running attached to this cluster")
		case <-time.After(40 * time.Second):
			t.Fatalf("the second mgr.dup still runs after 40s:\n%s", secondOut.String())
		}
		assert.Nil(t, first.ProcessState, "the first daemon runs on: %s", firstOut.String())
	})
}

func TestMgrctlMatchesTheCephCLI(t *testing.T) {
	c := needCluster(t)
	if _, err := os.Stat(filepath.Join(repoRoot(), "cmd", "mgrctl")); err != nil {
		t.Skip("cmd/mgrctl does not exist yet")
	}
	bin := buildBinary(t, "./cmd/mgrctl")
	run := func(name string, args ...string) (string, string, int) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "CEPH_CONF="+c.conf, "CEPH_KEYRING="+c.keyring)
		r := testutil.Run(t, cmd)
		return r.Stdout, r.Stderr, r.Code
	}
	for _, args := range [][]string{
		{"mgr", "module", "ls"},
		{"-f", "json", "mgr", "module", "ls"},
		{"balancer", "status"},
		{"-f", "json", "balancer", "status"},
		{"-f", "json-pretty", "balancer", "status"},
		{"balancer", "mode", "bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var mOut, mErr, cOut, cErr string
			var mRC, cRC int
			for range 3 { // balancer status has timestamps that may move between the calls
				mOut, mErr, mRC = run(bin, append([]string{"-c", c.conf, "--keyring", c.keyring}, args...)...)
				cOut, cErr, cRC = run("ceph", args...)
				if mOut == cOut { // byte for byte, the blank line before JSON included
					break
				}
			}
			assert.Equal(t, cOut, mOut, "stdout")
			assert.Equal(t, cRC, mRC, "exit status")
			assert.Equal(t, cErr, mErr, "stderr")
			if cRC == 0 {
				assert.NotEmpty(t, mOut)
			}
		})
	}
}

// TestMgrctlReplOnTheRealMgr drives a real Python eval command (gomgrpy,
// loaded into the test cluster's ceph-mgr from testdata) with
// `mgrctl repl -c`: continuation lines, state kept between submissions,
// and the completion protocol.
func TestMgrctlReplOnTheRealMgr(t *testing.T) {
	c := needCluster(t)
	bin := buildBinary(t, "./cmd/mgrctl")
	ceph := func(args ...string) (string, error) {
		cmd := exec.Command("ceph", append([]string{"-c", c.conf, "--keyring", c.keyring}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ceph("mgr", "module", "enable", "gomgrpy"); err != nil {
		t.Fatalf("enable gomgrpy: %v %s", err, out)
	}
	// Enabling a module restarts the real mgr; wait for the command.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := ceph("mgr", "gomgrpy", "eval", "1")
		if err == nil && strings.TrimSpace(out) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the real mgr never answered mgr gomgrpy eval: %v %s", err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	mgrctl := func(stdin string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"-c", c.conf, "--keyring", c.keyring}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		r := testutil.Run(t, cmd)
		return r.Stdout, r.Stderr, r.Code
	}
	src := "x = 40\ndef f():\n    return x + 2\n\nprint(f())\n1 + 1\n"
	out, errOut, rc := mgrctl(src, "repl", "--prefix", "mgr gomgrpy eval")
	require.Zero(t, rc, errOut)
	require.Equal(t, "42\n2\n", out)
	out, errOut, rc = mgrctl("print(x)\n", "repl", "--prefix", "mgr gomgrpy eval")
	require.Zero(t, rc, errOut)
	require.Equal(t, "40\n", out, "the interpreter keeps its state between sessions")
	out, errOut, rc = mgrctl("", "mgr", "gomgrpy", "eval", "--complete", "pri")
	require.Zero(t, rc, errOut)
	require.Equal(t, "print\n", out)
}

// TestClusterSelfTestRun runs `mgr self-test run` through the real ceph
// CLI on a daemon attached to the cluster: every check of the run
// (metadata, daemon status, perf counters and list_servers of the
// cluster's mon, OSD and mgr, the config and config-key stores, ...) must
// hold there too.
func TestClusterSelfTestRun(t *testing.T) {
	c := needCluster(t)
	asok := startDaemon(t, c, "st")
	_, stderr, rc := asok("mgr", "module", "enable", "selftest")
	require.Zero(t, rc, stderr)
	out, stderr, rc := asok("mgr", "self-test", "run")
	require.Zero(t, rc, "mgr self-test run attached to the cluster:\n%s%s", out, stderr)
	assert.Equal(t, "Self-test succeeded\n", out+stderr)
	assert.Contains(t, strings.Fields(c.mustCeph(t, "osd", "pool", "ls")), "gomgr-selftest", "the rados section ran on the cluster")

	// The run's cluster log entry (audit, INF) is in the real cluster log.
	require.Eventually(t, func() bool {
		out, _, _ := c.ceph(t, "log", "last", "200", "-f", "json")
		return strings.Contains(out, `"message":"[audit INF] mgr self-test run: cluster log check"`)
	}, eventually, 100*time.Millisecond, "ceph log last shows the attached module's entry")
}

// startDaemon runs a daemon (id) attached to the cluster with the
// built-in modules, in this process, until the test ends, and returns a
// function that runs the ceph CLI on its admin socket.
func startDaemon(t *testing.T, c *testCluster, id string) func(args ...string) (string, string, int) {
	t.Helper()
	logs := newLogBuffer(t)
	dir := testutil.ShortTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *daemon.Daemon, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{ID: id, DataDir: filepath.Join(dir, "data"), RunDir: dir, Log: logs,
			Registry: modhost.Default(), Cluster: c.attacher(clusterbackend.AttachOptions{}), Ready: func(d *daemon.Daemon) { ready <- d }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	var d *daemon.Daemon
	select {
	case d = <-ready:
	case err := <-done:
		t.Fatalf("the daemon exited: %v", err)
	}
	require.Eventually(t, func() bool { return d.Role() == daemon.RoleActive }, eventually, 20*time.Millisecond)
	return func(args ...string) (string, string, int) {
		return c.ceph(t, append([]string{"--admin-daemon", d.AsokPath()}, args...)...)
	}
}

// TestClusterMonitorLoss runs last: it stops and restarts the monitor.
func TestClusterMonitorLoss(t *testing.T) {
	c := needCluster(t)
	e := startEnv(t, c)
	ctx := context.Background()
	g := e.mod("gomgrtest")
	cl := e.backend.Cluster()
	var connEvents sync.Map
	e.backend.Subscribe(func(ev backend.Event) {
		if ev.Kind == backend.ConnectionChanged {
			connEvents.Store(cl.HaveMonConnection(), true)
		}
	})
	require.NoError(t, g.h.SetOption(ctx, "place", "Mars"))
	t.Cleanup(func() { c.ceph(t, "config", "rm", "mgr", "mgr/gomgrtest/place") })
	require.NoError(t, g.h.SetStore(ctx, "k", "v"))
	t.Cleanup(func() { c.ceph(t, "config-key", "rm", "mgr/gomgrtest/k") })
	before, err := g.h.Get(ctx, "osd_map")
	require.NoError(t, err)
	require.True(t, g.h.HaveMonConnection())

	begin := time.Now()
	c.script(t, "kill-mon")
	t.Cleanup(func() { c.script(t, "start-mon") }) // idempotent; keeps the cluster usable if this test fails
	require.Eventually(t, func() bool { return !g.h.HaveMonConnection() }, eventually, 50*time.Millisecond)
	t.Logf("have_mon_connection false after %s", time.Since(begin).Round(10*time.Millisecond))
	_, ok := connEvents.Load(false)
	assert.True(t, ok, "ConnectionChanged when the connection went")

	// The module keeps serving its cached state.
	res := e.mgr.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "gomgrtest where"}})
	assert.Equal(t, objectformat.OK("place=Mars mon=false"), res)
	cached, err := g.h.Get(ctx, "osd_map")
	require.NoError(t, err)
	assert.Equal(t, before.(map[string]any)["epoch"], cached.(map[string]any)["epoch"])
	v, _ := g.h.Store("k")
	assert.Equal(t, "v", v)
	mgrMap, err := g.h.Get(ctx, "mgr_map")
	require.NoError(t, err, "mgr_map comes from the daemon itself while the monitors are gone")
	assert.Equal(t, "gt", mgrMap.(map[string]any)["active_name"])

	// Writes fail with librados' errno, after the short op timeout.
	wstart := time.Now()
	err = g.h.SetStore(ctx, "k", "w")
	require.Error(t, err)
	assert.Contains(t, []int{-int(syscall.ETIMEDOUT), -int(syscall.ENOTCONN)}, objectformat.ErrnoOf(err), err.Error())
	assert.Less(t, time.Since(wstart), 2*clusterbackend.DefaultOpTimeout)
	res = g.h.MonCommand(ctx, map[string]any{"prefix": "status"}, nil)
	assert.Equal(t, -int(syscall.ETIMEDOUT), res.Retval, res.Stderr)

	// Disabling a module cannot be saved: it reports the error and the
	// module stays enabled and running (and the same for enabling).
	_, err = e.mgr.Disable(ctx, "gomgrtest")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "module 'gomgrtest' is still enabled")
	assert.Contains(t, []int{-int(syscall.ETIMEDOUT), -int(syscall.ENOTCONN)}, objectformat.ErrnoOf(err), err.Error())
	running, _ := e.mgr.Running("gomgrtest")
	assert.True(t, running, "a disable that was not saved leaves the module running")
	assert.Contains(t, e.mgr.List().Enabled, "gomgrtest")
	res = e.mgr.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "gomgrtest where"}})
	assert.Equal(t, objectformat.OK("place=Mars mon=false"), res)

	begin = time.Now()
	c.script(t, "start-mon")
	require.Eventually(t, g.h.HaveMonConnection, 60*time.Second, 100*time.Millisecond)
	t.Logf("have_mon_connection true again %s after start-mon", time.Since(begin).Round(10*time.Millisecond))
	_, ok = connEvents.Load(true)
	assert.True(t, ok, "ConnectionChanged when the connection came back")
	require.NoError(t, g.h.SetStore(ctx, "k", "w"))
	assert.Equal(t, "w", c.mustCeph(t, "config-key", "get", "mgr/gomgrtest/k"))
	res = e.mgr.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: map[string]any{"prefix": "gomgrtest where"}})
	assert.Equal(t, objectformat.OK("place=Mars mon=true"), res)

	// After the recovery the monitors' copy of the enabled list agrees
	// with the running modules, and the disable now works.
	require.Eventually(t, func() bool {
		out, _, rc := c.ceph(t, "config-key", "get", "mgr/.gomgr/enabled_modules")
		var names []string
		return rc == 0 && json.Unmarshal([]byte(out), &names) == nil && slices.Contains(names, "gomgrtest") && slices.Contains(names, "selftest")
	}, eventually, 200*time.Millisecond)
	_, err = e.mgr.Disable(ctx, "gomgrtest")
	require.NoError(t, err)
	running, _ = e.mgr.Running("gomgrtest")
	assert.False(t, running)
	assert.NotContains(t, c.mustCeph(t, "config-key", "get", "mgr/.gomgr/enabled_modules"), "gomgrtest")
}
