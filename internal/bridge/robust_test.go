package bridge

// Regression tests of the review of the bridge (issue 11), with fake shims.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// ---- test modules ----

var (
	slowInits, slowStops atomic.Int64
	slowInitDelay        atomic.Int64 // ns
)

type slowMod struct{}

func (slowMod) Init(*module.Handle) error {
	slowInits.Add(1)
	time.Sleep(time.Duration(slowInitDelay.Load()))
	return nil
}
func (slowMod) Shutdown(context.Context) error { slowStops.Add(1); return nil }

type placeArgs struct {
	clicommand.Read `prefix:"rv place" desc:"place"`
}
type getArgs struct {
	clicommand.Read `prefix:"rv get" desc:"get"`
}

type placeMod struct{ h *module.Handle }

func (p *placeMod) Init(h *module.Handle) error { p.h = h; return nil }
func (p *placeMod) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(_ context.Context, _ *placeArgs) objectformat.Result {
			s, err := p.h.StringOption("place")
			if err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.OK(s)
		}),
		clicommand.Func(func(ctx context.Context, _ *getArgs) objectformat.Result {
			_, err := p.h.Get(ctx, "osd_map")
			if err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.OK("ok")
		}),
	}
}

type badMod struct{}

func (badMod) Init(*module.Handle) error { return errors.New("init fails") }

func reviewRegistry(t *testing.T) *modhost.Registry {
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "slow", New: func() module.Module { return slowMod{} }}))
	require.NoError(t, reg.Register(module.Info{Name: "place", New: func() module.Module { return &placeMod{} },
		Options: []module.Option{{Name: "place", Default: "world", Runtime: true}}}))
	require.NoError(t, reg.Register(module.Info{Name: "bad", New: func() module.Module { return badMod{} }}))
	return reg
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startBridged runs Run in a temp dir and returns the socket path.
func startBridged(t *testing.T) (string, *syncBuf) {
	return startBridgedWith(t, reviewRegistry(t))
}

// startBridgedWith is startBridged with the modules of reg.
func startBridgedWith(t *testing.T, reg *modhost.Registry) (string, *syncBuf) {
	dir := t.TempDir()
	log := &syncBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: log, Idle: time.Hour})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Log("Run did not return")
		}
	})
	sock := filepath.Join(dir, SocketName)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock, log
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no socket")
	return "", nil
}

// rvFakeShim connects as a shim answering the Go side's calls.
func rvFakeShim(t *testing.T, sock string) *peer {
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	p := newPeer(c, func(_ context.Context, op string, _ json.RawMessage) (any, error) {
		switch op {
		case "get":
			return map[string]any{"fsid": "f"}, nil
		}
		return nil, nil
	})
	go p.run(context.Background())
	t.Cleanup(p.close)
	return p
}

func helloArgs(mod string, opts map[string]*string) map[string]any {
	return map[string]any{"module": mod, "go_name": mod, "mgr_id": "x", "options": opts, "localized": map[string]*string{}, "store": map[string]string{}}
}

func command(t *testing.T, p *peer, prefix string) (commandReply, error) {
	var r commandReply
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": prefix}, "inbuf_b64": ""}, &r)
	return r, err
}

func str(s string) *string { return &s }

// 1. A shim that gives up on hello (HELLO_TIMEOUT, or shutdown() while
// connecting) leaves its module running on the Go side forever.
func TestAbandonedHelloStopsTheModule(t *testing.T) {
	sock, _ := startBridged(t)
	keep := rvFakeShim(t, sock) // another module keeps the process busy
	require.NoError(t, keep.call(context.Background(), "hello", helloArgs("place", nil), nil))

	slowInitDelay.Store(int64(time.Second))
	before := slowStops.Load()
	p := rvFakeShim(t, sock)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := p.call(ctx, "hello", helloArgs("slow", nil), nil)
	cancel()
	require.Error(t, err) // the shim's hello timed out
	p.close()             // ... and it closes the connection
	time.Sleep(3 * time.Second)
	// Open a fresh connection and ask: is "slow" running? A second hello
	// for it is answered at once if it is running (no new Init).
	inits := slowInits.Load()
	q := rvFakeShim(t, sock)
	require.NoError(t, q.call(context.Background(), "hello", helloArgs("slow", nil), nil))
	t.Logf("inits before=%d after=%d stops=%d", inits, slowInits.Load(), slowStops.Load()-before)
	if slowInits.Load() == inits && slowStops.Load() == before {
		t.Errorf("module 'slow' stayed running after its only shim closed the connection mid-hello (never detached)")
	}
}

// 2. One-way "config" messages are applied in goroutines: out of order.
func TestConfigChangesApplyInOrder(t *testing.T) {
	sock, _ := startBridged(t)
	p := rvFakeShim(t, sock)
	require.NoError(t, p.call(context.Background(), "hello", helloArgs("place", map[string]*string{"place": str("v0")}), nil))
	bad := 0
	for round := 0; round < 50; round++ {
		var last string
		for i := 1; i <= 50; i++ {
			last = fmt.Sprintf("r%d-v%d", round, i)
			require.NoError(t, p.send("config", map[string]any{"options": map[string]*string{"place": str(last)}, "localized": map[string]*string{}}))
		}
		time.Sleep(50 * time.Millisecond)
		r, err := command(t, p, "rv place")
		require.NoError(t, err)
		out, _ := base64.StdEncoding.DecodeString(r.Stdout)
		if string(out) != last {
			bad++
			t.Logf("round %d: cached %q, the shim's last report was %q", round, out, last)
		}
	}
	if bad > 0 {
		t.Errorf("%d/50 rounds ended with a stale option value", bad)
	}
}

// 4. A hello that fails after attach registered the peer leaves a dead
// peer in b.peers, which anyPeer then picks for cluster calls.
func TestFailedHelloLeavesNoDeadPeer(t *testing.T) {
	sock, _ := startBridged(t)
	good := rvFakeShim(t, sock)
	require.NoError(t, good.call(context.Background(), "hello", helloArgs("place", nil), nil))
	bad := rvFakeShim(t, sock)
	err := bad.call(context.Background(), "hello", helloArgs("bad", nil), nil)
	t.Logf("bad hello: %v", err)
	require.Error(t, err)
	bad.close()
	time.Sleep(200 * time.Millisecond)
	fails := 0
	for i := 0; i < 40; i++ {
		r, err := command(t, good, "rv get")
		require.NoError(t, err)
		if r.Retval != 0 {
			fails++
			if fails == 1 {
				t.Logf("rv get: %d %s", r.Retval, r.Stderr)
			}
		}
	}
	if fails > 0 {
		t.Errorf("%d/40 cluster Get calls failed though a shim is connected", fails)
	}
}

// 5. The reader blocks on sem with 32 requests in flight; the replies
// those requests wait for are never read: they all wait for their ctx.
func unixPair(t *testing.T) (net.Conn, net.Conn) { return testutil.UnixPair(t) }

// 6. write has no deadline: call's ctx does not bound a write to a peer
// that does not read.
func TestCallBoundsItsWrite(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	held := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); held <- c }() // never reads
	defer func() { (<-held).Close() }()
	c, err := net.Dial("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	p := newPeer(c, nil)
	big := string(make([]byte, 4<<20))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		done <- p.call(ctx, "set_store", map[string]any{"value": big}, nil)
	}()
	select {
	case err := <-done:
		t.Logf("returned: %v", err)
	case <-time.After(5 * time.Second):
		t.Errorf("call with a 500ms ctx still blocked in write after 5s")
	}
}

// 7. Reconnect: attach(new) closes the old peer with b.mu released; the
// old connection's detach can run in between and disable the module the
// new connection is attaching.
func TestReconnectKeepsTheModuleRunning(t *testing.T) {
	sock, logb := startBridged(t)
	bad := 0
	for i := 0; i < 200; i++ {
		old := rvFakeShim(t, sock)
		require.NoError(t, old.call(context.Background(), "hello", helloArgs("place", nil), nil))
		nw := rvFakeShim(t, sock)
		require.NoError(t, nw.call(context.Background(), "hello", helloArgs("place", nil), nil))
		time.Sleep(20 * time.Millisecond)
		r, err := command(t, nw, "rv place")
		require.NoError(t, err)
		if r.Retval != 0 {
			bad++
			t.Logf("iteration %d: %d %s", i, r.Retval, r.Stderr)
		}
		nw.close()
		time.Sleep(20 * time.Millisecond)
	}
	_ = logb
	if bad > 0 {
		t.Errorf("%d/200 reconnects left the module disabled with the new shim attached", bad)
	}
}

type failServe struct{}

func (failServe) Init(*module.Handle) error       { return nil }
func (failServe) Serve(ctx context.Context) error { return errors.New("serve broke") }

// 8. A module that fails to start: the shim's retry of hello succeeds
// (Enable says "already enabled"), and a failed module's MGR_MODULE_ERROR
// never reaches the real mgr.
func TestHelloOfAFailedModuleFails(t *testing.T) {
	sock, _ := startBridged(t)
	p := rvFakeShim(t, sock)
	err1 := p.call(context.Background(), "hello", helloArgs("bad", nil), nil)
	p.close()
	time.Sleep(100 * time.Millisecond)
	q := rvFakeShim(t, sock)
	err2 := q.call(context.Background(), "hello", helloArgs("bad", nil), nil)
	t.Logf("first hello: %v; retried hello: %v", err1, err2)
	if err1 != nil && err2 == nil {
		t.Errorf("the retried hello of a module whose Init failed succeeds")
	}
}

func TestServeFailureReachesTheRealMgr(t *testing.T) {
	dir := t.TempDir()
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "fs", New: func() module.Module { return failServe{} }}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: &syncBuf{}, Idle: time.Hour})
	sock := filepath.Join(dir, SocketName)
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	var ops sync.Map
	p := newPeer(c, func(_ context.Context, op string, args json.RawMessage) (any, error) {
		ops.Store(op, string(args))
		return map[string]any{}, nil
	})
	go p.run(ctx)
	_ = p.call(ctx, "hello", helloArgs("fs", nil), nil) // refused, or accepted just before Serve fails
	require.Eventually(t, func() bool {
		v, ok := ops.Load("set_health_checks")
		return ok && strings.Contains(v.(string), "MGR_MODULE_ERROR") && strings.Contains(v.(string), "serve broke")
	}, 5*time.Second, 20*time.Millisecond, "the real mgr is told the Go module failed")
}

// 9. "Nothing is written unless every module can be installed": a module
// path entry that is a plain file (or a link to a dir without module.py)
// passes the plan and fails in writeShim, after the package and earlier
// shims were written.
func TestInstallWritesNothingWhenRefused(t *testing.T) {
	d, err := Describe(testRegistry(t), "")
	require.NoError(t, err)
	path := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(path, "selftest"), []byte("x"), 0o644))
	_, err = Install(d, InstallOptions{ModulePath: path, Binary: "/bin/x"})
	t.Logf("install: %v", err)
	require.Error(t, err)
	entries, _ := os.ReadDir(path)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 1 {
		t.Errorf("a failed install wrote %v", names)
	}
}

// 11. writePackage follows a symlinked gomgr_bridge (MkdirAll + write).
func TestInstallRefusesLinks(t *testing.T) {
	d, err := Describe(testRegistry(t), "")
	require.NoError(t, err)
	path, elsewhere := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(path, PackageDir)))
	_, err = Install(d, InstallOptions{ModulePath: path, Binary: "/bin/x"})
	if _, serr := os.Stat(filepath.Join(elsewhere, "__init__.py")); serr == nil {
		t.Errorf("install wrote through the symlink %s -> %s (err %v)", PackageDir, elsewhere, err)
	}
}

type counterMod struct{ n *atomic.Int64 }

func (counterMod) Init(*module.Handle) error { return nil }
func (c counterMod) Notify(_ context.Context, n module.Notification) {
	c.n.Add(1)
}

// 12. Each shim's notify is emitted to every running Go module: with two
// bridged modules each gets every notification twice.
func TestNotifyReachesOnlyItsModule(t *testing.T) {
	dir := t.TempDir()
	var na, nb atomic.Int64
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "ma", New: func() module.Module { return counterMod{&na} }, NotifyTypes: []module.NotifyType{module.NotifyOSDMap}}))
	require.NoError(t, reg.Register(module.Info{Name: "mb", New: func() module.Module { return counterMod{&nb} }, NotifyTypes: []module.NotifyType{module.NotifyOSDMap}}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, RunOptions{RunDir: dir, MgrID: "x", Registry: reg, Log: &syncBuf{}, Idle: time.Hour})
	sock := filepath.Join(dir, SocketName)
	time.Sleep(300 * time.Millisecond)
	a, b := rvFakeShim(t, sock), rvFakeShim(t, sock)
	require.NoError(t, a.call(ctx, "hello", helloArgs("ma", nil), nil))
	require.NoError(t, b.call(ctx, "hello", helloArgs("mb", nil), nil))
	// the real mgr calls notify on both modules; both shims forward it
	require.NoError(t, a.send("notify", map[string]any{"type": "osd_map", "id": ""}))
	require.NoError(t, b.send("notify", map[string]any{"type": "osd_map", "id": ""}))
	time.Sleep(500 * time.Millisecond)
	t.Logf("one osd_map: ma got %d, mb got %d", na.Load(), nb.Load())
	if na.Load() != 1 || nb.Load() != 1 {
		t.Errorf("one notification of the real mgr reached each Go module %d/%d times", na.Load(), nb.Load())
	}
}

// TestPeerAnswersBusyRatherThanStalling: requests past the concurrency
// limit are answered -EBUSY at once, and the reader keeps reading the
// replies the running handlers wait for (review finding).
func TestPeerAnswersBusyRatherThanStalling(t *testing.T) {
	a, b := unixPair(t)
	ctx := context.Background()
	var pa *peer
	pa = newPeer(a, func(ctx context.Context, op string, _ json.RawMessage) (any, error) {
		time.Sleep(100 * time.Millisecond)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return nil, pa.call(cctx, "get", map[string]any{}, nil) // needs the reader
	})
	pb := newPeer(b, func(context.Context, string, json.RawMessage) (any, error) { return "x", nil })
	go pa.run(ctx)
	go pb.run(ctx)
	start := time.Now()
	var wg sync.WaitGroup
	var ok, busy, other atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := pb.call(ctx, "command", map[string]any{}, nil)
			var we *wireError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &we) && we.Errno == -16:
				busy.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Less(t, time.Since(start), 2*time.Second, "no stall")
	assert.Zero(t, other.Load(), "only EBUSY refusals")
	assert.Equal(t, int64(40), ok.Load()+busy.Load())
	assert.GreaterOrEqual(t, ok.Load(), int64(1))
}
