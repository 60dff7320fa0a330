package asok

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      string
	}{
		{"{\"prefix\": \"x\"}\x00rest", `{"prefix": "x"}`, ""},
		{"abc\ndef", "abc", ""},
		{"\x00\x00\x00\x01", "\x00\x00\x00\x01", ""},
		{"\x00\x00", "", "legacy request"},
		{"", "", "EOF"},
		{"unterminated", "", "not terminated by a NUL byte"},
		{strings.Repeat("x", 20) + "\x00", "", "request too large: more than 16 bytes"},
	} {
		got, err := ReadRequest(bufio.NewReader(strings.NewReader(tc.in)), 16)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%q", tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, string(got))
	}
}

func TestServerAndCall(t *testing.T) {
	dir, err := os.MkdirTemp("", "asok")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "t.asok")
	l, err := Listen(path, 0o600)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	s := &Server{Handler: func(_ context.Context, req []byte) []byte { return append([]byte("echo:"), req...) }, MaxRequest: 64, ReadTimeout: 200 * time.Millisecond}
	go s.Serve(l)
	defer s.Close()

	ctx := context.Background()
	got, err := Call(ctx, path, []byte(`{"prefix": "x"}`), 0)
	require.NoError(t, err)
	require.Equal(t, `echo:{"prefix": "x"}`, string(got))
	got, err = Call(ctx, path, []byte(strings.Repeat("y", 100)), 0)
	require.NoError(t, err)
	require.Equal(t, "ERROR: request too large: more than 64 bytes\n", string(got))
	_, err = Call(ctx, path, []byte("x"), 3)
	require.ErrorContains(t, err, "exceeds the 3 byte limit")

	// A second Listen on a live socket is refused; a non-socket is left alone.
	_, err = Listen(path, 0o600)
	require.ErrorContains(t, err, "another process is serving this socket")
	plain := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(plain, nil, 0o600))
	_, err = Listen(plain, 0o600)
	require.ErrorContains(t, err, "exists and is not a socket")

	// A silent client is cut off at the read timeout with an error reply.
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	reply, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Contains(t, string(reply), "request not complete after the read timeout")

	// Call honours its context.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	slow := &Server{Handler: func(ctx context.Context, _ []byte) []byte { time.Sleep(time.Second); return nil }}
	l2, err := Listen(filepath.Join(dir, "slow.asok"), 0o600)
	require.NoError(t, err)
	go slow.Serve(l2)
	defer slow.Close()
	_, err = Call(cctx, filepath.Join(dir, "slow.asok"), []byte("x"), 0)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

func TestStaleSocketIsReplaced(t *testing.T) {
	dir, err := os.MkdirTemp("", "asok")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "stale.asok")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nobody listens
	l2, err := Listen(path, 0o600)
	require.NoError(t, err)
	l2.Close()
}
