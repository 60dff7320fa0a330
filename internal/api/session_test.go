package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The framed connection sets its deadlines only when a wait could outlast
// them (session); these tests hold it to the bounds of a connection that
// set them before every read and write.

// dialFramedRaw opens a framed connection (hello sent) for hand-made
// frames.
func dialFramedRaw(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.Write([]byte("GMR1\x00"))
	require.NoError(t, err)
	return c
}

// closedWithin reports how long the server took to close c (its reads
// end with EOF, no reply), failing past limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	n, err := io.Copy(io.Discard, c)
	require.NoError(t, err, "the connection was not closed within %s", limit)
	require.Zero(t, n, "the server sent something it was not asked for")
	return time.Since(start)
}

// TestIdleTimeoutAfterCommands: a connection that keeps running commands
// across many idle timeouts is never closed while it waits less than
// IdleTimeout for its next request, and is closed once it waits longer,
// however long ago the deadline was last moved.
func TestIdleTimeoutAfterCommands(t *testing.T) {
	const idle = 300 * time.Millisecond
	path := serve(t, &fakeHandler{}, ServerOptions{IdleTimeout: idle})
	c := dialFramedRaw(t, path)
	start := time.Now()
	for i := 0; ; i++ {
		_, err := c.Write(framedRequest(false, fmt.Sprintf(`{"prefix": "hi%d"}`, i), nil))
		require.NoError(t, err)
		res := readFrame(t, c)
		require.Equal(t, fmt.Sprintf("hi%d", i), res.Stderr)
		if time.Since(start) > 4*idle {
			break
		}
		time.Sleep(idle * 7 / 10) // waits the deadline of an earlier wait would cut short
	}
	took := closedWithin(t, c, 10*idle)
	require.Greater(t, took, idle*3/4, "closed before it was idle for the timeout")
}

// TestStalledRequestAfterCommands: a client that stops in the middle of a
// request is answered and dropped at the read timeout, also on a
// connection whose earlier requests arrived whole (and set no deadline).
func TestStalledRequestAfterCommands(t *testing.T) {
	const readTimeout = 200 * time.Millisecond
	path := serve(t, &fakeHandler{}, ServerOptions{ReadTimeout: readTimeout, IdleTimeout: time.Minute})
	for _, cut := range []int{2, 4, 4 + 5, 4 + 16 + 2} {
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) {
			c := dialFramedRaw(t, path)
			// Two requests in one write: the second is read from the
			// buffer.
			two := append(framedRequest(false, `{"prefix": "a"}`, nil), framedRequest(false, `{"prefix": "b"}`, []byte("in"))...)
			_, err := c.Write(two)
			require.NoError(t, err)
			f := &framedConn{c: c, r: bufio.NewReader(c)}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := f.readReply()
			require.NoError(t, err)
			require.Equal(t, "a", res.Stderr)
			res, err = f.readReply()
			require.NoError(t, err)
			require.Equal(t, "rw:in", string(res.Stdout))
			full := framedRequest(false, `{"prefix": "hi"}`, []byte("in"))
			_, err = c.Write(full[:cut])
			require.NoError(t, err)
			start := time.Now()
			res, err = f.readReply()
			took := time.Since(start)
			require.NoError(t, err)
			require.Equal(t, -22, res.Retval)
			require.Contains(t, res.Stderr, "bad request: truncated frame")
			require.Contains(t, res.Stderr, "i/o timeout")
			require.Less(t, took, 20*readTimeout, "the stalled request was not bounded by the read timeout")
			closedWithin(t, c, 5*time.Second)
		})
	}
}

// TestSlowRequestWithinReadTimeout: a request that arrives in pieces,
// each well within the read timeout, is served.
func TestSlowRequestWithinReadTimeout(t *testing.T) {
	path := serve(t, &fakeHandler{}, ServerOptions{ReadTimeout: 2 * time.Second})
	c := dialFramedRaw(t, path)
	full := framedRequest(false, `{"prefix": "hi"}`, []byte("input"))
	for i := range full {
		_, err := c.Write(full[i : i+1])
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
	res := readFrame(t, c)
	require.Equal(t, "rw:input", string(res.Stdout))
}

// TestWriteDeadlineDoesNotOutliveItsReply: a reply too large for the
// socket to take at once is written under a deadline; the deadline is
// gone afterwards, so a small reply long after it still goes out.
func TestWriteDeadlineDoesNotOutliveItsReply(t *testing.T) {
	h := &wireHandler{size: 1 << 20}
	path := serve(t, h, ServerOptions{WriteTimeout: 100 * time.Millisecond})
	c := dialFramedRaw(t, path)
	_, err := c.Write(framedRequest(false, `{"prefix": "big"}`, nil))
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the server's write waits for the reader
	res := readFrame(t, c)
	require.Len(t, res.Stdout, 1<<20)
	time.Sleep(1300 * time.Millisecond) // past that reply's deadline (0.1 s + 1 s per MiB)
	_, err = c.Write(framedRequest(false, `{"prefix": "hi"}`, nil))
	require.NoError(t, err)
	res = readFrame(t, c)
	require.Equal(t, "rw:", string(res.Stdout))
}

// TestCommandTimeoutArmedLate: with a limit long enough that a command's
// timer is armed only once it has run for a while (by the sweeper), an
// overrunning command still gets -ETIMEDOUT at its limit and its context
// is cancelled; and one left running when the server closes (the sweeper
// stops) is still cancelled at its limit.
func TestCommandTimeoutArmedLate(t *testing.T) {
	const limit = 1200 * time.Millisecond
	require.GreaterOrEqual(t, limit, armAtOnce)
	h := &fakeHandler{causes: make(chan error, 1)}
	s, path := serveS(t, h, ServerOptions{CommandTimeout: limit})
	c := dialFramedRaw(t, path)
	start := time.Now()
	_, err := c.Write(framedRequest(false, `{"prefix": "wait"}`, nil))
	require.NoError(t, err)
	res := readFrame(t, c)
	took := time.Since(start)
	require.Equal(t, -int(syscall.ETIMEDOUT), res.Retval)
	require.Equal(t, "command 'wait' did not complete within 1.2s", res.Stderr)
	require.ErrorIs(t, <-h.causes, context.DeadlineExceeded)
	require.Greater(t, took, limit-50*time.Millisecond)
	require.Less(t, took, limit+2*time.Second)

	c = dialFramedRaw(t, path)
	_, err = c.Write(framedRequest(false, `{"prefix": "wait"}`, nil))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	start = time.Now()
	s.Close()
	select {
	case err := <-h.causes:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), limit+2*time.Second)
	case <-time.After(limit + 5*time.Second):
		t.Fatal("a command left running by a closed server was never cancelled")
	}
}
