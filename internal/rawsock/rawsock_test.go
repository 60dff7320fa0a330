package rawsock

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// Wrap's connection reads and writes as net.Conn does: whole writes,
// partial reads, io.EOF at the end, net.ErrClosed after Close.
func TestReadWrite(t *testing.T) {
	a, b := testutil.UnixPair(t)
	ra, rb := Wrap(a), Wrap(b)
	require.IsType(t, conn{}, ra)
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
	assert.True(t, strings.HasPrefix(err.Error(), "read unix "), "%v", err)
	_, err = ra.Write([]byte("x"))
	assert.True(t, errors.Is(err, net.ErrClosed), "write after close: %v", err)
}

func TestDeadlines(t *testing.T) {
	a, b := testutil.UnixPair(t)
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

func TestOnlyUnixSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, a, Wrap(a))
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
