package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/stretchr/testify/require"
)

// checkStore runs ceph-mgr --check-store on a data directory.
func checkStore(t *testing.T, data string) cliResult {
	t.Helper()
	return testutil.Run(t, exec.Command(mgrBinary, "--check-store", "--data", data))
}

// TestStoreChecksums: through the real daemon, a stored value whose bytes
// changed on disk is answered with -EIO (never served), raises
// MGR_STORE_CORRUPT naming the key, and is reported by --check-store;
// setting the key again repairs it.
func TestStoreChecksums(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	run := func(c *api.Client, cmd map[string]any) objectformat.Result {
		t.Helper()
		res, err := c.Command(ctx, cmd, nil)
		require.NoError(t, err)
		return res
	}
	const secret = "THE-SECRET-VALUE-0123456789"

	// startMgr returns once the API answers; commands need the active role.
	active := func(p *proc) {
		require.Eventually(t, func() bool { return p.status().Role == "active" }, 10*time.Second, 10*time.Millisecond)
	}
	p := startMgr(t, "x", data, dir)
	active(p)
	c := api.NewClient(p.api())
	for k, v := range map[string]string{"mgr/t/secret": secret, "mgr/t/other": "fine"} {
		res := run(c, map[string]any{"prefix": "config-key set", "key": k, "val": v})
		require.Zero(t, res.Retval, res.Stderr)
	}
	c.Close()

	r := checkStore(t, data)
	require.Equal(t, 1, r.Code, "the running daemon holds the store: %s", r.Stderr)
	require.Contains(t, r.Stderr, "is held by a running ceph-mgr")
	p.stop()
	r = checkStore(t, data)
	require.Equal(t, 0, r.Code, "a sound store passes: %s%s", r.Stdout, r.Stderr)
	require.Contains(t, r.Stdout, "store check: ok")

	// Flip one bit in the value, wherever bbolt left a copy of it.
	path := filepath.Join(data, embedded.DBName)
	db, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for i := bytes.Index(db, []byte(secret)); i >= 0; i = bytes.Index(db, []byte(secret)) {
		db[i+3] ^= 0x20
		n++
	}
	require.NotZero(t, n)
	require.NoError(t, os.WriteFile(path, db, 0o600))

	r = checkStore(t, data)
	require.Equal(t, 1, r.Code, "%s", r.Stdout)
	require.Contains(t, r.Stdout, "PROBLEM: config-key 'mgr/t/secret': checksum mismatch")
	require.Contains(t, r.Stderr, "1 problem(s) found")

	p = startMgr(t, "x", data, dir)
	active(p)
	c = api.NewClient(p.api())
	defer c.Close()
	res := run(c, map[string]any{"prefix": "config-key get", "key": "mgr/t/secret"})
	require.Equal(t, -int(syscall.EIO), res.Retval, "a value failing its checksum is not served: %q %s", res.Stdout, res.Stderr)
	require.Empty(t, res.Stdout)
	require.Contains(t, res.Stderr, "config-key 'mgr/t/secret': the stored value fails its checksum")
	res = run(c, map[string]any{"prefix": "config-key get", "key": "mgr/t/other"})
	require.Zero(t, res.Retval, res.Stderr)
	require.Contains(t, string(res.Stdout), "fine")
	res = run(c, map[string]any{"prefix": "health", "detail": "detail"})
	require.Contains(t, string(res.Stdout), "HEALTH_WARN")
	require.Contains(t, string(res.Stdout), "MGR_STORE_CORRUPT: the stored value of config-key 'mgr/t/secret' fails its checksum")

	res = run(c, map[string]any{"prefix": "config-key set", "key": "mgr/t/secret", "val": "new"})
	require.Zero(t, res.Retval, res.Stderr)
	res = run(c, map[string]any{"prefix": "config-key get", "key": "mgr/t/secret"})
	require.Zero(t, res.Retval, res.Stderr)
	res = run(c, map[string]any{"prefix": "health"})
	require.Equal(t, "HEALTH_OK", string(bytes.TrimSpace(res.Stdout)), "setting the key repairs it")
	p.stop()
	r = checkStore(t, data)
	require.Equal(t, 0, r.Code, "%s%s", r.Stdout, r.Stderr)
}

// TestStoreRefusesEmptyFile: a 0-byte database file is not taken for a
// fresh start (that would lose all state and change the fsid): ceph-mgr
// exits non-zero saying how to start a new store on purpose, and leaves
// the file alone.
func TestStoreRefusesEmptyFile(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	require.NoError(t, os.MkdirAll(data, 0o700))
	path := filepath.Join(data, embedded.DBName)
	require.NoError(t, os.WriteFile(path, nil, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := testutil.Run(t, exec.CommandContext(ctx, mgrBinary, "-i", "x", "--data", data, "--run-dir", dir))
	require.Equal(t, 1, r.Code, "%s%s", r.Stdout, r.Stderr)
	require.Contains(t, r.Stderr, path+" is empty (0 bytes)")
	require.Contains(t, r.Stderr, "move the file aside (mv "+path)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, fi.Size(), "the file is left as it was")

	r = checkStore(t, data)
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "is empty (0 bytes)")
}

// writtenBytes is what process pid has passed to write calls (wchar in
// /proc/PID/io).
func writtenBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Skipf("cannot watch the daemon's writes: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no wchar in /proc/%d/io", pid)
	return 0
}

// TestCrashDuringLongWrite: kill -9 while the daemon writes a long value
// (stored in chunks) leaves the old value or the new one, whole, and a
// store that passes --check-store (no stray chunks).
func TestCrashDuringLongWrite(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	value := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7) ^ seed
		}
		return b
	}
	set := func(c *api.Client, v []byte) error {
		res, err := c.Command(ctx, map[string]any{"prefix": "config-key set", "key": "long"}, v)
		if err == nil && res.Retval != 0 {
			err = fmt.Errorf("%d %s", res.Retval, res.Stderr)
		}
		return err
	}
	current := value(8<<20, 1)
	p := startMgr(t, "x", data, dir)
	c := api.NewClient(p.api())
	require.NoError(t, set(c, current))
	c.Close()
	outcomes := map[string]int{}
	for round, n := range []int{12<<20 + 5, 3<<20 + 1, 9 << 20} {
		next := value(n, byte(round+2))
		c := api.NewClient(p.api())
		before := writtenBytes(t, p.cmd.Process.Pid)
		done := make(chan error, 1)
		go func() { done <- set(c, next) }()
		// Kill once the commit has written part of the value's pages.
		require.Eventually(t, func() bool { return writtenBytes(t, p.cmd.Process.Pid)-before >= 2<<20 }, 10*time.Second, 100*time.Microsecond)
		p.kill9()
		<-done
		c.Close()

		p = startMgr(t, "x", data, dir)
		require.Eventually(t, func() bool { return p.status().Role == "active" }, 10*time.Second, 10*time.Millisecond)
		c = api.NewClient(p.api())
		res, err := c.Command(ctx, map[string]any{"prefix": "config-key get", "key": "long"}, nil)
		require.NoError(t, err)
		require.Zero(t, res.Retval, res.Stderr)
		switch {
		case bytes.Equal(res.Stdout, current):
			outcomes["old"]++
		case bytes.Equal(res.Stdout, next):
			outcomes["new"]++
			current = next
		default:
			t.Fatalf("round %d: after kill -9 the value is neither the old one nor the new one (%d bytes)", round, len(res.Stdout))
		}
		res, err = c.Command(ctx, map[string]any{"prefix": "health"}, nil)
		require.NoError(t, err)
		require.Equal(t, "HEALTH_OK", string(bytes.TrimSpace(res.Stdout)))
		c.Close()
		p.stop()
		r := checkStore(t, data)
		require.Equal(t, 0, r.Code, "%s%s", r.Stdout, r.Stderr)
		p = startMgr(t, "x", data, dir)
	}
	t.Logf("outcomes of kill -9 during a long write: %v", outcomes)
	p.stop()
}
