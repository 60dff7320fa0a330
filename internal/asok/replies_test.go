package asok

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// testBudget is a ReplyBudget of max bytes.
type testBudget struct {
	max  int64
	used atomic.Int64
}

func (b *testBudget) ReserveReply(n int64) error {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return fmt.Errorf("reply of %d bytes does not fit", n)
	}
	return nil
}

func (b *testBudget) Release(n int64) { b.used.Add(-n) }

// TestUnreadRepliesAreBounded: admin-socket clients that never read a
// large reply hold at most the reply budget: past it their replies are
// dropped for the budget's error, other clients are still served, and a
// reply nobody reads is given up at its deadline (WriteTimeout plus a
// second per MiB), its budget coming back.
func TestUnreadRepliesAreBounded(t *testing.T) {
	const size, budget, clients = 512 << 10, 4 << 20, 24
	var made atomic.Int64
	b := &testBudget{max: budget}
	s := &Server{Replies: b, WriteTimeout: time.Second, Handler: func(_ context.Context, req []byte) []byte {
		if string(req) == "big" {
			defer made.Add(1)
			return bytes.Repeat([]byte("o"), size) // a fresh reply each time
		}
		return append([]byte("echo:"), req...)
	}}
	path := filepath.Join(shortDir(t), "s.asok")
	l, err := Listen(path, 0o600)
	require.NoError(t, err)
	go s.Serve(l)
	defer s.Close()
	before := testutil.HeapInuse()
	var conns []net.Conn
	for i := 0; i < clients; i++ {
		c := testutil.DialUnix(t, path)
		conns = append(conns, c)
		_, err := c.Write([]byte("big\x00"))
		require.NoError(t, err)
	}
	held := budget / size
	require.Eventually(t, func() bool { return made.Load() == clients && s.conns.Busy() <= held }, 20*time.Second, 5*time.Millisecond,
		"unread replies past the budget are still held: %d connections busy", s.conns.Busy())
	grown := testutil.HeapInuse() - before
	t.Logf("heap grown by %d KiB for %d unread replies of %d KiB (budget %d KiB)", grown>>10, clients, size>>10, budget>>10)
	require.Less(t, grown, int64(budget+4<<20), "unread replies pin more than the budget")

	got, err := Call(context.Background(), path, []byte("version"), 0)
	require.NoError(t, err)
	require.Equal(t, "echo:version", string(got), "small replies are still served")
	got, err = Call(context.Background(), path, []byte("big"), 0)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("ERROR: reply of %d bytes does not fit\n", size), string(got))

	require.Eventually(t, func() bool { return b.used.Load() == 0 }, 20*time.Second, 10*time.Millisecond,
		"replies nobody reads are held past their deadline")
	got, err = Call(context.Background(), path, []byte("big"), 0)
	require.NoError(t, err)
	require.Len(t, got, size)
	// A stuck client lost its reply: what it can read is cut short.
	_ = conns[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, conns[0])
	if err == nil || errors.Is(err, io.EOF) {
		require.Less(t, n, int64(4+size), "the whole reply was still there")
	}
}

// TestReplyDeadline: a reply's deadline grows with its size.
func TestReplyDeadline(t *testing.T) {
	require.Equal(t, 10*time.Second, ReplyDeadline(10*time.Second, 0))
	require.Equal(t, 11*time.Second, ReplyDeadline(10*time.Second, 1<<20))
	require.Equal(t, 37*time.Second+500*time.Millisecond, ReplyDeadline(10*time.Second, 27<<20+512<<10))
}
