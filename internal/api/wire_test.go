package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// wireHandler answers "big" with a fresh reply of size bytes (as most
// commands build their output anew), and "retval" with retval.
type wireHandler struct {
	fakeHandler
	size   int
	retval int
	big    atomic.Int64 // "big" replies returned
}

func (h *wireHandler) Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	switch cmd["prefix"] {
	case "big":
		defer h.big.Add(1)
		return objectformat.Result{Stdout: bytes.Repeat([]byte("o"), h.size), Stderr: "big"}
	case "retval":
		return objectformat.Result{Retval: h.retval, Stderr: "failed"}
	}
	return h.fakeHandler.Command(ctx, cmd, inbuf, perm)
}

// framedRequest is a framed request for cmd (after the hello when hello).
func framedRequest(hello bool, cmd string, inbuf []byte) []byte {
	var b bytes.Buffer
	if hello {
		b.WriteString("GMR1\x00")
	}
	binary.Write(&b, binary.BigEndian, uint32(len(cmd)))
	b.WriteString(cmd)
	binary.Write(&b, binary.BigEndian, uint32(len(inbuf)))
	b.Write(inbuf)
	return b.Bytes()
}

// readFrame reads one reply frame.
func readFrame(t *testing.T, c net.Conn) objectformat.Result {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f := &framedConn{c: c, r: bufio.NewReader(c)}
	res, err := f.readReply()
	require.NoError(t, err)
	return res
}

// TestUnreadRepliesAreBounded: clients that send a command with a large
// reply and never read it (framed and HTTP) cannot make the server hold
// more than the in-flight budget: past it their replies are dropped for
// -EBUSY, others are still served (a large reply refused while the
// budget is full, with a message saying so), and a client that does not
// read its reply within the deadline loses it, giving the budget back.
func TestUnreadRepliesAreBounded(t *testing.T) {
	const size, budget, clients = 512 << 10, 4 << 20, 32
	h := &wireHandler{size: size}
	s, path := serveS(t, h, ServerOptions{MaxInflight: budget, WriteTimeout: time.Second})
	before := testutil.HeapInuse()
	for i := 0; i < clients; i++ {
		c := testutil.DialUnix(t, path)
		var err error
		if i%2 == 0 {
			_, err = c.Write(framedRequest(true, `{"prefix": "big"}`, nil))
		} else {
			body := `{"cmd": {"prefix": "big"}}`
			_, err = fmt.Fprintf(c, "POST /v1/command HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
		require.NoError(t, err)
	}
	held := budget / (size + 3)
	require.Eventually(t, func() bool { return h.big.Load() == clients && s.conns.Busy() <= held },
		20*time.Second, 5*time.Millisecond, "unread replies past the budget are still held: %d connections busy, %d replies", s.conns.Busy(), h.big.Load())
	grown := testutil.HeapInuse() - before
	t.Logf("heap grown by %d KiB for %d unread replies of %d KiB (budget %d KiB)", grown>>10, clients, size>>10, budget>>10)
	require.Less(t, grown, int64(budget+4<<20), "unread replies pin more than the budget")
	require.LessOrEqual(t, s.o.Inflight.InUse(), int64(budget))

	c := NewClient(path)
	defer c.Close()
	ctx := context.Background()
	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, "rw:", string(res.Stdout), "small replies are still served")
	res, err = c.Command(ctx, map[string]any{"prefix": "big"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval)
	require.Equal(t, fmt.Sprintf("reply of %d bytes does not fit the daemon's in-flight memory budget; try again", size+3), res.Stderr)

	// Past the deadline (1 s + 0.5 s for 512 KiB) the stuck replies are
	// given up; their budget comes back and large replies are served.
	require.Eventually(t, func() bool { return s.o.Inflight.InUse() == 0 }, 20*time.Second, 10*time.Millisecond,
		"replies nobody reads are held past their deadline")
	res, err = c.Command(ctx, map[string]any{"prefix": "big"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, res.Stderr)
	require.Len(t, res.Stdout, size)
	resp, err := httpClient(path).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "big"}}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r Reply
	require.NoError(t, jsonUnmarshal(b, &r))
	require.Equal(t, Reply{Stdout: bytes.Repeat([]byte("o"), size), Stderr: "big"}, r, "the streamed HTTP reply decodes as before")
}

// TestReplyLargerThanBudget: a reply that could never fit the budget is
// -E2BIG, not a retry for ever.
func TestReplyLargerThanBudget(t *testing.T) {
	h := &wireHandler{size: 2 << 20}
	path := serve(t, h, ServerOptions{MaxInflight: 1 << 20})
	c := NewClient(path)
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "big"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.E2BIG), res.Retval)
	require.Equal(t, fmt.Sprintf("reply of %d bytes exceeds the daemon's in-flight memory budget of %d bytes", 2<<20+3, 1<<20), res.Stderr)
}

// TestStuckRepliesAreShed: a connection whose reply waits unread can be
// closed for room like an idle one, so that clients that never read
// cannot pile up connections (it used to count as running a command,
// which is never shed).
func TestStuckRepliesAreShed(t *testing.T) {
	const max = 8
	h := &wireHandler{size: 1 << 20}
	s, path := serveS(t, h, ServerOptions{MaxConns: max, WriteTimeout: time.Minute})
	var stuck []net.Conn
	defer func() {
		for _, c := range stuck {
			c.Close()
		}
	}()
	for i := 0; i < max; i++ {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		stuck = append(stuck, c)
		_, err = c.Write(framedRequest(true, `{"prefix": "big"}`, nil))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return h.big.Load() == max }, 20*time.Second, 5*time.Millisecond)
	c := NewClient(path)
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, "rw:", string(res.Stdout))
	require.Positive(t, s.conns.Shed(), "no connection with a stuck reply was shed for room")
	require.Eventually(t, func() bool { return s.conns.Len() <= max }, 20*time.Second, 5*time.Millisecond)
}

// TestRetvalFitsTheWire: a return value that does not fit the framed
// protocol's 32 bits reaches the client as -EINVAL with a note, never as
// a truncated value (-1<<32 used to arrive as 0, a success), on both
// transports; values that fit pass unchanged.
func TestRetvalFitsTheWire(t *testing.T) {
	for _, tc := range []struct {
		retval, want int
	}{
		{-1 << 32, -int(syscall.EINVAL)},
		{-1<<32 - 2, -int(syscall.EINVAL)},
		{1 << 32, -int(syscall.EINVAL)},
		{math.MinInt64, -int(syscall.EINVAL)},
		{math.MinInt32, math.MinInt32},
		{math.MaxInt32, math.MaxInt32},
		{-2, -2},
		{2, 2},
	} {
		t.Run(fmt.Sprint(tc.retval), func(t *testing.T) {
			h := &wireHandler{retval: tc.retval}
			path := serve(t, h, ServerOptions{})
			c := NewClient(path)
			defer c.Close()
			res, err := c.Command(context.Background(), map[string]any{"prefix": "retval"}, nil)
			require.NoError(t, err)
			resp, err := httpClient(path).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "retval"}}`))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r Reply
			require.NoError(t, jsonUnmarshal(b, &r))
			for what, got := range map[string]objectformat.Result{"framed": res, "http": r.Result()} {
				require.Equal(t, tc.want, got.Retval, what)
				if tc.want != tc.retval {
					require.Equal(t, fmt.Sprintf("failed (the command returned %d, which does not fit a 32-bit return value; reported as EINVAL)", tc.retval), got.Stderr, what)
				} else {
					require.Equal(t, "failed", got.Stderr, what)
				}
			}
		})
	}
}

// TestClientRefusesInvalidUTF8: Client.Command refuses text that is not
// valid UTF-8 before sending, with the daemon's own error, where
// json.Marshal would send U+FFFD (so "k\xff" and "k\xfe" were one key).
func TestClientRefusesInvalidUTF8(t *testing.T) {
	h := &wireHandler{}
	path := serve(t, h, ServerOptions{})
	c := NewClient(path)
	defer c.Close()
	for _, tc := range []struct {
		cmd  map[string]any
		want string
	}{
		{map[string]any{"prefix": "config-key set", "key": "k\xff"}, "invalid UTF-8 in argument 'key'"},
		{map[string]any{"prefix": "x", "val": []string{"a", "\xfe"}}, "invalid UTF-8 in argument 'val'"},
		{map[string]any{"prefix": "x", "val": []any{map[string]any{"\xed\xa0\x80": 1}}}, "invalid UTF-8 in argument 'val'"},
		{map[string]any{"prefix": "x", "k\xff": "v"}, "invalid UTF-8 in an argument name"},
		{map[string]any{"prefix": "x", "b": "\xff", "a": "\xfe"}, "invalid UTF-8 in argument 'a'"},
		{map[string]any{"prefix": "x", "p": &struct{ S string }{"\xff"}}, "invalid UTF-8 in argument 'p'"},
	} {
		_, err := c.Command(context.Background(), tc.cmd, nil)
		var u *InvalidUTF8Error
		require.ErrorAs(t, err, &u, "%q", tc.cmd)
		require.EqualError(t, err, tc.want)
		require.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err))
	}
	require.Zero(t, h.calls.Load(), "a command with invalid text ran")
	// The daemon says the same of the text when it gets it.
	res, err := c.CommandJSON(context.Background(), []byte("{\"prefix\": \"x\", \"key\": \"k\xff\"}"), nil)
	require.NoError(t, err)
	require.Equal(t, [2]any{-int(syscall.EINVAL), "invalid UTF-8 in argument 'key'"}, [2]any{res.Retval, res.Stderr})
	res, err = c.Command(context.Background(), map[string]any{"prefix": "hi", "k": "é <&>", "b": []byte{0xff}}, nil)
	require.NoError(t, err, "valid text and binary []byte (base64) are sent")
	require.Equal(t, "rw:", string(res.Stdout))
}

// TestFramedRequestErrors: a request followed by trailing data says so;
// one cut off anywhere inside its frame (even exactly at a length field)
// is answered, to a client that only shut its sending side; a connection
// closed or idle between requests gets nothing (an idle pooled
// connection used to get an error frame that the client then read as the
// answer to its next command).
func TestFramedRequestErrors(t *testing.T) {
	h := &wireHandler{}
	path := serve(t, h, ServerOptions{IdleTimeout: 200 * time.Millisecond, ReadTimeout: 5 * time.Second})
	full := framedRequest(false, `{"prefix": "hi"}`, []byte("in"))
	send := func(t *testing.T, b []byte, halfClose bool) *net.UnixConn {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write(append([]byte("GMR1\x00"), b...))
		require.NoError(t, err)
		if halfClose {
			require.NoError(t, c.(*net.UnixConn).CloseWrite())
		}
		return c.(*net.UnixConn)
	}
	t.Run("trailing data", func(t *testing.T) {
		res := readFrame(t, send(t, framedRequest(false, `{"prefix": "hi"} x`, nil), false))
		require.Equal(t, [2]any{-int(syscall.EINVAL), "bad request: trailing data after the command"}, [2]any{res.Retval, res.Stderr})
	})
	for _, cut := range []int{1, 3, 4, 5, 4 + 16, 4 + 16 + 2, 4 + 16 + 4, len(full) - 1} {
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) {
			res := readFrame(t, send(t, full[:cut], true))
			require.Equal(t, -int(syscall.EINVAL), res.Retval)
			require.Equal(t, "bad request: truncated frame: unexpected EOF", res.Stderr)
		})
	}
	t.Run("between requests", func(t *testing.T) {
		c := send(t, full, true)
		res := readFrame(t, c)
		require.Equal(t, "rw:in", string(res.Stdout))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		require.NoError(t, err)
		require.Zero(t, n, "a clean close was answered")
	})
	t.Run("idle", func(t *testing.T) {
		c := send(t, nil, false)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		require.NoError(t, err)
		require.Zero(t, n, "an idle connection got an unasked-for reply")
	})
}

// TestHTTPTrailingData: the HTTP transport names trailing data too.
func TestHTTPTrailingData(t *testing.T) {
	path := serve(t, &wireHandler{}, ServerOptions{})
	resp, err := httpClient(path).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "hi"}} {"x": 1}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var r Reply
	require.NoError(t, jsonUnmarshal(b, &r))
	require.Equal(t, Reply{Retval: -int(syscall.EINVAL), Stderr: "bad request: trailing data after the request object"}, r)
}

// TestRunningCommandsAreCapped: with MaxRunning, commands past the cap
// wait for a slot up to ReadTimeout and then get -EBUSY, on both
// protocols, so clients cannot make the server build more replies at once
// than the cap (replies are built before the in-flight budget sees them).
func TestRunningCommandsAreCapped(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	path := serve(t, h, ServerOptions{MaxRunning: 2, ReadTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	held := make(chan objectformat.Result, 2)
	for range 2 {
		c := NewClient(path)
		defer c.Close()
		go func() {
			res, _ := c.Command(ctx, map[string]any{"prefix": "block"}, nil)
			held <- res
		}()
	}
	require.Eventually(t, func() bool { return h.calls.Load() == 2 }, 5*time.Second, time.Millisecond)

	c := NewClient(path)
	defer c.Close()
	begin := time.Now()
	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval, res.Stderr)
	require.Equal(t, "the daemon is busy: 2 commands from this socket's clients are running and none finished within 300ms; try again", res.Stderr)
	require.GreaterOrEqual(t, time.Since(begin), 300*time.Millisecond, "it waited for a slot")
	resp, err := httpClient(path).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "hi"}}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b), fmt.Sprintf(`"retval":%d`, -int(syscall.EBUSY)))
	require.Equal(t, int64(2), h.calls.Load(), "the refused commands did not run")

	// A command that waits gets the slot a finished one gives back.
	waiting := make(chan objectformat.Result, 1)
	go func() {
		res, _ := c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
		waiting <- res
	}()
	time.Sleep(50 * time.Millisecond)
	close(h.block)
	require.Zero(t, (<-held).Retval)
	require.Zero(t, (<-held).Retval)
	require.Zero(t, (<-waiting).Retval)
}
