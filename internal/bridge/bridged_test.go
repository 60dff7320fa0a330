package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type pingArgs struct {
	clicommand.Write `prefix:"pinger ping" desc:"remember a ping"`
	Who              string
}

// pinger stores who pinged it and answers pong.
type pinger struct{ h *module.Handle }

func (p *pinger) Init(h *module.Handle) error {
	p.h = h
	h.SetURI("http://127.0.0.1:9283/")
	h.Log().Warn("pinger ready", "port", 9283)
	return nil
}

func (p *pinger) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.ErrorResponseHandler(func(ctx context.Context, a *pingArgs) (objectformat.Result, error) {
		if err := p.h.SetStore(ctx, "last", a.Who); err != nil {
			return objectformat.Result{}, err
		}
		place, err := p.h.StringOption("place")
		if err != nil {
			return objectformat.Result{}, err
		}
		return objectformat.OK("pong " + a.Who + " from " + place), nil
	})}
}

// failer's Serve fails at once.
type failer struct{}

func (failer) Init(*module.Handle) error   { return nil }
func (failer) Serve(context.Context) error { return errors.New("boom") }

// fakeShim is the real mgr's side of one module's connection.
type fakeShim struct {
	p     *peer
	mu    sync.Mutex
	store map[string]any
	calls []string
	hc    chan map[string]module.HealthCheck
}

func dialShim(t *testing.T, ctx context.Context, dir string) *fakeShim {
	t.Helper()
	var c net.Conn
	var err error
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.Dial("unix", filepath.Join(dir, SocketName)); err == nil || time.Now().After(end) {
			break
		}
	}
	require.NoError(t, err)
	f := &fakeShim{store: map[string]any{}, hc: make(chan map[string]module.HealthCheck, 16)}
	f.p = newPeer(c, func(_ context.Context, op string, args json.RawMessage) (any, error) {
		f.mu.Lock()
		f.calls = append(f.calls, op)
		f.mu.Unlock()
		switch op {
		case "get":
			var a struct{ Name string }
			_ = json.Unmarshal(args, &a)
			if a.Name == "df" {
				return map[string]any{"pools": []any{map[string]any{"name": "p", "stats": map[string]any{"stored": 2048.0, "objects": 3.0}}}}, nil
			}
			return map[string]any{"fsid": "f00"}, nil
		case "rados_identity":
			return radosIdentity{Name: "mgr.x", Conf: map[string]string{"mon_host": "[v2:127.0.0.1:1]", "keyring": "/k"}}, nil
		case "register_client", "unregister_client":
			var a struct{ Addrs string }
			_ = json.Unmarshal(args, &a)
			f.mu.Lock()
			f.store[op] = a.Addrs
			f.mu.Unlock()
			return nil, nil
		case "set_store":
			var a struct {
				Key   string
				Value any
			}
			_ = json.Unmarshal(args, &a)
			f.mu.Lock()
			f.store[a.Key] = a.Value
			f.mu.Unlock()
			return nil, nil
		case "log":
			var a struct{ Level, Msg string }
			_ = json.Unmarshal(args, &a)
			f.mu.Lock()
			f.store["log:"+a.Level] = a.Msg
			f.mu.Unlock()
			return nil, nil
		case "set_uri":
			var a struct{ URI string }
			_ = json.Unmarshal(args, &a)
			f.mu.Lock()
			f.store["uri"] = a.URI
			f.mu.Unlock()
			return nil, nil
		case "get_active_uri":
			f.mu.Lock()
			defer f.mu.Unlock()
			uri, _ := f.store["active_uri"].(string)
			return uri, nil
		case "get_store":
			var a struct{ Key string }
			_ = json.Unmarshal(args, &a)
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.store["kv:"+a.Key], nil
		case "set_health_checks":
			var a struct{ Checks map[string]module.HealthCheck }
			_ = json.Unmarshal(args, &a)
			f.hc <- a.Checks
			return nil, nil
		}
		return nil, &wireError{Errno: -95, Msg: "unknown op " + op}
	})
	go f.p.run(ctx)
	t.Cleanup(f.p.close)
	return f
}

// TestBridgedServesShims runs the Go side with fake shims: the module
// starts on hello, commands run with the real mgr's options and store
// (the shim's), and a module that fails is reported to the real mgr as
// MGR_MODULE_ERROR under its name there.
func TestBridgedServesShims(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "pinger", New: func() module.Module { return &pinger{} },
		Options: []module.Option{{Name: "place", Default: "nowhere"}}}))
	require.NoError(t, reg.Register(module.Info{Name: "failer", New: func() module.Module { return failer{} }}))
	ctx := runBridged(t, dir, "x", reg)

	shim := dialShim(t, ctx, dir)
	place := "Mars"
	require.NoError(t, shim.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "x",
		Options: map[string]*string{"place": &place}, Store: map[string]string{"old": "v"}}, nil))
	var r commandReply
	require.NoError(t, shim.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping", "who": "Bob"}, "inbuf_b64": ""}, &r))
	out, _ := base64.StdEncoding.DecodeString(r.Stdout)
	assert.Equal(t, [3]any{0, "pong Bob from Mars", ""}, [3]any{r.Retval, string(out), r.Stderr})
	shim.mu.Lock()
	assert.Equal(t, "Bob", shim.store["last"], "SetStore reached the real mgr's store")
	shim.mu.Unlock()
	require.Eventually(t, func() bool {
		shim.mu.Lock()
		defer shim.mu.Unlock()
		return shim.store["uri"] == "http://127.0.0.1:9283/"
	}, 5*time.Second, 10*time.Millisecond, "SetURI reached the real mgr")
	require.Eventually(t, func() bool {
		shim.mu.Lock()
		defer shim.mu.Unlock()
		return shim.store["log:warning"] == "pinger ready port=9283"
	}, 5*time.Second, 10*time.Millisecond, "the module's log goes to the real mgr's")
	require.NoError(t, shim.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping"}}, &r))
	assert.Equal(t, -22, r.Retval, r.Stderr)

	// The option changed in the real mgr: the next command sees it.
	venus := "Venus"
	require.NoError(t, shim.p.send("config", map[string]any{"options": map[string]*string{"place": &venus}}))
	require.Eventually(t, func() bool {
		_ = shim.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping", "who": "Al"}}, &r)
		out, _ := base64.StdEncoding.DecodeString(r.Stdout)
		return string(out) == "pong Al from Venus"
	}, 5*time.Second, 20*time.Millisecond)

	// Before hello, nothing but hello.
	other := dialShim(t, ctx, dir)
	err := other.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping", "who": "x"}}, nil)
	require.ErrorContains(t, err, "command before hello")

	failing := dialShim(t, ctx, dir)
	// Its Serve fails at once: the hello is refused with why (the shim then
	// raises MGR_MODULE_ERROR itself), or, if it fails just after, the
	// failure is pushed as MGR_MODULE_ERROR under its name in the real mgr.
	if err := failing.p.call(ctx, "hello", hello{Module: "gofailer", GoName: "failer", MgrID: "x"}, nil); err != nil {
		assert.Contains(t, err.Error(), "module failer failed: boom")
		return
	}
	select {
	case c := <-failing.hc:
		assert.Equal(t, "Module 'gofailer' has failed: boom", c["MGR_MODULE_ERROR"].Summary)
		assert.Equal(t, module.SeverityError, c["MGR_MODULE_ERROR"].Severity)
	case <-time.After(5 * time.Second):
		t.Fatal("the failed module was not reported to the real mgr")
	}
}

// watcher's standby variant reports what its StandbyHandle reads.
type watcher struct {
	h    *module.StandbyHandle
	seen chan string
	down chan struct{}
}

func (w *watcher) InitStandby(h *module.StandbyHandle) error { w.h = h; return nil }

func (w *watcher) Serve(ctx context.Context) error {
	place, _ := w.h.Option("place")
	k, _ := w.h.Store("k")
	select {
	case w.seen <- fmt.Sprintf("%s uri=%s k=%s place=%v", w.h.MgrID(), w.h.ActiveURI(), k, place):
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

func (w *watcher) Shutdown(context.Context) error { close(w.down); return nil }

// TestBridgedRunsStandbyVariants: a standby shim's hello runs the Go
// module's standby variant, which reads the active mgr's URI, its store
// and its options through the shim; a standby takes no commands; when the
// mgr becomes active, the active shim's hello stops the standby variant
// and starts the module. A module without a standby variant, or an unknown
// role, is refused.
func TestBridgedRunsStandbyVariants(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	w := &watcher{seen: make(chan string, 1), down: make(chan struct{})}
	reg := standbyRegistry(t, w)
	require.NoError(t, reg.Register(module.Info{Name: "failer", New: func() module.Module { return failer{} }}))
	ctx := runBridged(t, dir, "y", reg)

	standby := dialShim(t, ctx, dir)
	standby.store["active_uri"] = "http://x:9283/"
	standby.store["kv:k"] = "from the store"
	mars := "Mars"
	require.NoError(t, standby.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y", Role: "standby",
		Options: map[string]*string{"place": &mars}}, nil))
	select {
	case got := <-w.seen:
		assert.Equal(t, "y uri=http://x:9283/ k=from the store place=Mars", got)
	case <-time.After(5 * time.Second):
		t.Fatal("the standby variant did not run")
	}
	err := standby.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping", "who": "Bob"}}, nil)
	require.Equal(t, -int(syscall.EOPNOTSUPP), errnoOf(err), "%v", err)

	other := dialShim(t, ctx, dir)
	err = other.p.call(ctx, "hello", hello{Module: "gofailer", GoName: "failer", MgrID: "y", Role: "standby"}, nil)
	require.Equal(t, -int(syscall.EOPNOTSUPP), errnoOf(err), "%v", err)
	require.ErrorContains(t, err, "module failer has no standby variant")
	err = dialShim(t, ctx, dir).p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y", Role: "leader"}, nil)
	require.Equal(t, -int(syscall.EINVAL), errnoOf(err), "%v", err)

	// The mgr became active: its active shim says hello.
	active := dialShim(t, ctx, dir)
	require.NoError(t, active.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y",
		Options: map[string]*string{"place": &mars}}, nil))
	select {
	case <-w.down:
	case <-time.After(5 * time.Second):
		t.Fatal("the standby variant was not shut down")
	}
	var r commandReply
	require.NoError(t, active.p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "pinger ping", "who": "Bob"}, "inbuf_b64": ""}, &r))
	out, _ := base64.StdEncoding.DecodeString(r.Stdout)
	assert.Equal(t, [2]any{0, "pong Bob from Mars"}, [2]any{r.Retval, string(out)}, r.Stderr)
}

// runBridged runs the Go side in dir for mgr id until the test ends; the
// context is the one it runs with.
func runBridged(t *testing.T, dir, id string, reg *modhost.Registry) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, RunOptions{RunDir: dir, MgrID: id, Registry: reg, Log: testWriter{t}}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return ctx
}

// standbyRegistry holds pinger, with sm as its standby variant.
func standbyRegistry(t *testing.T, sm module.StandbyModule) *modhost.Registry {
	t.Helper()
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "pinger", New: func() module.Module { return &pinger{} },
		Options: []module.Option{{Name: "place", Default: "nowhere"}},
		Standby: func() module.StandbyModule { return sm }}))
	return reg
}

// errnoOf is a wire error's errno (0 for none).
func errnoOf(err error) int {
	var we *wireError
	if errors.As(err, &we) {
		return we.Errno
	}
	return objectformat.ErrnoOf(err)
}

// TestBridgedStopsWhenTheBinaryIsReplaced: after an upgrade installed a
// new binary, the old process refuses new shims (-EAGAIN) and exits once
// its attached modules have gone, so the shims start the new one.
func TestBridgedStopsWhenTheBinaryIsReplaced(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	bin := filepath.Join(dir, "ceph-mgr")
	require.NoError(t, os.WriteFile(bin, []byte("old"), 0o755))
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "pinger", New: func() module.Module { return &pinger{} }}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: testWriter{t}, Binary: bin})
	}()
	shim := dialShim(t, ctx, dir)
	require.NoError(t, shim.p.call(ctx, "hello", hello{Module: "pinger", GoName: "pinger", MgrID: "x"}, nil))

	require.NoError(t, os.Rename(filepath.Join(dir, "ceph-mgr"), filepath.Join(dir, "ceph-mgr.old")))
	require.NoError(t, os.WriteFile(bin, []byte("new binary"), 0o755))
	again := dialShim(t, ctx, dir)
	err := again.p.call(ctx, "hello", hello{Module: "pinger", GoName: "pinger", MgrID: "x"}, nil)
	require.ErrorContains(t, err, "binary was upgraded")
	shim.p.close() // the real mgr respawns: its modules go; the old process exits
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the old process did not exit")
	}
}

// testWriter sends the process's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
