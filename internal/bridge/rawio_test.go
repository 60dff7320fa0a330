package bridge

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawConn reads and writes as net.Conn does: whole writes, partial
// reads, io.EOF at the end, net.ErrClosed after Close, the write deadline
// honoured.
func TestRawConn(t *testing.T) {
	a, b := unixPair(t)
	ra, rb := newRawConn(a), newRawConn(b)
	require.IsType(t, rawConn{}, ra)
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
	require.NoError(t, ra.Close())
	assert.Equal(t, big, <-got, "all bytes, in order, then io.EOF")

	_, err = ra.Read(make([]byte, 8))
	assert.True(t, errors.Is(err, net.ErrClosed), "read after close: %v", err)
	_, err = ra.Write([]byte("x"))
	assert.True(t, errors.Is(err, net.ErrClosed), "write after close: %v", err)
}

func TestRawConnWriteDeadline(t *testing.T) {
	a, b := unixPair(t)
	defer b.Close() // never read
	ra := newRawConn(a)
	defer ra.Close()
	require.NoError(t, ra.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	start := time.Now()
	n, err := ra.Write(make([]byte, 16<<20))
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	assert.Less(t, n, 16<<20)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestRawConnOnlyForUnixSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Equal(t, a, newRawConn(a))
}
