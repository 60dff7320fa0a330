package asok

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/asok/asoktest"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	asoktest.ServeIfHelper()
	os.Exit(m.Run())
}

// recorder is a unix socket server that counts what each client sends.
type recorder struct {
	path string
	got  chan int
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{path: filepath.Join(t.TempDir(), "r.sock"), got: make(chan int, 8)}
	if len(r.path) > 100 {
		r.path = filepath.Join(shortDir(t), "r.sock")
	}
	l, err := net.Listen("unix", r.path)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, _ := io.Copy(io.Discard, c)
			c.Close()
			r.got <- int(n)
		}
	}()
	return r
}

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "asok")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestCallRefusesAForeignServer: a client checks who serves the socket
// (SO_PEERCRED) and sends nothing to a process of another user: the fake
// server planted by whoever owns the socket's directory.
func TestCallRefusesAForeignServer(t *testing.T) {
	ctx := context.Background()
	t.Run("served by another user", func(t *testing.T) {
		f, ok := asoktest.StartForeign(t, 65534)
		if !ok {
			t.Skip("running a server as another user needs root; the untrusted uid case below checks the refusal")
		}
		_, err := Call(ctx, f.Path, []byte(`{"prefix": "config-key set", "key": "k", "val": "secret"}`), 0)
		var pe *PeerError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, 65534, pe.UID)
		require.Contains(t, err.Error(), "connect to admin socket: refusing to talk to "+f.Path+": it is served by uid 65534, expected uid 0 (root)")
		require.Zero(t, f.Received(t), "not a byte was sent")
	})
	t.Run("untrusted uid", func(t *testing.T) {
		r := startRecorder(t)
		me := os.Getuid()
		c, err := Dial(ctx, r.path, []int{me + 1})
		require.Nil(t, c)
		var pe *PeerError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, me, pe.UID)
		require.Equal(t, -int(syscall.EACCES), pe.ErrorCode())
		require.Zero(t, <-r.got, "not a byte was sent")
		// The default trusts root and the caller.
		c, err = Dial(ctx, r.path, nil)
		require.NoError(t, err)
		_, _ = c.Write([]byte("hi"))
		c.Close()
		require.Equal(t, 2, <-r.got)
	})
}

// TestHandlerCancelledWhenClientGoes: a client that closes its socket
// cancels its command; one that only shuts down its writing side (still
// waiting for the reply) does not.
func TestHandlerCancelledWhenClientGoes(t *testing.T) {
	causes := make(chan error, 1)
	s := &Server{Handler: func(ctx context.Context, req []byte) []byte {
		if string(req) == "wait" {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
			return []byte("finished")
		case <-ctx.Done():
			return []byte("cancelled")
		}
	}}
	path := filepath.Join(shortDir(t), "s.asok")
	l, err := Listen(path, 0o600)
	require.NoError(t, err)
	go s.Serve(l)
	defer s.Close()

	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	_, err = c.Write([]byte("wait\x00"))
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the command is running
	c.Close()
	select {
	case err := <-causes:
		require.ErrorIs(t, err, ErrClientGone)
	case <-time.After(5 * time.Second):
		t.Fatal("the command was not cancelled when its client went away")
	}

	c, err = net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("half\x00"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.UnixConn).CloseWrite())
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	_, err = io.ReadFull(c, hdr[:])
	require.NoError(t, err)
	body, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "finished", string(body))
}

// TestIdleClientsDoNotStarve: with thousands of idle and slow-drip
// connections open, a new client is served at once (measured from connect
// to reply), and past MaxConns the oldest idle ones are shed.
func TestIdleClientsDoNotStarve(t *testing.T) {
	s := &Server{Handler: func(_ context.Context, req []byte) []byte { return append([]byte("echo:"), req...) }}
	path := filepath.Join(shortDir(t), "s.asok")
	l, err := Listen(path, 0o600)
	require.NoError(t, err)
	go s.Serve(l)
	defer s.Close()
	n := asoktest.FDBudget(t, 1, 3000, 1500)
	asoktest.OpenIdle(t, path, n, 15)
	require.Eventually(t, func() bool { return int64(s.conns.Len())+s.conns.Shed() >= int64(n) }, 10*time.Second, time.Millisecond,
		"the server accepted %d connections and shed %d of %d", s.conns.Len(), s.conns.Shed(), n)
	for i := 0; i < 5; i++ {
		start := time.Now()
		got, err := Call(context.Background(), path, []byte("version"), 0)
		require.NoError(t, err)
		require.Equal(t, "echo:version", string(got))
		require.Less(t, time.Since(start), time.Second, "a new client waited behind idle ones")
	}
	require.LessOrEqual(t, s.conns.Len(), DefaultMaxConns+1)
	require.Greater(t, s.conns.Shed(), int64(0))
}

// TestDrain: on Drain, a command that finishes within the grace period
// gets its real reply, one that does not gets ErrShuttingDown (its context
// cancelled with that cause), and new requests are refused.
func TestDrain(t *testing.T) {
	var cancelled atomic.Int64
	s := &Server{Handler: func(ctx context.Context, req []byte) []byte {
		if string(req) == "quick" {
			time.Sleep(100 * time.Millisecond)
			return []byte("done")
		}
		<-ctx.Done()
		if context.Cause(ctx) == ErrShuttingDown {
			cancelled.Add(1)
		}
		select {} // ignores its context: the server answers anyway
	}}
	path := filepath.Join(shortDir(t), "s.asok")
	l, err := Listen(path, 0o600)
	require.NoError(t, err)
	go s.Serve(l)
	ctx := context.Background()
	var wg sync.WaitGroup
	replies := make(chan string, 2)
	for _, req := range []string{"quick", "stuck"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := Call(ctx, path, []byte(req), 0)
			if err != nil {
				got = []byte(err.Error())
			}
			replies <- req + ": " + string(got)
		}()
	}
	require.Eventually(t, func() bool { return s.conns.Busy() == 2 }, 5*time.Second, time.Millisecond)
	s.Drain(500 * time.Millisecond)
	wg.Wait()
	close(replies)
	var got []string
	for r := range replies {
		got = append(got, r)
	}
	require.ElementsMatch(t, []string{"quick: done", "stuck: ERROR: daemon is shutting down\n"}, got)
	require.Equal(t, int64(1), cancelled.Load())
	reply, err := Call(ctx, path, []byte("quick"), 0)
	require.NoError(t, err)
	require.Equal(t, "ERROR: daemon is shutting down\n", string(reply))
	require.NoError(t, s.Close())
}
