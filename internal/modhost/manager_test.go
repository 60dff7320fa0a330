package modhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// testMod is a module whose behaviour tests switch with fields.
type testMod struct {
	h    *module.Handle
	name string // command prefix word; "t" by default

	serve      func(ctx context.Context) error
	shutdown   func(ctx context.Context) error
	notified   chan module.Notification
	configured atomic.Int32
	notifyHook func(n module.Notification)
}

func (m *testMod) Init(h *module.Handle) error { m.h = h; return nil }

func (m *testMod) Commands() []*clicommand.Command {
	p := m.name
	if p == "" {
		p = "t"
	}
	return []*clicommand.Command{
		clicommand.Legacy(p+" ping name=who,type=CephString,req=false", "ping", "r",
			objectformat.HandlerFunc(func(_ context.Context, req *objectformat.Request) objectformat.Result {
				who, ok := req.Cmd["who"].(string)
				if !ok {
					who = "world"
				}
				return objectformat.OK("pong " + who)
			})),
		clicommand.Legacy(p+" boom", "panic", "w",
			objectformat.HandlerFunc(func(context.Context, *objectformat.Request) objectformat.Result { panic("kaboom") })),
	}
}

func (m *testMod) Serve(ctx context.Context) error {
	if m.serve != nil {
		return m.serve(ctx)
	}
	<-ctx.Done()
	return nil
}

func (m *testMod) Shutdown(ctx context.Context) error {
	if m.shutdown != nil {
		return m.shutdown(ctx)
	}
	return nil
}

func (m *testMod) Notify(_ context.Context, n module.Notification) {
	if m.notifyHook != nil {
		m.notifyHook(n)
	}
	if m.notified != nil {
		m.notified <- n
	}
}

func (m *testMod) ConfigNotify(context.Context) { m.configured.Add(1) }

func (m *testMod) Exports() map[string]module.RemoteFunc {
	return map[string]module.RemoteFunc{
		"add": module.Export(func(_ context.Context, a struct{ X, Y int }) (int, error) { return a.X + a.Y, nil }),
		"fail": module.Export(func(context.Context, struct{}) (any, error) {
			return nil, objectformat.NewErrorResponseCode("no such thing", -int(syscall.ENOENT))
		}),
		"panic": module.Export(func(context.Context, struct{}) (any, error) { panic("remote boom") }),
	}
}

// fixture builds a manager over a memory backend with modules made by mk.
type fixture struct {
	t    *testing.T
	b    *backend.MemoryBackend
	m    *Manager
	mods map[string]*testMod
}

func newFixture(t *testing.T, infos ...module.Info) *fixture {
	t.Helper()
	f := &fixture{t: t, b: backend.NewMemoryBackend(), mods: map[string]*testMod{}}
	reg := NewRegistry()
	for _, info := range infos {
		require.NoError(t, reg.Register(info))
	}
	m, err := NewManager(Config{MgrID: "x", Version: "test version", Registry: reg, Backend: f.b, ShutdownTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	f.m = m
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	return f
}

// modInfo registers a testMod named name; setup customises each instance.
func (f *fixture) info(name string, setup func(*testMod)) module.Info {
	return module.Info{Name: name, New: func() module.Module {
		m := &testMod{name: name}
		if setup != nil {
			setup(m)
		}
		return m
	}, NotifyTypes: []module.NotifyType{module.NotifyOSDMap, module.NotifyCommand}, Options: []module.Option{
		{Name: "place", Default: "world", Runtime: true},
		{Name: "count", Type: module.Int, Default: 3, Min: 1, Max: 10},
		{Name: "ratio", Type: module.Float},
		{Name: "flag", Type: module.Bool, Default: true},
		{Name: "color", EnumAllowed: []string{"red", "blue"}},
	}}
}

func call(m *Manager, words map[string]any) objectformat.Result {
	return m.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: words})
}

func TestEnableDisableAndDispatch(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }})
	ctx := context.Background()
	res := call(f.m, map[string]any{"prefix": "t ping"})
	require.Equal(t, -int(syscall.EOPNOTSUPP), res.Retval)
	require.Equal(t, "Module 't' is not enabled/loaded (required by command 't ping'): use `ceph mgr module enable t` to enable it", res.Stderr)

	msg, err := f.m.Enable(ctx, "t", false)
	require.NoError(t, err)
	require.Empty(t, msg)
	require.Equal(t, "pong world", string(call(f.m, map[string]any{"prefix": "t ping"}).Stdout))
	require.Equal(t, "pong bob", string(call(f.m, map[string]any{"prefix": "t ping", "who": "bob"}).Stdout))
	msg, err = f.m.Enable(ctx, "t", false)
	require.NoError(t, err)
	require.Equal(t, "module 't' is already enabled", msg)
	require.Equal(t, ModuleList{AlwaysOn: []string{}, Enabled: []string{"t"}, Disabled: []DisabledModule{}}, f.m.List())

	// The enabled list survives a restart of the manager on the same backend.
	m2, err := NewManager(Config{MgrID: "x", Registry: f.m.cfg.Registry, Backend: f.b})
	require.NoError(t, err)
	require.NoError(t, m2.Start(ctx))
	require.Equal(t, "pong world", string(call(m2, map[string]any{"prefix": "t ping"}).Stdout))
	m2.Close()

	_, err = f.m.Disable(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EOPNOTSUPP), call(f.m, map[string]any{"prefix": "t ping"}).Retval)
	msg, err = f.m.Disable(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, "module 't' is already disabled", msg)

	_, err = f.m.Enable(ctx, "nosuch", false)
	require.EqualError(t, err, "all mgr daemons do not support module 'nosuch': it is not compiled into this daemon (compiled-in modules: t)")
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	require.Equal(t, -22, call(f.m, map[string]any{"prefix": "nosuch cmd"}).Retval)
}

func TestCanRunAndAlwaysOn(t *testing.T) {
	f := newFixture(t, module.Info{Name: "always", AlwaysOn: true, New: func() module.Module { return nopMod{} }}, module.Info{Name: "picky", New: func() module.Module { return nopMod{} }, CanRun: func() (bool, string) { return false, "needs a flux capacitor" }})
	ctx := context.Background()
	require.Equal(t, []string{"always"}, f.m.List().AlwaysOn)
	_, err := f.m.Disable(ctx, "always")
	require.EqualError(t, err, "module 'always' cannot be disabled (always-on)")
	msg, err := f.m.Enable(ctx, "always", false)
	require.NoError(t, err)
	require.Equal(t, "module 'always' is already enabled (always-on)", msg)
	_, err = f.m.Enable(ctx, "picky", false)
	require.EqualError(t, err, "module 'picky' reports that it cannot run on the active manager daemon: needs a flux capacitor (pass --force to force enablement)")
	require.Equal(t, []DisabledModule{{Name: "picky", CanRun: false, ErrorString: "needs a flux capacitor"}}, f.m.List().Disabled)
	_, err = f.m.Enable(ctx, "picky", true)
	require.NoError(t, err)
	h := f.m.Health()
	require.Equal(t, health.Warn, h.Status)
	require.Equal(t, "Module 'picky' has failed dependency: needs a flux capacitor", h.Checks["MGR_MODULE_DEPENDENCY"].Summary.Message)
}

func (f *fixture) enable(name string) *testMod {
	f.t.Helper()
	_, err := f.m.Enable(context.Background(), name, false)
	require.NoError(f.t, err)
	f.m.mu.RLock()
	defer f.m.mu.RUnlock()
	return f.m.running[name].mod.(*testMod)
}

func TestOptions(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	mod := f.enable("t")
	h := mod.h
	ctx := context.Background()

	v, err := h.Option("place")
	require.NoError(t, err)
	require.Equal(t, "world", v, "declared default")
	n, err := h.IntOption("count")
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	v, err = h.Option("ratio")
	require.NoError(t, err)
	require.Nil(t, v, "unset without default reads as nil")
	_, err = h.Option("nope")
	require.EqualError(t, err, "config option 'nope' is not declared by module t")

	require.NoError(t, h.SetOption(ctx, "count", 7))
	n, _ = h.IntOption("count")
	require.EqualValues(t, 7, n)
	got, _ := f.b.ConfigStore.Get("mgr/t/count")
	require.Equal(t, "7", got, "stored under Ceph's key")
	require.NoError(t, h.SetOption(ctx, "count", nil))
	n, _ = h.IntOption("count")
	require.EqualValues(t, 3, n, "nil reverts to the default")

	for _, tc := range []struct {
		key string
		val any
		msg string
	}{
		{"count", 43, "error parsing value: Value '43' exceeds maximum 10"},
		{"count", 0, "error parsing value: Value '0' is below minimum 1"},
		{"count", "abc", "error parsing value: strict_si_cast: unit prefix not recognized"},
		{"flag", "maybe", "error parsing value: Expected option value to be integer, got 'maybe'"},
		{"color", "green", "error parsing value: 'green' is not one of the permitted values: blue, red"},
		{"nope", 1, "config option 'nope' is not declared by module t"},
	} {
		err := h.SetOption(ctx, tc.key, tc.val)
		require.EqualError(t, err, tc.msg, tc.key)
		require.Less(t, objectformat.ErrnoOf(err), 0)
	}
	require.NoError(t, h.SetOption(ctx, "flag", "0"))
	b, _ := h.BoolOption("flag")
	require.False(t, b)
	require.NoError(t, h.SetOption(ctx, "ratio", 1.5))
	fl, _ := h.FloatOption("ratio")
	require.Equal(t, 1.5, fl)

	// Localized: mgr/<module>/<id>/<key>, falling back to the global key.
	require.NoError(t, h.SetOption(ctx, "place", "earth"))
	v, _ = h.LocalizedOption("place")
	require.Equal(t, "earth", v)
	require.NoError(t, h.SetLocalizedOption(ctx, "place", "mars"))
	v, _ = h.LocalizedOption("place")
	require.Equal(t, "mars", v)
	got, _ = f.b.ConfigStore.Get("mgr/t/x/place")
	require.Equal(t, "mars", got)
	v, _ = h.Option("place")
	require.Equal(t, "earth", v)

	// Values written behind the module's back that do not parse fall back
	// to the default.
	require.NoError(t, f.b.ConfigStore.Set(ctx, "mgr/t/count", "lots"))
	n, _ = h.IntOption("count")
	require.EqualValues(t, 3, n)

	// Built-in options exist for every module.
	v, err = h.Option("log_level")
	require.NoError(t, err)
	require.Equal(t, "", v)
	_, err = h.ModuleOption("nosuch", "x")
	require.Error(t, err)
}

func TestConfigNotify(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	mod := f.enable("t")
	require.NoError(t, f.b.ConfigStore.Set(context.Background(), "mgr/t/place", "outside"))
	require.NoError(t, f.b.ConfigStore.Set(context.Background(), "mgr/other/place", "x"))
	require.Eventually(t, func() bool { return mod.configured.Load() == 1 }, 2*time.Second, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	require.EqualValues(t, 1, mod.configured.Load(), "only the module's own keys notify it")
}

func TestStore(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	h := f.enable("t").h
	ctx := context.Background()
	require.NoError(t, h.SetStore(ctx, "testkey", "testvalue"))
	v, ok := h.Store("testkey")
	require.True(t, ok)
	require.Equal(t, "testvalue", v)
	raw, _ := f.b.KVStore.Get("mgr/t/testkey")
	require.Equal(t, "testvalue", raw)
	require.NoError(t, h.SetStore(ctx, "test2", "b"))
	require.NoError(t, h.SetStore(ctx, "other", "c"))
	require.Equal(t, map[string]string{"testkey": "testvalue", "test2": "b"}, h.StorePrefix("test"))
	require.NoError(t, h.SetLocalizedStore(ctx, "loc", "here"))
	v, _ = h.LocalizedStore("loc")
	require.Equal(t, "here", v)
	v, _ = h.LocalizedStore("other")
	require.Equal(t, "c", v, "falls back to the global key")
	require.NoError(t, h.DeleteStore(ctx, "testkey"))
	_, ok = h.Store("testkey")
	require.False(t, ok)
}

func TestHealthChecks(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	h := f.enable("t").h
	h.SetHealthChecks(map[string]module.HealthCheck{
		"T_WARN": {Severity: module.SeverityWarning, Summary: "something odd", Count: 2, Detail: []string{"a", "b"}},
		"T_BAD":  {Severity: "loud", Summary: "ignored"},
	})
	hl := f.m.Health()
	require.Equal(t, health.Warn, hl.Status)
	require.Len(t, hl.Checks, 1)
	require.Equal(t, "HEALTH_WARN something odd\n", hl.Plain(false))
	require.Equal(t, "HEALTH_WARN something odd\n[WRN] T_WARN: something odd\n    a\n    b\n", hl.Plain(true))
	b, _ := json.Marshal(hl)
	require.JSONEq(t, `{"status":"HEALTH_WARN","checks":{"T_WARN":{"severity":"HEALTH_WARN","summary":{"message":"something odd","count":2},"detail":[{"message":"a"},{"message":"b"}],"muted":false}},"mutes":[]}`, string(b))
	h.SetHealthChecks(map[string]module.HealthCheck{"T_ERR": {Severity: module.SeverityError, Summary: "broken"}})
	require.Equal(t, health.Err, f.m.Health().Status)
	h.SetHealthChecks(nil)
	require.Equal(t, health.OK, f.m.Health().Status)
}

func TestRemote(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("a", nil), f.info("b", nil))
	a := f.enable("a").h
	f.enable("b")
	ctx := context.Background()
	var sum int
	require.NoError(t, a.Remote(ctx, "b", "add", map[string]int{"X": 2, "Y": 3}, &sum))
	require.Equal(t, 5, sum)
	err := a.Remote(ctx, "b", "nosuch", nil, nil)
	require.ErrorIs(t, err, module.ErrMethodNotFound)
	require.Equal(t, -int(syscall.ENOSYS), objectformat.ErrnoOf(err))
	err = a.Remote(ctx, "zzz", "add", nil, nil)
	require.ErrorIs(t, err, module.ErrModuleNotFound)
	require.EqualError(t, err, `remote zzz.add: module "zzz" is not enabled`)
	err = a.Remote(ctx, "b", "fail", nil, nil)
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err), "the callee's errno is kept")
	require.Contains(t, err.Error(), "no such thing")
	err = a.Remote(ctx, "b", "panic", nil, nil)
	require.ErrorContains(t, err, "panic: remote boom")
	err = a.Remote(ctx, "b", "add", map[string]any{"Z": 1}, &sum)
	require.ErrorContains(t, err, "decode arguments")
	_, err = f.m.Disable(ctx, "b")
	require.NoError(t, err)
	require.ErrorIs(t, a.Remote(ctx, "b", "add", nil, nil), module.ErrModuleNotFound)
}

func TestNotifyIsolation(t *testing.T) {
	f := &fixture{t: t}
	block := make(chan struct{})
	got := make(chan module.Notification, 100)
	f = newFixture(t,
		f.info("slow", func(m *testMod) { m.notifyHook = func(module.Notification) { <-block } }),
		f.info("fast", func(m *testMod) { m.notified = got }),
		f.info("panicky", func(m *testMod) { m.notifyHook = func(module.Notification) { panic("notify boom") } }),
	)
	f.enable("slow")
	f.enable("fast")
	f.enable("panicky")
	defer close(block)
	for i := 0; i < 1000; i++ { // far more than the slow module's queue holds
		f.m.Notify(module.Notification{Type: module.NotifyOSDMap, ID: fmt.Sprint(i)})
	}
	f.m.Notify(module.Notification{Type: module.NotifyMonMap}) // nobody asked for mon_map
	for i := 0; i < 256; i++ {
		select {
		case n := <-got:
			require.Equal(t, module.NotifyOSDMap, n.Type)
		case <-time.After(2 * time.Second):
			t.Fatalf("the fast module got %d notifications; a slow or panicking module held it up", i)
		}
	}
	running, failure := f.m.Running("panicky")
	require.True(t, running)
	require.Empty(t, failure, "a panic in notify is logged, the module keeps running")
	require.Equal(t, "pong world", string(call(f.m, map[string]any{"prefix": "fast ping"}).Stdout))
}

func TestServeFailureAndShutdownDeadline(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t,
		f.info("crashy", func(m *testMod) { m.serve = func(context.Context) error { panic("serve boom") } }),
		f.info("erring", func(m *testMod) { m.serve = func(context.Context) error { return errors.New("cannot serve") } }),
		f.info("stuck", func(m *testMod) {
			m.serve = func(context.Context) error { select {} }
			m.shutdown = func(context.Context) error { select {} }
		}),
	)
	f.enable("crashy")
	require.Eventually(t, func() bool { _, why := f.m.Running("crashy"); return why != "" }, 2*time.Second, 5*time.Millisecond)
	res := call(f.m, map[string]any{"prefix": "crashy ping"})
	require.Equal(t, -int(syscall.EIO), res.Retval)
	require.Contains(t, res.Stderr, "Module 'crashy' has experienced an error")
	h := f.m.Health()
	require.Equal(t, health.Err, h.Status)
	require.Equal(t, "Module 'crashy' has failed: serve boom", h.Checks["MGR_MODULE_ERROR"].Summary.Message)
	_, err := f.m.Disable(context.Background(), "crashy")
	require.NoError(t, err)
	require.Equal(t, health.OK, f.m.Health().Status, "disabling clears the failure")

	f.enable("erring")
	require.Eventually(t, func() bool { _, why := f.m.Running("erring"); return why == "cannot serve" }, 2*time.Second, 5*time.Millisecond)
	_, _ = f.m.Disable(context.Background(), "erring")

	f.enable("stuck")
	start := time.Now()
	_, err = f.m.Disable(context.Background(), "stuck")
	require.NoError(t, err)
	require.Less(t, time.Since(start), 3*time.Second, "shutdown is bounded by the deadline")
}

func TestHandlerPanic(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	f.enable("t")
	res := call(f.m, map[string]any{"prefix": "t boom"})
	require.Equal(t, -22, res.Retval)
	require.Contains(t, res.Stderr, "kaboom")
	require.Equal(t, "pong world", string(call(f.m, map[string]any{"prefix": "t ping"}).Stdout), "the module keeps serving")
	require.Equal(t, "pong bob", string(call(f.m, map[string]any{"prefix": "t ping", "who": "bob"}).Stdout))
}

func TestSendCommand(t *testing.T) {
	f := &fixture{t: t}
	got := make(chan module.Notification, 10)
	f = newFixture(t, f.info("t", func(m *testMod) { m.notified = got }))
	h := f.enable("t").h
	cr := h.SendCommand(context.Background(), module.Target{Type: "mon"}, map[string]any{"prefix": "osd dump"}, nil, "tag1")
	res, err := cr.Wait(context.Background())
	require.NoError(t, err)
	require.Equal(t, -int(syscall.ENOTCONN), res.Retval)
	select {
	case n := <-got:
		require.Equal(t, module.Notification{Type: module.NotifyCommand, ID: "tag1"}, n)
	case <-time.After(2 * time.Second):
		t.Fatal("no command notification")
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	require.NoError(t, r.Register(module.Info{Name: "ok", New: func() module.Module { return nopMod{} }}))
	require.ErrorContains(t, r.Register(module.Info{Name: "ok", New: func() module.Module { return nopMod{} }}), "registered twice")
	require.ErrorContains(t, r.Register(module.Info{Name: "Bad", New: func() module.Module { return nopMod{} }}), "invalid module name")
	require.ErrorContains(t, r.Register(module.Info{Name: "nonew"}), "Info.New is nil")
	require.ErrorContains(t, r.Register(module.Info{Name: "badopt", New: func() module.Module { return nopMod{} }, Options: []module.Option{{Name: "x", Type: module.Int, Default: "many"}}}), `default "many"`)
	require.ErrorContains(t, r.Register(module.Info{Name: "dupopt", New: func() module.Module { return nopMod{} }, Options: []module.Option{{Name: "x"}, {Name: "x"}}}), "declared twice")
	require.Equal(t, []string{"ok"}, r.Names())
	_, err := NewManager(Config{Registry: r})
	require.Error(t, err)

	// Two modules may not provide the same command.
	r2 := NewRegistry()
	require.NoError(t, r2.Register(module.Info{Name: "a", New: func() module.Module { return &testMod{} }}))
	require.NoError(t, r2.Register(module.Info{Name: "b", New: func() module.Module { return &testMod{} }}))
	_, err = NewManager(Config{Registry: r2, Backend: backend.NewMemoryBackend()})
	require.ErrorContains(t, err, `command "t ping" is already provided by module a`)
}

func TestDescribeIncludesDisabledModules(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }})
	var prefixes []string
	for _, d := range f.m.Describe(cmddesc.DescribeOptions{}) {
		prefixes = append(prefixes, d.Sig.Prefix())
	}
	require.Equal(t, "t boom,t ping", strings.Join(prefixes, ","))
	_ = f
}

// nopMod is a module with nothing but Init.
type nopMod struct{}

func (nopMod) Init(*module.Handle) error { return nil }
