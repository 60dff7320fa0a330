package selftest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"

	_ "github.com/gomgr/gomgr/modules/hello" // a second module for remote calls
)

const testVersion = "gomgr version test pacific (stable)"

// fakeDaemonInfo answers metadata and counters as the daemon does.
func fakeDaemonInfo(kind string) map[string]any {
	switch kind {
	case "metadata":
		return map[string]any{"id": "x", "hostname": "testhost", "ceph_version": testVersion}
	case "perf_schema":
		return map[string]any{"mgr": map[string]any{"commands": map[string]any{"type": 10, "description": "commands", "priority": 5, "units": "none"}}}
	case "perf_counters":
		return map[string]any{"mgr": map[string]any{"commands": int64(7)}}
	case "status":
		return map[string]any{"role": "active"}
	}
	return nil
}

// env is a Manager over a backend with selftest enabled.
type env struct {
	t   *testing.T
	m   *modhost.Manager
	b   backend.Backend
	mod *Module // the running selftest instance
	log *testutil.SyncBuffer
}

type envOption func(*modhost.Config)

// newEnv starts a Manager on b (a MemoryBackend if nil) and enables
// selftest.
func newEnv(t *testing.T, b backend.Backend, opts ...envOption) *env {
	t.Helper()
	if b == nil {
		b = backend.NewMemoryBackend()
	}
	if mb, ok := b.(*backend.MemoryBackend); ok && mb.Maps["mon_status"] == nil {
		// What every backend has (the embedded one's; a cluster's monitors').
		mb.Maps["mon_status"] = map[string]any{"name": "", "state": "none", "quorum": []any{}}
	}
	e := &env{t: t, b: b, log: &testutil.SyncBuffer{}}
	cfg := modhost.Config{
		MgrID: "x", Version: testVersion, ReleaseName: "pacific", Backend: b,
		LogWriter: e.log, DebugLevel: 2, DaemonInfo: fakeDaemonInfo, ShutdownTimeout: 2 * time.Second,
		CephOptions: map[string]string{"mgr_stats_period": "1"}, // a sample of the counters a second
	}
	for _, o := range opts {
		o(&cfg)
	}
	// The running instance is reached through its constructor: the
	// registry's selftest Info, with New wrapped.
	var mu sync.Mutex
	var last *Module
	src := cfg.Registry
	if src == nil {
		src = modhost.Default()
	}
	cfg.Registry = modhost.NewRegistry()
	for _, info := range src.List() {
		if info.Name == Name {
			newInstance := info.New
			info.New = func() module.Module {
				v := newInstance()
				mu.Lock()
				last, _ = v.(*Module)
				mu.Unlock()
				return v
			}
		}
		if err := cfg.Registry.Register(info); err != nil {
			t.Fatal(err)
		}
	}
	m, err := modhost.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if cfg.Standby {
		return e
	}
	if _, err := m.Enable(ctx, Name, false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	e.mod = last
	mu.Unlock()
	if e.mod == nil || e.mod.h == nil {
		t.Fatal("the selftest instance was not initialised")
	}
	return e
}

// call dispatches a command as a caller with perm.
func (e *env) call(perm string, inbuf []byte, cmd map[string]any) objectformat.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.m.Dispatch(ctx, clicommand.Call{Cmd: cmd, Inbuf: inbuf, Perm: perm})
}

// cmd dispatches prefix with key/value arguments and full permissions.
func (e *env) cmd(prefix string, kv ...any) objectformat.Result {
	e.t.Helper()
	c := map[string]any{"prefix": prefix}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return e.call("rw", nil, c)
}

func (e *env) eval(src string) objectformat.Result {
	e.t.Helper()
	return e.cmd("mgr self-test eval", "s", src)
}

// want checks a Result.
func (e *env) want(res objectformat.Result, retval int, stdout, stderr string) {
	e.t.Helper()
	if res.Retval != retval || string(res.Stdout) != stdout || res.Stderr != stderr {
		e.t.Errorf("got %s, want (%d, %q, %q)", res, retval, stdout, stderr)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func setConfig(t *testing.T, b backend.Backend, key, value string) {
	t.Helper()
	if err := b.Config().Set(context.Background(), key, value); err != nil {
		t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

// atomicString is a string shared between goroutines.
type atomicString struct {
	mu sync.Mutex
	s  string
}

func (a *atomicString) set(s string) { a.mu.Lock(); a.s = s; a.mu.Unlock() }

func (a *atomicString) get() string { a.mu.Lock(); defer a.mu.Unlock(); return a.s }
