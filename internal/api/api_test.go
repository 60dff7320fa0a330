package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/stretchr/testify/require"
)

type fakeHandler struct {
	calls   atomic.Int64
	block   chan struct{}
	causes  chan error // "wait" sends why its context ended
	descErr error
}

func (f *fakeHandler) Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	f.calls.Add(1)
	switch cmd["prefix"] {
	case "block":
		<-f.block
	case "fail":
		return objectformat.Failed(-2, "no such thing")
	case "wait":
		<-ctx.Done()
		f.causes <- context.Cause(ctx)
		return objectformat.Failed(-int(syscall.ECANCELED), "cancelled")
	case "quick":
		time.Sleep(100 * time.Millisecond)
		return objectformat.OK("done")
	case "stuck":
		select {} // ignores its context
	}
	return objectformat.Result{Stdout: append([]byte(perm+":"), inbuf...), Stderr: cmd["prefix"].(string)}
}

// Permit refuses "secret" to clients without "w".
func (f *fakeHandler) Permit(_ context.Context, cmd map[string]any, perm string) (objectformat.Result, bool) {
	if cmd["prefix"] == "secret" && !strings.Contains(perm, "w") {
		return objectformat.Failed(-int(syscall.EACCES), "access denied: 'secret' needs 'w'"), false
	}
	return objectformat.Result{}, true
}

func (f *fakeHandler) Descriptions(context.Context) ([]byte, error) {
	if f.descErr != nil {
		return nil, f.descErr
	}
	return []byte(`{"cmd000": {}}`), nil
}
func (f *fakeHandler) Status(context.Context) Status { return Status{ID: "x", Role: "active"} }
func (f *fakeHandler) Snapshot(context.Context) (Snapshot, error) {
	return Snapshot{Config: map[string]string{"mgr/a/b": "c"}}, nil
}

func serve(t *testing.T, h Handler, o ServerOptions) string {
	_, path := serveS(t, h, o)
	return path
}

func serveS(t *testing.T, h Handler, o ServerOptions) (*Server, string) {
	dir, err := os.MkdirTemp("", "api")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "t.api")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	s := NewServer(h, o)
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestFramedAndHTTPOnOneSocket(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	path := serve(t, h, ServerOptions{Perm: "rw", MaxRequest: 1 << 10, CommandTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
	c := NewClient(path)
	defer c.Close()
	ctx := context.Background()

	res, err := c.Command(ctx, map[string]any{"prefix": "hi"}, []byte("in\x00put"))
	require.NoError(t, err)
	require.Equal(t, objectformat.Result{Stdout: []byte("rw:in\x00put"), Stderr: "hi"}, res, "binary inbuf and output pass unchanged")
	res, err = c.Command(ctx, map[string]any{"prefix": "fail"}, nil)
	require.NoError(t, err)
	require.Equal(t, -2, res.Retval)
	for i := 0; i < 10; i++ { // connections are reused
		_, err = c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
		require.NoError(t, err)
	}
	require.Len(t, c.idle, 1)

	ro := NewClient(path)
	ro.Perm = "r"
	defer ro.Close()
	res, err = ro.Command(ctx, map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err)
	require.Equal(t, "r:", string(res.Stdout), "a client can narrow its permissions")

	// HTTP on the same socket.
	s, err := c.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, "x", s.ID)
	d, err := c.Descriptions(ctx)
	require.NoError(t, err)
	require.Equal(t, `{"cmd000": {}}`, string(d))
	snap, err := c.Snapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, "c", snap.Config["mgr/a/b"])
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := hc.Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": {"prefix": "viahttp"}, "inbuf": "aGk="}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.JSONEq(t, `{"retval": 0, "stdout": "cnc6aGk=", "stderr": "viahttp"}`, string(body))

	// A blocked command times out on both transports, and the daemon side
	// is released.
	start := time.Now()
	res, err = c.Command(ctx, map[string]any{"prefix": "block"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.ETIMEDOUT), res.Retval)
	require.Less(t, time.Since(start), 2*time.Second)
	close(h.block)
	res, err = c.Command(ctx, map[string]any{"prefix": "hi"}, nil)
	require.NoError(t, err, "the client recovers from the dropped connection")
	require.Zero(t, res.Retval)
}

func TestFramedBadInput(t *testing.T) {
	h := &fakeHandler{}
	path := serve(t, h, ServerOptions{MaxRequest: 16, ReadTimeout: 300 * time.Millisecond})
	talk := func(raw []byte) (int32, string) {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = c.Write(raw)
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return 0, "closed: " + err.Error()
		}
		out := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		io.ReadFull(c, out)
		var l [4]byte
		io.ReadFull(c, l[:])
		e := make([]byte, binary.BigEndian.Uint32(l[:]))
		io.ReadFull(c, e)
		return int32(binary.BigEndian.Uint32(hdr[:4])), string(e)
	}
	frame := func(cmd string, inbuf []byte) []byte { return framedRequest(true, cmd, inbuf) }
	rv, msg := talk(frame("not json", nil))
	require.Equal(t, int32(-22), rv)
	require.Contains(t, msg, "not a JSON object")
	rv, msg = talk(frame(`{"prefix": "x"}`, bytes.Repeat([]byte("a"), 100)))
	require.Equal(t, int32(-int(syscall.E2BIG)), rv)
	require.Contains(t, msg, "input of 100 bytes (limit 16)")
	rv, msg = talk([]byte("GMR1\x00\xff\xff\xff\xff"))
	require.Equal(t, int32(-int(syscall.E2BIG)), rv)
	require.Contains(t, msg, "command of 4294967295 bytes")
	rv, msg = talk([]byte("GMR1\x00\x00\x00\x00\x10{\"pre"))
	require.Equal(t, int32(-22), rv, "a truncated frame times out with an error: %s", msg)
	require.Contains(t, msg, "truncated frame")
	require.Zero(t, h.calls.Load(), "no bad request reached the handler")
}
