package selftest

import (
	"context"
	"github.com/gomgr/gomgr/internal/objstore"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
)

func TestCommandDescriptors(t *testing.T) {
	want := map[string]string{
		"mgr self-test run":                  "mgr self-test run  rw",
		"mgr self-test background start":     "mgr self-test background start name=workload,strings=command_spam|throw_exception|shutdown,type=CephChoices rw",
		"mgr self-test background stop":      "mgr self-test background stop  rw",
		"mgr self-test config get":           "mgr self-test config get name=key,type=CephString rw",
		"mgr self-test config get_localized": "mgr self-test config get_localized name=key,type=CephString rw",
		"mgr self-test remote":               "mgr self-test remote  rw",
		"mgr self-test module":               "mgr self-test module name=module,type=CephString rw",
		"mgr self-test health set":           "mgr self-test health set name=checks,type=CephString rw",
		"mgr self-test health clear":         "mgr self-test health clear name=checks,req=false,n=N,type=CephString rw",
		"mgr self-test command throw":        "mgr self-test command throw  rw",
		"mgr self-test cluster-log":          "mgr self-test cluster-log name=channel,type=CephString name=priority,strings=info|security|warning|error,type=CephChoices name=message,type=CephString rw",
		"mgr self-test inbuf":                "mgr self-test inbuf  r",
		"mgr self-test eval":                 "mgr self-test eval name=s,req=false,type=CephString name=complete,req=false,positional=false,type=CephString w",
	}
	got := map[string]string{}
	for _, c := range newModule().Commands() {
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
		got[c.Prefix()] = c.Spec().CmdString() + " " + c.Spec().Perm
	}
	if !maps.Equal(got, want) {
		for p, g := range got {
			if want[p] != g {
				t.Errorf("%s:\n got %q\nwant %q", p, g, want[p])
			}
		}
		if len(got) != len(want) {
			t.Errorf("got %d commands, want %d", len(got), len(want))
		}
	}
}

func TestRunSucceedsTwiceAndCleansUp(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	// Values the run must put back.
	setConfig(t, b, "mgr/selftest/testkey", "kept")
	setConfig(t, b, "mgr/selftest/x/rwoption6", "false")
	e.cmd("mgr self-test health set", "checks", `{"KEEP_ME": {"severity": "warning", "summary": "keep"}}`)
	if err := b.KV().Set(context.Background(), "mgr/selftest/testkey", "kv kept"); err != nil {
		t.Fatal(err)
	}
	configBefore := b.Config().List("")
	kvBefore := b.KV().List("")
	for i := range 2 {
		res := e.cmd("mgr self-test run")
		e.want(res, 0, "", "Self-test succeeded")
		if res.Retval != 0 {
			t.Fatalf("run %d failed:\n%s", i, res.Stderr)
		}
	}
	if got := b.Config().List(""); !maps.Equal(got, configBefore) {
		t.Errorf("config after run = %v, want %v", got, configBefore)
	}
	if got := b.KV().List(""); !maps.Equal(got, kvBefore) {
		t.Errorf("KV after run = %v, want %v", got, kvBefore)
	}
	h := e.m.Health()
	if _, ok := h.Checks["KEEP_ME"]; !ok || len(h.Checks) != 1 {
		t.Errorf("health after run = %v, want only KEEP_ME", h.Checks)
	}
	if uri := e.m.Services()[Name]; uri != "" {
		t.Errorf("URI left behind: %q", uri)
	}
}

func TestRunOnEmbeddedBackend(t *testing.T) {
	b, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := newEnv(t, b)
	res := e.cmd("mgr self-test run")
	e.want(res, 0, "", "Self-test succeeded")
	// The rados section ran on the embedded object store: its pool is
	// there, its objects are gone.
	st, err := objstore.Do(context.Background(), b.Objects(), objstore.Op{Kind: objstore.PoolStat, Pool: radosPool})
	if err != nil || st.Stats.Objects != 0 {
		t.Errorf("pool %s after the run: %+v, %v; want it, empty", radosPool, st.Stats, err)
	}
}

func TestRunReportsEveryFailure(t *testing.T) {
	e := newEnv(t, nil, func(c *modhost.Config) { c.DaemonInfo = nil })
	res := e.cmd("mgr self-test run")
	if res.Retval != -int(syscall.EINVAL) || len(res.Stdout) != 0 {
		t.Fatalf("got %s, want -EINVAL", res)
	}
	// Without daemon info the metadata, server and counter checks fail,
	// and each is listed.
	mustContain(t, "stderr", res.Stderr, "Self-test failed:", "check(s) failed",
		"daemons: get_metadata(mgr, x) is None", `get_perf_schema(mgr, x) = map[], want {"mgr.x": {counter path: ...}}`)
	if n := strings.Count(res.Stderr, "\n  - "); n < 2 {
		t.Errorf("want every failure listed, got %d:\n%s", n, res.Stderr)
	}
	// A failed run still cleans up and can run again.
	if res2 := e.cmd("mgr self-test run"); res2.Stderr != res.Stderr {
		t.Errorf("second run differs:\n%s\nvs\n%s", res2.Stderr, res.Stderr)
	}
}

func TestRunIsExclusive(t *testing.T) {
	e := newEnv(t, nil)
	e.mod.runMu.Lock()
	res := e.cmd("mgr self-test run")
	e.mod.runMu.Unlock()
	e.want(res, -int(syscall.EBUSY), "", "a self-test run is already in progress")
}

func TestConfigGet(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	e.want(e.cmd("mgr self-test config get", "key", "testkey"), 0, "None", "")
	e.want(e.cmd("mgr self-test config get", "key", "roption2"), 0, "xyz", "")
	e.want(e.cmd("mgr self-test config get", "key", "rwoption6"), 0, "True", "")
	e.want(e.cmd("mgr self-test config get", "key", "rwoption5"), 0, "None", "")
	setConfig(t, b, "mgr/selftest/testkey", "testvalue")
	setConfig(t, b, "mgr/selftest/rwoption3", "1")
	setConfig(t, b, "mgr/selftest/rwoption2", "10K")
	setConfig(t, b, "mgr/selftest/rwoption5", "false")
	e.want(e.cmd("mgr self-test config get", "key", "testkey"), 0, "testvalue", "")
	e.want(e.cmd("mgr self-test config get", "key", "rwoption3"), 0, "1.0", "")
	e.want(e.cmd("mgr self-test config get", "key", "rwoption2"), 0, "10000", "")
	setConfig(t, b, "mgr/selftest/rwoption2", "0x10") // Ceph refuses it; stored anyway, it reads as unset
	e.want(e.cmd("mgr self-test config get", "key", "rwoption2"), 0, "None", "")
	e.want(e.cmd("mgr self-test config get", "key", "rwoption5"), 0, "False", "")
	e.want(e.cmd("mgr self-test config get", "key", "eval_timeout"), 0, "5.0", "")

	e.want(e.cmd("mgr self-test config get_localized", "key", "testlkey"), 0, "None", "")
	setConfig(t, b, "mgr/selftest/testlkey", "global")
	e.want(e.cmd("mgr self-test config get_localized", "key", "testlkey"), 0, "global", "")
	setConfig(t, b, "mgr/selftest/x/testlkey", "test localized value")
	e.want(e.cmd("mgr self-test config get_localized", "key", "testlkey"), 0, "test localized value", "")
	e.want(e.cmd("mgr self-test config get", "key", "testlkey"), 0, "global", "")

	e.want(e.cmd("mgr self-test config get", "key", "nope"), -int(syscall.ENOENT), "",
		"config option 'nope' is not declared by module selftest")
}

func TestHealthSetClear(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.cmd("mgr self-test health set", "checks",
		`{"A": {"severity": "warning", "summary": "a", "detail": ["d1"]}, "B": {"severity": "error", "summary": "b", "count": 5}}`), 0, "", "")
	h := e.m.Health()
	if h.Status != health.Err || h.Checks["A"].Summary.Count != 1 || h.Checks["B"].Summary.Count != 5 ||
		len(h.Checks["A"].Detail) != 1 || h.Checks["A"].Detail[0].Message != "d1" {
		t.Fatalf("health = %+v", h)
	}
	// Checks accumulate.
	e.want(e.cmd("mgr self-test health set", "checks", `{"C": {"severity": "warning", "summary": "c"}}`), 0, "", "")
	if n := len(e.m.Health().Checks); n != 3 {
		t.Fatalf("want 3 checks, got %v", e.m.Health().Checks)
	}
	e.want(e.cmd("mgr self-test health clear", "checks", []any{"A", "nosuch"}), 0, "", "")
	if _, ok := e.m.Health().Checks["A"]; ok || len(e.m.Health().Checks) != 2 {
		t.Fatalf("after clearing A: %v", e.m.Health().Checks)
	}
	e.want(e.cmd("mgr self-test health clear"), 0, "", "")
	if h := e.m.Health(); h.Status != health.OK || len(h.Checks) != 0 {
		t.Fatalf("after clear: %+v", h)
	}

	einval := -int(syscall.EINVAL)
	for _, c := range []struct{ in, msg string }{
		{`{not json`, "Failed to decode JSON input: invalid character 'n' looking for beginning of object key string"},
		{`[1]`, "Failed to decode JSON input: "},
		{`null`, "Invalid health check format: want a JSON object mapping check names to checks"},
		{`{"X": 3}`, "Invalid health check format: check 'X': json: cannot unmarshal number"},
		{`{"X": {"summary": "s"}}`, "Invalid health check format: check 'X': missing severity"},
		{`{"X": {"severity": "warning"}}`, "Invalid health check format: check 'X': missing summary"},
		{`{"X": {"severity": "info", "summary": "s"}}`, `Invalid health check format: check 'X': severity "info" is not "warning" or "error"`},
		{`{"X": {"severity": "warning", "summary": "s", "colour": 1}}`, `Invalid health check format: check 'X': json: unknown field "colour"`},
		{`{"X": {"severity": "warning", "summary": "s", "count": "many"}}`, "Invalid health check format: check 'X': json: cannot unmarshal string"},
		{`{"": {"severity": "warning", "summary": "s"}}`, "Invalid health check format: check '': empty check name"},
	} {
		res := e.cmd("mgr self-test health set", "checks", c.in)
		if res.Retval != einval || !strings.HasPrefix(res.Stderr, c.msg) {
			t.Errorf("health set %s: got %s, want -EINVAL %q", c.in, res, c.msg)
		}
	}
	if len(e.m.Health().Checks) != 0 {
		t.Errorf("a refused health set changed health: %v", e.m.Health().Checks)
	}
}

func TestBackgroundWorkloads(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.cmd("mgr self-test background stop"), 0, "", "No background workload was running")
	e.want(e.cmd("mgr self-test background start", "workload", "command_spam"), 0, "", "Running `command_spam` in background")
	waitFor(t, "command_spam to send commands", func() bool { return e.mod.spamSent.Load() >= 3 })
	waitFor(t, "command notifications", func() bool { return e.mod.notes.count(module.NotifyCommand) >= 3 })
	e.want(e.cmd("mgr self-test background stop"), 0, "", "Stopping background workload `command_spam`")
	n := e.mod.spamSent.Load()
	time.Sleep(50 * time.Millisecond)
	if m := e.mod.spamSent.Load(); m > n+1 {
		t.Errorf("command_spam kept sending after stop: %d → %d", n, m)
	}
	res := e.cmd("mgr self-test background start", "workload", "bogus")
	if res.Retval != -int(syscall.EINVAL) {
		t.Errorf("bogus workload: %s", res)
	}

	// shutdown makes serve return; the module keeps answering commands.
	e.want(e.cmd("mgr self-test background start", "workload", "shutdown"), 0, "", "Running `shutdown` in background")
	time.Sleep(20 * time.Millisecond)
	if running, failure := e.m.Running(Name); !running || failure != "" {
		t.Errorf("after the shutdown workload: running=%v failure=%q", running, failure)
	}
	e.want(e.eval("1 + 1"), 0, "2\n", "")
}

func TestThrowExceptionFailsOnlyTheModule(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.m.Enable(ctx, "hello", false); err != nil {
		t.Fatal(err)
	}
	e.want(e.cmd("mgr self-test background start", "workload", "throw_exception"), 0, "", "Running `throw_exception` in background")
	waitFor(t, "the module to fail", func() bool { _, f := e.m.Running(Name); return f != "" })
	h := e.m.Health()
	c, ok := h.Checks["MGR_MODULE_ERROR"]
	if !ok || h.Status != health.Err || c.Summary.Message != "Module 'selftest' has failed: Synthetic exception in serve" {
		t.Fatalf("health = %+v", h)
	}
	e.want(e.cmd("mgr self-test run"), -int(syscall.EIO), "",
		"Module 'selftest' has experienced an error and cannot handle commands: Synthetic exception in serve")
	e.want(e.cmd("hello"), 0, "Hello world!", "")
	if _, err := e.m.Disable(ctx, Name); err != nil {
		t.Fatal(err)
	}
	if h := e.m.Health(); h.Status != health.OK {
		t.Errorf("health after disable = %+v", h)
	}
}

func TestCommandThrow(t *testing.T) {
	e := newEnv(t, nil)
	res := e.cmd("mgr self-test command throw")
	if res.Retval != -int(syscall.EINVAL) || !strings.Contains(res.Stderr, "Synthetic exception in command handler") ||
		!strings.Contains(res.Stderr, "goroutine") {
		t.Fatalf("got %s", res)
	}
	e.want(e.eval("40 + 2"), 0, "42\n", "")
}

func TestFailureInjection(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	ctx := context.Background()

	// notify panics; the module and the runtime keep going.
	setConfig(t, b, "mgr/selftest/notify_throw", "true")
	waitFor(t, "notify_throw", func() bool { v, _ := e.mod.h.BoolOption("notify_throw"); return v })
	b.Emit(backend.Event{Kind: backend.ClusterNotify, Notification: module.Notification{Type: module.NotifyOSDMap}})
	b.Emit(backend.Event{Kind: backend.ClusterNotify, Notification: module.Notification{Type: module.NotifyOSDMap}})
	waitFor(t, "two osd_map notifications", func() bool { return e.mod.notes.count(module.NotifyOSDMap) == 2 })
	waitFor(t, "the notify panic in the log", func() bool { return strings.Contains(e.log.String(), "notify panicked") })
	if running, failure := e.m.Running(Name); !running || failure != "" {
		t.Errorf("after notify panics: running=%v failure=%q", running, failure)
	}
	e.want(e.eval("1"), 0, "1\n", "")

	// config_notify panics.
	setConfig(t, b, "mgr/selftest/config_notify_throw", "true")
	setConfig(t, b, "mgr/selftest/testkey", "changed")
	waitFor(t, "the config_notify panic in the log", func() bool {
		return strings.Contains(e.log.String(), "Synthetic exception in config_notify")
	})
	e.want(e.cmd("mgr self-test config get", "key", "testkey"), 0, "changed", "")

	// shutdown fails; disable still completes.
	setConfig(t, b, "mgr/selftest/shutdown_throw", "true")
	waitFor(t, "shutdown_throw", func() bool { v, _ := e.mod.h.BoolOption("shutdown_throw"); return v })
	start := time.Now()
	if _, err := e.m.Disable(ctx, Name); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("disable took %s", d)
	}
	mustContain(t, "log", e.log.String(), "synthetic exception in shutdown")
	if running, _ := e.m.Running(Name); running {
		t.Error("still running after disable")
	}
}

func TestModuleSelfTest(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.cmd("mgr self-test module", "module", "hello"), -int(syscall.ENOENT), "",
		"Module 'hello' is not enabled or does not exist (enable it with `ceph mgr module enable hello`)")
	if _, err := e.m.Enable(context.Background(), "hello", false); err != nil {
		t.Fatal(err)
	}
	e.want(e.cmd("mgr self-test module", "module", "hello"), 0, "Hello world!", "Self-test OK")
	e.want(e.cmd("mgr self-test module", "module", "selftest"), 0, "selftest is healthy", "Self-test OK")
	e.want(e.cmd("mgr self-test remote"), 0, "", "Successfully called")
}

func TestModuleSelfTestCalleeErrors(t *testing.T) {
	reg := modhost.NewRegistry()
	info, _ := modhost.Default().Lookup(Name)
	if err := reg.Register(info); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		fn   module.RemoteFunc
	}{
		{"busy", module.Export(func(context.Context, struct{}) (any, error) { return nil, syscall.EBUSY })},
		{"plain", module.Export(func(context.Context, struct{}) (any, error) { return nil, errPlain })},
		{"dict", module.Export(func(context.Context, struct{}) (any, error) {
			return map[string]any{"ok": true, "n": 1, "s": "it's"}, nil
		})},
	} {
		if err := reg.Register(module.Info{Name: m.name, New: func() module.Module { return exporter{"self_test": m.fn} }}); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Register(module.Info{Name: "nothing", New: func() module.Module { return exporter{} }}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *modhost.Config) { c.Registry = reg })
	for _, n := range []string{"busy", "plain", "dict", "nothing"} {
		if _, err := e.m.Enable(context.Background(), n, false); err != nil {
			t.Fatal(err)
		}
	}
	e.want(e.cmd("mgr self-test module", "module", "busy"), -int(syscall.EBUSY), "", "Test failed: device or resource busy")
	e.want(e.cmd("mgr self-test module", "module", "plain"), -int(syscall.EINVAL), "", "Test failed: plain failure")
	e.want(e.cmd("mgr self-test module", "module", "dict"), 0, `{'n': 1, 'ok': True, 's': "it's"}`, "Self-test OK")
	e.want(e.cmd("mgr self-test module", "module", "nothing"), -int(syscall.ENOSYS), "",
		"Test failed: module 'nothing' exports no self_test method")
}

type plainErr string

func (e plainErr) Error() string { return string(e) }

const errPlain = plainErr("plain failure")

type exporter map[string]module.RemoteFunc

func (x exporter) Exports() map[string]module.RemoteFunc { return x }

func TestStandby(t *testing.T) {
	b := backend.NewMemoryBackend()
	ctx := context.Background()
	if err := b.KV().Set(ctx, "mgr/.gomgr/enabled_modules", `["selftest"]`); err != nil {
		t.Fatal(err)
	}
	setConfig(t, b, "mgr/selftest/standby_shutdown_hang", "true")
	old := standbyTick
	standbyTick = 10 * time.Millisecond
	t.Cleanup(func() { standbyTick = old })
	var uri atomicString
	uri.set("http://active:1234/")
	e := newEnv(t, b, func(c *modhost.Config) {
		c.Standby = true
		c.ShutdownTimeout = 300 * time.Millisecond
		c.ActiveURI = func(module string) string { return map[string]string{Name: uri.get()}[module] }
	})
	if running, failure := e.m.Running(Name); !running || failure != "" {
		t.Fatalf("standby selftest: running=%v failure=%q", running, failure)
	}
	waitFor(t, "the active URI in the log", func() bool { return strings.Contains(e.log.String(), "active_uri=http://active:1234/") })
	uri.set("http://other:1/")
	waitFor(t, "the new active URI in the log", func() bool { return strings.Contains(e.log.String(), "active_uri=http://other:1/") })
	start := time.Now()
	e.m.Close()
	d := time.Since(start)
	if d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("close with a hanging standby shutdown took %s, want about the 300ms deadline", d)
	}
	mustContain(t, "log", e.log.String(), "hanging in shutdown")
}

func TestStandbyShutdownWithoutHang(t *testing.T) {
	b := backend.NewMemoryBackend()
	if err := b.KV().Set(context.Background(), "mgr/.gomgr/enabled_modules", `["selftest"]`); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, b, func(c *modhost.Config) { c.Standby = true; c.ShutdownTimeout = 5 * time.Second })
	start := time.Now()
	e.m.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("close took %s", d)
	}
}

func TestClusterLog(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.cmd("mgr self-test cluster-log", "channel", "audit", "priority", "warning", "message", "hi there"), 0, "", "Successfully called")
	res := e.cmd("mgr self-test cluster-log", "channel", "audit", "priority", "loud", "message", "x")
	if res.Retval != -int(syscall.EINVAL) {
		t.Errorf("bad priority: %s", res)
	}
}

func TestPyStr(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "None"}, {true, "True"}, {false, "False"}, {int64(-3), "-3"}, {1.5, "1.5"}, {1.0, "1.0"},
		{1e16, "1e+16"}, {1e-5, "1e-05"}, {1000000.0, "1000000.0"}, {"a'b", "a'b"},
		{[]any{"a'b", `q"`, "x\ny"}, `["a'b", 'q"', 'x\ny']`},
		{map[string]any{"b": []any{}, "a": nil}, "{'a': None, 'b': []}"},
	} {
		if got := pyStr(c.in); got != c.want {
			t.Errorf("pyStr(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, nil)
	res := e.call("r", nil, map[string]any{"prefix": "mgr self-test eval", "s": "1"})
	if res.Retval != -int(syscall.EACCES) {
		t.Errorf("eval with perm r: %s", res)
	}
	res = e.call("w", nil, map[string]any{"prefix": "mgr self-test eval", "s": "1"})
	e.want(res, 0, "1\n", "")
	res = e.call("r", nil, map[string]any{"prefix": "mgr self-test run"})
	if res.Retval != -int(syscall.EACCES) {
		t.Errorf("run with perm r: %s", res)
	}
}

// Every command accepts what the ceph CLI sends for it.
func TestCommandsMatchCLIWords(t *testing.T) {
	reg := cmdroute.NewRegistry()
	reg.MustAdd(Name, newModule().Commands()...)
	m, err := cmddesc.NewMatcher(reg.Describe(cmddesc.DescribeOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, words := range [][]string{
		{"mgr", "self-test", "run"},
		{"mgr", "self-test", "eval", "print(1)"},
		{"mgr", "self-test", "eval", "--complete", "mgr.g"},
		{"mgr", "self-test", "health", "clear", "A", "B"},
		{"mgr", "self-test", "background", "start", "command_spam"},
		{"mgr", "self-test", "config", "get_localized", "testlkey"},
	} {
		if _, err := m.Match(words); err != nil {
			t.Errorf("%v: %v", words, err)
		}
	}
}

func (exporter) Init(*module.Handle) error { return nil }
