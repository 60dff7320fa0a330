package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
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
			return map[string]any{"fsid": "f00"}, nil
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: testWriter{t}}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
	}()

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
