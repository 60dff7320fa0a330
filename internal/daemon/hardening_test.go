package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// stuck blocks forever wherever it can: in a handler (ignoring its
// context), in Serve and in Shutdown.
type stuck struct{}

type stuckArgs struct {
	clicommand.Write `prefix:"stuck forever"`
}

type echoArgs struct {
	clicommand.Read `prefix:"echo"`
	Text            string
}

func (stuck) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *stuckArgs) objectformat.Result { select {} }),
		clicommand.Func(func(_ context.Context, a *echoArgs) objectformat.Result { return objectformat.OK(a.Text) }),
	}
}
func (stuck) Serve(context.Context) error    { select {} }
func (stuck) Shutdown(context.Context) error { select {} }

// hardDaemon starts an in-process daemon with tight limits and the stuck
// module enabled.
func hardDaemon(t *testing.T) (*Daemon, context.CancelFunc, <-chan error) {
	t.Helper()
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "stuck", AlwaysOn: true, New: func() module.Module { return stuck{} }}))
	d, cancel, done := runInProcess(t, context.Background(), Options{ID: "h", Registry: reg,
		MaxAsokRequest: 4096, MaxAPIRequest: 1 << 20, ClientTimeout: 300 * time.Millisecond,
		CommandTimeout: 300 * time.Millisecond, ShutdownTimeout: 300 * time.Millisecond, ROSocketMode: 0o666})
	waitActive(t, d)
	return d, cancel, done
}

// asokRaw sends raw bytes to the admin socket and returns the reply.
func asokRaw(t *testing.T, path string, req []byte, closeWrite bool) (string, error) {
	t.Helper()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req); err != nil {
		return "", err
	}
	if closeWrite {
		_ = c.(*net.UnixConn).CloseWrite()
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err = io.ReadFull(c, body)
	return string(body), err
}

func TestAsokBadInput(t *testing.T) {
	d, _, _ := hardDaemon(t)
	s := d.AsokPath()
	for _, tc := range []struct {
		name  string
		req   []byte
		close bool
		want  string
	}{
		{"garbage", []byte("not json\x00"), false, "ERROR: (22) Invalid argument\ninvalid json\n"},
		{"json array", []byte("[1]\x00"), false, "ERROR: (22) Invalid argument\ninvalid json\n"},
		{"newline terminator", []byte("{\"prefix\": \"echo\", \"text\": \"hi\"}\n"), false, "hi\n"},
		{"unknown prefix", []byte(`{"prefix": "nosuch"}` + "\x00"), false, "ERROR: (22) Invalid argument\nNo handler found for 'nosuch'\n"},
		{"truncated", []byte(`{"prefix": "ech`), true, "ERROR: (22) Invalid argument\nrequest not terminated by a NUL byte: unexpected EOF\n"},
		{"oversized", append(bytes.Repeat([]byte("x"), 10000), 0), false, "ERROR: (22) Invalid argument\nrequest too large: more than 4096 bytes\n"},
		{"legacy version request", []byte{0, 0, 0, 0}, false, "2"},
		{"bad argument", []byte(`{"prefix": "echo", "text": 5, "bogus": 1}` + "\x00"), false, "ERROR: (22) Invalid argument\nInvalid command: unknown argument 'bogus' for 'echo' (it takes text)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := asokRaw(t, s, tc.req, tc.close)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSlowClients: slow-drip clients on both sockets are cut off after the
// client timeout, and other clients are served meanwhile.
func TestSlowClients(t *testing.T) {
	d, _, _ := hardDaemon(t)
	var wg sync.WaitGroup
	results := make(chan string, 20)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() { // admin socket: one byte every 100 ms, never finishing
			defer wg.Done()
			c, err := net.Dial("unix", d.AsokPath())
			if err != nil {
				results <- err.Error()
				return
			}
			defer c.Close()
			for j := 0; j < 30; j++ {
				if _, err := c.Write([]byte("{")); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			b, _ := io.ReadAll(c)
			results <- string(b)
		}()
		go func() { // API: headers dribbled
			defer wg.Done()
			c, err := net.Dial("unix", d.APIPath())
			if err != nil {
				results <- err.Error()
				return
			}
			defer c.Close()
			_, _ = c.Write([]byte("POST /v1/command HTTP/1.1\r\nHost: x\r\n"))
			for j := 0; j < 30; j++ {
				if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			results <- "api done"
		}()
	}
	// Meanwhile a normal client is answered promptly, many times.
	c := api.NewClient(d.APIPath())
	defer c.Close()
	for i := 0; i < 20; i++ {
		start := time.Now()
		res, err := c.Command(context.Background(), map[string]any{"prefix": "echo", "text": "x"}, nil)
		require.NoError(t, err)
		require.Equal(t, "x\n", string(res.Stdout))
		require.Less(t, time.Since(start), 200*time.Millisecond)
		got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "echo", "text": "y"}`+"\x00"), false)
		require.NoError(t, err)
		require.Equal(t, "y\n", got)
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r != "api done" {
			require.Contains(t, r, "request not complete after the read timeout", "the slow admin-socket client got a clear error")
		}
	}
}

func TestAPIBadInput(t *testing.T) {
	d, _, _ := hardDaemon(t)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.APIPath())
	}}}
	post := func(body io.Reader) (int, string) {
		resp, err := hc.Post("http://x/v1/command", "application/json", body)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(strings.NewReader("not json"))
	require.Equal(t, 400, code)
	require.Contains(t, body, `"retval":-22`)
	code, body = post(strings.NewReader(`{"cmd": {"prefix": "ec`))
	require.Equal(t, 400, code)
	require.Contains(t, body, "unexpected EOF")
	code, body = post(strings.NewReader(`{}`))
	require.Equal(t, 400, code)
	require.Contains(t, body, `no \"cmd\" object`)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	big := io.MultiReader(strings.NewReader(`{"cmd": {"prefix": "echo"}, "inbuf": "`), &zeros{n: 64 << 20}, strings.NewReader(`"}`))
	code, body = post(big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Contains(t, body, fmt.Sprintf(`"retval":%d`, -int(syscall.E2BIG)))
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(16<<20), "memory stays bounded by the request cap")

	// The daemon still works.
	c := api.NewClient(d.APIPath())
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "echo", "text": "ok"}, nil)
	require.NoError(t, err)
	require.Equal(t, "ok\n", string(res.Stdout))
}

type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	for i := range p[:n] {
		p[i] = 'A'
	}
	z.n -= n
	return n, nil
}

// TestStuckModule: a handler, serve and shutdown that block forever cannot
// wedge the daemon.
func TestStuckModule(t *testing.T) {
	d, cancel, done := hardDaemon(t)
	c := api.NewClient(d.APIPath())
	defer c.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		start := time.Now()
		res, err := c.Command(ctx, map[string]any{"prefix": "stuck forever"}, nil)
		require.NoError(t, err)
		require.Equal(t, -int(syscall.ETIMEDOUT), res.Retval, res.Stderr)
		require.Less(t, time.Since(start), 2*time.Second)
		const why = "command 'stuck forever' did not complete within 300ms"
		require.Equal(t, why, res.Stderr, "one timeout reply, whatever the transport")
		got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "stuck forever"}`+"\x00"), false)
		require.NoError(t, err)
		require.Equal(t, "ERROR: (110) Connection timed out\n"+why+"\n", got)
	}
	res, err := c.Command(ctx, map[string]any{"prefix": "echo", "text": "alive"}, nil)
	require.NoError(t, err)
	require.Equal(t, "alive\n", string(res.Stdout))

	// Shutdown with a module stuck in Serve and Shutdown is bounded.
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown wedged by a stuck module")
	}
	require.Less(t, time.Since(start), 3*time.Second)
}

// TestManyClients: 10,000 commands from 200 concurrent clients, zero
// errors, and no goroutines left behind.
func TestManyClients(t *testing.T) {
	d, _, _ := hardDaemon(t)
	warm := api.NewClient(d.APIPath())
	_, _ = warm.Command(context.Background(), map[string]any{"prefix": "echo", "text": "w"}, nil)
	warm.Close()
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()

	const clients, each = 200, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := api.NewClient(d.APIPath())
			defer c.Close()
			for j := 0; j < each; j++ {
				text := fmt.Sprintf("c%d-%d", i, j)
				res, err := c.Command(context.Background(), map[string]any{"prefix": "echo", "text": text}, nil)
				if err == nil && (res.Retval != 0 || string(res.Stdout) != text+"\n") {
					err = fmt.Errorf("%s: got %v", text, res)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+5 }, 5*time.Second, 20*time.Millisecond,
		"goroutines: %d before, %d after", base, runtime.NumGoroutine())
}

// TestReadOnlyClients: the read-only socket, and clients that ask for "r",
// get EACCES on write commands.
func TestReadOnlyClients(t *testing.T) {
	d, _, _ := hardDaemon(t)
	ctx := context.Background()
	ro := api.NewClient(filepath.Join(filepath.Dir(d.APIPath()), "ceph-mgr.h.ro.api"))
	defer ro.Close()
	res, err := ro.Command(ctx, map[string]any{"prefix": "echo", "text": "read"}, nil)
	require.NoError(t, err)
	require.Equal(t, "read\n", string(res.Stdout))
	res, err = ro.Command(ctx, map[string]any{"prefix": "config-key set", "key": "k", "val": "v"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EACCES), res.Retval)
	require.Contains(t, res.Stderr, "access denied: 'config-key set' needs 'w' permission, caller has 'r'")

	rw := api.NewClient(d.APIPath())
	rw.Perm = "r"
	defer rw.Close()
	res, err = rw.Command(ctx, map[string]any{"prefix": "mgr module disable", "module": "stuck"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EACCES), res.Retval)
	full := api.NewClient(d.APIPath())
	defer full.Close()
	res, err = full.Command(ctx, map[string]any{"prefix": "config-key set", "key": "k", "val": "v"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval)
}

func (stuck) Init(*module.Handle) error { return nil }
