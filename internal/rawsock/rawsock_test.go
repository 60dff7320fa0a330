package rawsock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// tcpPair is two connected TCP connections on the loopback.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	b := <-accepted
	require.NotNil(t, b)
	return a, b
}

// pairs are the kinds of connection Wrap makes raw.
var pairs = []struct {
	net  string
	pair func(testing.TB) (net.Conn, net.Conn)
	raw  net.Conn
}{
	{"unix", testutil.UnixPair, unixConn{}},
	{"tcp", tcpPair, tcpConn{}},
}

// Wrap's connection reads and writes as net.Conn does: whole writes,
// partial reads, io.EOF at the end, net.ErrClosed after Close.
func TestReadWrite(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.net, func(t *testing.T) { testReadWrite(t, p.net, p.pair, p.raw) })
	}
}

func testReadWrite(t *testing.T, network string, pair func(testing.TB) (net.Conn, net.Conn), raw net.Conn) {
	a, b := pair(t)
	ra, rb := Wrap(a), Wrap(b)
	require.IsType(t, raw, ra)
	defer rb.Close()

	big := make([]byte, 1<<20) // more than the socket buffer: the write waits for the reader
	for i := range big {
		big[i] = byte(i)
	}
	got := make(chan []byte, 1)
	go func() { buf, _ := io.ReadAll(rb); got <- buf }()
	n, err := ra.Write(big)
	require.NoError(t, err)
	assert.Equal(t, len(big), n)
	n, err = ra.Write(nil)
	assert.NoError(t, err)
	assert.Zero(t, n)
	n, err = ra.Read(nil)
	assert.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, ra.Close())
	assert.Equal(t, big, <-got, "all bytes, in order, then io.EOF")

	_, err = ra.Read(make([]byte, 8))
	assert.True(t, errors.Is(err, net.ErrClosed), "read after close: %v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "read "+network+" "), "%v", err)
	_, err = ra.Write([]byte("x"))
	assert.True(t, errors.Is(err, net.ErrClosed), "write after close: %v", err)
}

func TestDeadlines(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.net, func(t *testing.T) { testDeadlines(t, p.pair) })
	}
}

func testDeadlines(t *testing.T, pair func(testing.TB) (net.Conn, net.Conn)) {
	a, b := pair(t)
	defer b.Close() // never reads, never writes
	ra := Wrap(a)
	defer ra.Close()
	require.NoError(t, ra.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	start := time.Now()
	n, err := ra.Write(make([]byte, 16<<20))
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	var ne net.Error
	assert.True(t, errors.As(err, &ne) && ne.Timeout(), "a net.Error that says Timeout: %v", err)
	assert.Less(t, n, 16<<20)
	require.NoError(t, ra.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err = ra.Read(make([]byte, 8))
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestOtherConnectionsAsTheyAre(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, a, Wrap(a))
}

// An HTTP server on Listener serves as on its listener: requests on one
// connection, a body written in pieces, the connection's CloseWrite.
func TestListenerHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 100; i++ {
				_, _ = w.Write(bytes.Repeat([]byte{'a' + byte(i%26)}, 4096))
			}
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		},
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(Listener(ln)) }()
	defer func() {
		require.NoError(t, srv.Close())
		assert.ErrorIs(t, <-done, http.ErrServerClosed)
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		res, err := client.Get("http://" + ln.Addr().String() + "/")
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		assert.Len(t, body, 100*4096)
		assert.Equal(t, byte('z'), body[25*4096])
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, conns, 1, "one connection, kept alive")
	assert.IsType(t, tcpConn{}, conns[0])
	_, ok := conns[0].(interface{ CloseWrite() error })
	assert.True(t, ok, "the TCP connection's CloseWrite")
}

func ExampleWrap() {
	dir, _ := os.MkdirTemp("", "rawsock")
	defer os.RemoveAll(dir)
	ln, _ := net.Listen("unix", filepath.Join(dir, "s"))
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		c = Wrap(c)
		defer c.Close()
		buf := make([]byte, 5)
		n, _ := io.ReadFull(c, buf)
		_, _ = c.Write(buf[:n])
	}()
	c, _ := net.Dial("unix", ln.Addr().String())
	c = Wrap(c)
	defer c.Close()
	_, _ = c.Write([]byte("hello"))
	buf := make([]byte, 5)
	_, _ = io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: hello
}

// WriteFD writes what the socket takes at once, and says EAGAIN when it
// takes nothing.
func TestWriteFD(t *testing.T) {
	a, b := testutil.UnixPair(t)
	defer a.Close()
	defer b.Close()
	rc, err := a.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	var total int
	var last error
	require.NoError(t, rc.Control(func(fd uintptr) {
		n, err := WriteFD(fd, nil)
		assert.Zero(t, n)
		assert.NoError(t, err)
		for i := 0; i < 10000 && last == nil; i++ {
			n, last = WriteFD(fd, make([]byte, 64<<10))
			total += n
		}
	}))
	assert.Equal(t, syscall.EAGAIN, last, "a full socket")
	assert.Positive(t, total)
	got := make([]byte, 5)
	n, err := io.ReadFull(b, got)
	assert.NoError(t, err)
	assert.Equal(t, 5, n)
}
