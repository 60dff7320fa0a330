package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/asok/asoktest"
	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	asoktest.ServeIfHelper()
	os.Exit(m.Run())
}

// httpClient talks HTTP to the socket at path, without the peer check.
func httpClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// TestClientRefusesAForeignServer: both of the client's transports check
// who serves the socket before sending a byte (the fake daemon of whoever
// owns the run directory would otherwise get `config-key set -i secret`).
func TestClientRefusesAForeignServer(t *testing.T) {
	ctx := context.Background()
	secret := map[string]any{"prefix": "config-key set", "key": "k"}
	check := func(t *testing.T, c *Client, uid int, sent func() int) {
		t.Helper()
		_, err := c.Command(ctx, secret, []byte("the secret"))
		var pe *asok.PeerError
		require.ErrorAs(t, err, &pe, "framed")
		require.Equal(t, uid, pe.UID)
		require.Equal(t, -int(syscall.EACCES), objectformat.ErrnoOf(err))
		require.Contains(t, err.Error(), "refusing to talk to "+c.Socket+fmt.Sprintf(": it is served by uid %d, expected uid 0 (root)", uid))
		require.Zero(t, sent(), "framed: not a byte was sent")
		_, err = c.Status(ctx)
		require.ErrorAs(t, err, &pe, "HTTP")
		require.Zero(t, sent(), "HTTP: not a byte was sent")
		_, err = c.Descriptions(ctx)
		require.ErrorAs(t, err, &pe, "HTTP")
		require.Zero(t, sent(), "HTTP: not a byte was sent")
	}
	t.Run("served by another user", func(t *testing.T) {
		f, ok := asoktest.StartForeign(t, 65534)
		if !ok {
			t.Skip("running a server as another user needs root; the untrusted uid case below checks the refusal")
		}
		c := NewClient(f.Path)
		defer c.Close()
		check(t, c, 65534, func() int { return f.Received(t) })
	})
	t.Run("untrusted uid", func(t *testing.T) {
		h := &fakeHandler{}
		path := serve(t, h, ServerOptions{})
		c := NewClient(path)
		defer c.Close()
		me := os.Getuid()
		c.TrustedUIDs = []int{me + 1}
		_, err := c.Command(ctx, secret, []byte("the secret"))
		var pe *asok.PeerError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, me, pe.UID)
		_, err = c.Status(ctx)
		require.ErrorAs(t, err, &pe)
		require.Zero(t, h.calls.Load())
		c.TrustedUIDs = nil
		res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
		require.NoError(t, err, "the default trusts the caller's own daemon")
		require.Equal(t, "rw:", string(res.Stdout))
	})
}

// TestCommandCancelledWhenClientGoes: a client that gives up (Ctrl-C in
// mgrctl) cancels its command on the daemon, on both transports, long
// before the command timeout.
func TestCommandCancelledWhenClientGoes(t *testing.T) {
	h := &fakeHandler{causes: make(chan error, 1)}
	path := serve(t, h, ServerOptions{CommandTimeout: time.Minute})
	wait := func(t *testing.T, what string) error {
		t.Helper()
		select {
		case err := <-h.causes:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the command still runs after its client went away", what)
		}
		return nil
	}
	t.Run("framed", func(t *testing.T) {
		c := NewClient(path)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Command(ctx, map[string]any{"prefix": "wait"}, nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, wait(t, "framed"), asok.ErrClientGone)
	})
	t.Run("http", func(t *testing.T) {
		hc := httpClient(path)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://x/v1/command", strings.NewReader(`{"cmd": {"prefix": "wait"}}`))
		require.NoError(t, err)
		_, err = hc.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, wait(t, "http"), context.Canceled)
	})
}

// allocated is the number of bytes the process has allocated so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestRefusedBeforeInbuf: a request refused for its permission is refused
// before its input is read, costing no memory for it, and the connection
// stays usable.
func TestRefusedBeforeInbuf(t *testing.T) {
	h := &fakeHandler{}
	path := serve(t, h, ServerOptions{Perm: "r", MaxRequest: 64 << 20})
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), 16<<20)
	c := NewClient(path)
	defer c.Close()
	_, err := c.Command(ctx, map[string]any{"prefix": "hi"}, nil) // warm up
	require.NoError(t, err)
	before := allocated()
	for i := 0; i < 4; i++ {
		res, err := c.Command(ctx, map[string]any{"prefix": "secret"}, big)
		require.NoError(t, err)
		require.Equal(t, -int(syscall.EACCES), res.Retval, res.Stderr)
	}
	framed := allocated() - before
	require.Len(t, c.idle, 1, "one connection served all the requests")
	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, []byte("in"))
	require.NoError(t, err)
	require.Equal(t, "r:in", string(res.Stdout), "the connection is still in step")

	hc := httpClient(path)
	body := func() io.Reader {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"cmd": {"prefix": "secret"}, "inbuf": "`))
			enc := base64.NewEncoder(base64.StdEncoding, pw)
			for i := 0; i < 16; i++ {
				enc.Write(big[:1<<20])
			}
			enc.Close()
			pw.Write([]byte(`"}`))
			pw.Close()
		}()
		return pr
	}
	before = allocated()
	for i := 0; i < 4; i++ {
		resp, err := hc.Post("http://x/v1/command", "application/json", body())
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(b), fmt.Sprintf(`"retval":%d`, -int(syscall.EACCES)))
	}
	viaHTTP := allocated() - before
	t.Logf("allocated for 4 refused 16 MiB requests: framed %d KiB, HTTP %d KiB", framed>>10, viaHTTP>>10)
	require.Less(t, framed, uint64(4<<20), "framed: refused inputs were read into memory")
	require.Less(t, viaHTTP, uint64(8<<20), "HTTP: refused inputs were read into memory")
	require.Equal(t, int64(2), h.calls.Load(), "only the allowed commands ran")
}

// TestInflightBudget: the bytes of requests in flight are capped across
// connections: past the cap a request gets -EBUSY, one that could never
// fit -E2BIG, both before their input is read.
func TestInflightBudget(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	path := serve(t, h, ServerOptions{MaxRequest: 8 << 20, MaxInflight: 1 << 20})
	ctx := context.Background()
	holder := NewClient(path)
	defer holder.Close()
	held := make(chan objectformat.Result, 1)
	go func() {
		res, _ := holder.Command(ctx, map[string]any{"prefix": "block"}, make([]byte, 700<<10))
		held <- res
	}()
	require.Eventually(t, func() bool { return h.calls.Load() == 1 }, 5*time.Second, time.Millisecond)

	c := NewClient(path)
	defer c.Close()
	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, make([]byte, 700<<10))
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval, res.Stderr)
	require.Contains(t, res.Stderr, "the daemon is busy")
	res, err = c.Command(ctx, map[string]any{"prefix": "hi"}, make([]byte, 2<<20))
	require.NoError(t, err)
	require.Equal(t, -int(syscall.E2BIG), res.Retval, res.Stderr)
	resp, err := httpClient(path).Post("http://x/v1/command", "application/json",
		strings.NewReader(`{"cmd": {"prefix": "hi"}, "inbuf": "`+base64.StdEncoding.EncodeToString(make([]byte, 700<<10))+`"}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b), fmt.Sprintf(`"retval":%d`, -int(syscall.EBUSY)))
	require.Equal(t, int64(1), h.calls.Load(), "the refused requests did not run")

	close(h.block)
	require.Zero(t, (<-held).Retval)
	// The holder's reply (its 700 KiB input echoed) holds the budget until
	// it is written, which the client can see a moment before the server
	// gives the bytes back: the budget is back soon, not at once.
	require.Eventually(t, func() bool {
		res, err = c.Command(ctx, map[string]any{"prefix": "hi"}, make([]byte, 700<<10))
		return err == nil && res.Retval == 0
	}, 5*time.Second, time.Millisecond, "the budget is given back: %v %s", err, res.Stderr)
}

// TestHTTPBody: the streamed HTTP request body decodes as encoding/json
// would, and refuses what the framed protocol refuses.
func TestHTTPBody(t *testing.T) {
	h := &fakeHandler{}
	path := serve(t, h, ServerOptions{MaxRequest: 1 << 20})
	hc := httpClient(path)
	for _, tc := range []struct {
		name, body string
		code       int
		want       string // stdout for 200, else a part of the reply
	}{
		{"plain", `{"cmd": {"prefix": "hi"}, "inbuf": "aGk="}`, 200, "rw:hi"},
		{"no inbuf", ` {"cmd":{"prefix":"hi"}} ` + "\n", 200, "rw:"},
		{"null inbuf", `{"cmd": {"prefix": "hi"}, "inbuf": null}`, 200, "rw:"},
		{"escaped base64", `{"cmd": {"prefix": "hi"}, "inbuf": "a\u0047\nk="}`, 200, "rw:hi"},
		{"escaped slash", `{"cmd": {"prefix": "hi"}, "inbuf": "\/w=="}`, 200, "rw:\xff"},
		{"unknown members", `{"x": [1, {"y": "}"}], "cmd": {"prefix": "hi"}, "z": null}`, 200, "rw:"},
		{"nested command", `{"cmd": {"prefix": "hi", "o": {"a": [1]}}}`, 200, "rw:"},
		{"trailing bytes", `{"cmd": {"prefix": "hi"}} x`, 400, `"bad request: trailing data after the request object"`},
		{"second object", `{"cmd": {"prefix": "hi"}}{}`, 400, `"bad request: trailing data after the request object"`},
		{"inbuf first", `{"inbuf": "aGk=", "cmd": {"prefix": "hi"}}`, 400, `\"cmd\" must come before \"inbuf\"`},
		{"twice", `{"cmd": {"prefix": "hi"}, "cmd": {"prefix": "hi"}}`, 400, `given twice`},
		{"invalid utf-8", `{"cmd": {"prefix": "hi", "key": "k` + "\xff" + `"}}`, 400, `invalid UTF-8 in argument 'key'`},
		{"lone surrogate", `{"cmd": {"prefix": "hi", "key": "k\udcff"}}`, 400, `invalid UTF-8 in argument 'key'`},
		{"bad base64", `{"cmd": {"prefix": "hi"}, "inbuf": "aGk"}`, 400, `illegal base64 data at input byte`},
		{"padding inside", `{"cmd": {"prefix": "hi"}, "inbuf": "aA==aGk="}`, 400, `illegal base64 data`},
		{"not a string", `{"cmd": {"prefix": "hi"}, "inbuf": 5}`, 400, `"inbuf\" must be a base64 string`},
		{"truncated", `{"cmd": {"prefix": "ec`, 400, "unexpected EOF"},
		{"no cmd", `{}`, 400, `no \"cmd\" object`},
		{"null cmd", `{"cmd": null}`, 400, `no \"cmd\" object`},
		{"not json", `not json`, 400, `"retval":-22`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := hc.Post("http://x/v1/command", "application/json", strings.NewReader(tc.body))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode, string(b))
			if tc.code == 200 {
				var r Reply
				require.NoError(t, jsonUnmarshal(b, &r))
				require.Equal(t, tc.want, string(r.Stdout))
				return
			}
			require.Contains(t, string(b), tc.want)
			require.Contains(t, string(b), `"retval":-22`)
		})
	}
}

// TestDrain: when the server stops, a command finishing within the grace
// period gets its result, the others -EAGAIN "daemon is shutting down",
// on both transports; new commands are refused the same way.
func TestDrain(t *testing.T) {
	h := &fakeHandler{}
	s, path := serveS(t, h, ServerOptions{CommandTimeout: time.Minute})
	ctx := context.Background()
	type result struct {
		what string
		res  objectformat.Result
	}
	results := make(chan result, 4)
	var wg sync.WaitGroup
	for _, prefix := range []string{"quick", "stuck"} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			c := NewClient(path)
			defer c.Close()
			res, err := c.Command(ctx, map[string]any{"prefix": prefix}, nil)
			if err != nil {
				res.Stderr = err.Error()
			}
			results <- result{"framed " + prefix, res}
		}()
		go func() {
			defer wg.Done()
			resp, err := httpClient(path).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "`+prefix+`"}}`))
			var r Reply
			if err != nil {
				r.Stderr = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				_ = jsonUnmarshal(b, &r)
			}
			results <- result{"http " + prefix, r.Result()}
		}()
	}
	require.Eventually(t, func() bool { return h.calls.Load() == 4 }, 5*time.Second, time.Millisecond)
	s.Drain(500 * time.Millisecond)
	wg.Wait()
	close(results)
	for r := range results {
		if strings.HasSuffix(r.what, "quick") {
			require.Equal(t, "done", string(r.res.Stdout), r.what)
			require.Zero(t, r.res.Retval, r.what)
			continue
		}
		require.Equal(t, -int(syscall.EAGAIN), r.res.Retval, r.what)
		require.Equal(t, "daemon is shutting down: command 'stuck' did not complete", r.res.Stderr, r.what)
		require.Empty(t, r.res.Stdout, r.what)
	}
	c := NewClient(path)
	defer c.Close()
	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EAGAIN), res.Retval)
	require.Contains(t, res.Stderr, "daemon is shutting down")
}

// TestDescriptionsCarryErrno: the client's Descriptions error keeps the
// daemon's errno and message.
func TestDescriptionsCarryErrno(t *testing.T) {
	h := &fakeHandler{descErr: objectformat.NewErrorResponseCode("mgr.x is starting; try again", -int(syscall.EAGAIN))}
	c := NewClient(serve(t, h, ServerOptions{}))
	defer c.Close()
	_, err := c.Descriptions(context.Background())
	require.Error(t, err)
	require.Equal(t, -int(syscall.EAGAIN), objectformat.ErrnoOf(err))
	require.Equal(t, "mgr.x is starting; try again", err.Error())
}

// TestIdleConnectionsAreCheap: idle connections (silent, framed between
// commands, HTTP keep-alive) hold little memory each, and a new client is
// served at once however many there are.
func TestIdleConnectionsAreCheap(t *testing.T) {
	h := &fakeHandler{}
	const n = 600 // of each kind
	path := serve(t, h, ServerOptions{MaxConns: 4 * n})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		conns = append(conns, c)
		return c
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	hc := httpClient(path)
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = n
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		dial() // silent
		c := dial()
		_, err := c.Write(framedRequest(true, `{"prefix": "hi"}`, nil))
		require.NoError(t, err)
		var reply [8 + 3 + 4 + 2]byte
		_, err = io.ReadFull(c, reply[:])
		require.NoError(t, err)
		wg.Add(1)
		go func() { // a keep-alive HTTP connection each
			defer wg.Done()
			resp, err := hc.Get("http://x/v1/status")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / (3 * n)
	t.Logf("heap per idle connection: %d bytes", per)
	require.Less(t, per, int64(24<<10), "idle connections hold too much memory")
	start := time.Now()
	c := NewClient(path)
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, "rw:", string(res.Stdout))
	require.Less(t, time.Since(start), time.Second)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestSlowFramedClientIsNotHTTP: a framed client that is slow to send its
// first bytes (a busy machine) still speaks the framed protocol; it used
// to be handed to HTTP after the read timeout and get "HTTP/1.1 400".
func TestSlowFramedClientIsNotHTTP(t *testing.T) {
	path := serve(t, &fakeHandler{}, ServerOptions{ReadTimeout: 100 * time.Millisecond})
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	time.Sleep(300 * time.Millisecond)
	_, err = c.Write(framedRequest(true, `{"prefix": "hi"}`, nil))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 8+3+4+2)
	_, err = io.ReadFull(c, reply)
	require.NoError(t, err)
	require.Equal(t, "\x00\x00\x00\x00\x00\x00\x00\x03rw:\x00\x00\x00\x02hi", string(reply))
}
