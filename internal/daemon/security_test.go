package daemon

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// runErr runs a daemon that is expected to refuse to run and returns its
// error (a daemon still running after 10 s fails the test).
func runErr(t *testing.T, o Options) error {
	t.Helper()
	if o.ID == "" {
		o.ID = "x"
	}
	o.Log = io.Discard
	o.Registry = modhost.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, o)
	if err == nil {
		t.Fatal("the daemon ran")
	}
	return err
}

// TestUntrustedDirectories: a run or data directory another user owns or
// can write is refused before anything is created in it; missing ones are
// created 0700 (issue #9 item 1).
func TestUntrustedDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		if testutil.CI() {
			t.Fatal("needs root to create directories owned by another user (CI=true)")
		}
		t.Skip("needs root to create directories owned by another user")
	}
	base := testutil.ShortTempDir(t)
	// Directories in nobody's group: a group that is not the user's own.
	dir := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(base, name)
		require.NoError(t, os.Mkdir(p, 0o700))
		require.NoError(t, os.Chmod(p, mode))
		require.NoError(t, os.Chown(p, uid, 65534))
		return p
	}
	good := dir("good", 0o700, 0)
	for _, tc := range []struct {
		name            string
		data, run, logs string
		want            string
	}{
		{"run dir of another user", filepath.Join(good, "d1"), dir("theirs", 0o700, 65534), "", "run directory " + filepath.Join(base, "theirs") + " is owned by uid 65534"},
		{"world-writable run dir", filepath.Join(good, "d2"), dir("open", 0o777, 0), "", "is writable by group or others (mode 0777)"},
		{"data dir of another user", dir("theirdata", 0o700, 65534), filepath.Join(good, "r3"), "", "data directory " + filepath.Join(base, "theirdata") + " is owned by uid 65534"},
		{"group-writable data dir", dir("gdata", 0o770, 0), filepath.Join(good, "r4"), "", "data directory"},
		{"log dir of another user", filepath.Join(good, "d5"), filepath.Join(good, "r5"), dir("theirlogs", 0o700, 65534), "log directory " + filepath.Join(base, "theirlogs") + " is owned by uid 65534"},
		{"log dir below another user's dir", filepath.Join(good, "d6"), filepath.Join(good, "r6"), filepath.Join(dir("theirs2", 0o777, 65534), "logs"), "refusing to create it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runErr(t, Options{DataDir: tc.data, RunDir: tc.run, LogDir: tc.logs})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			ents, _ := os.ReadDir(tc.run)
			for _, e := range ents {
				assert.False(t, strings.HasPrefix(e.Name(), "ceph-mgr."), "created %s in a refused directory", e.Name())
			}
		})
	}

	// A --log-file in a shared directory (/tmp) is refused before the
	// daemon opens anything there.
	var stderr bytes.Buffer
	code := Main([]string{"-i", "x", "--data", filepath.Join(good, "d7"), "--run-dir", filepath.Join(good, "r7"),
		"--log-file", filepath.Join(os.TempDir(), "gomgr-test-shared.log")}, nil, io.Discard, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "--log-file: log directory "+os.TempDir()+" is writable by group or others")
	assert.NoFileExists(t, filepath.Join(os.TempDir(), "gomgr-test-shared.log"))

	// Missing directories are created private, and the daemon runs.
	data, run := filepath.Join(good, "new", "data"), filepath.Join(good, "new", "run")
	ctx, cancel := context.WithCancel(context.Background())
	d, done := startInProcess(t, ctx, "x", data, run, modhost.NewRegistry())
	require.NotNil(t, d)
	for _, p := range []string{data, run} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), p)
	}
	cancel()
	require.NoError(t, <-done)
}

// TestNoDefaultRunDirUnderTmp: without $XDG_RUNTIME_DIR a non-root
// ceph-mgr has no default run directory and says to pass --run-dir; root
// uses /run/gomgr; never a name under the shared /tmp.
func TestNoDefaultRunDirUnderTmp(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	def := NewCommand(nil, io.Discard, io.Discard).Flags().Lookup("run-dir").DefValue
	if os.Geteuid() == 0 {
		assert.Equal(t, "/run/gomgr", def)
	} else {
		assert.Equal(t, "", def)
		var stderr bytes.Buffer
		code := Main([]string{"-i", "x", "--data", testutil.ShortTempDir(t)}, nil, io.Discard, &stderr)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr.String(), "pass --run-dir")
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	def = NewCommand(nil, io.Discard, io.Discard).Flags().Lookup("run-dir").DefValue
	assert.Equal(t, "/run/user/4242/gomgr", def)
}

// TestSymlinksNotFollowed: a symbolic link planted where the daemon
// creates a file (the election lock, the id lock, a module's log file) is
// refused and its target left untouched (issue #9 item 2).
func TestSymlinksNotFollowed(t *testing.T) {
	for _, name := range []string{"mgr.lock", "mgr.x.pid"} {
		t.Run(name, func(t *testing.T) {
			base := testutil.ShortTempDir(t)
			data := filepath.Join(base, "data")
			require.NoError(t, os.Mkdir(data, 0o700))
			victim := filepath.Join(base, "victim")
			require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o600))
			require.NoError(t, os.Symlink(victim, filepath.Join(data, name)))
			err := runErr(t, Options{DataDir: data, RunDir: base})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "symbolic link")
			b, _ := os.ReadFile(victim)
			assert.Equal(t, "precious", string(b))
		})
	}

	t.Run("log_to_file", func(t *testing.T) {
		base := testutil.ShortTempDir(t)
		victim := filepath.Join(base, "victim")
		require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o600))
		logs := filepath.Join(base, "logs")
		require.NoError(t, os.Mkdir(logs, 0o700))
		require.NoError(t, os.Symlink(victim, filepath.Join(logs, "ceph-mgr.x.chatty.log")))

		reg := modhost.NewRegistry()
		require.NoError(t, reg.Register(module.Info{Name: "chatty", AlwaysOn: true, New: func() module.Module { return &chatty{} }}))
		var daemonLog testutil.SyncBuffer
		d, cancel, done := runInProcess(t, context.Background(), Options{DataDir: filepath.Join(base, "data"), RunDir: base, LogDir: logs,
			Log: &daemonLog, Registry: reg})
		waitActive(t, d)
		res := d.Command(context.Background(), map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/chatty/log_to_file", "value": "true"}, nil, "rw")
		require.Equal(t, 0, res.Retval, res.Stderr)
		// The option is applied asynchronously: log until the daemon
		// reports the refused file, checking the link's target each time.
		refused := false
		for deadline := time.Now().Add(10 * time.Second); !refused && time.Now().Before(deadline); {
			res = d.Command(context.Background(), map[string]any{"prefix": "chatty say"}, nil, "rw")
			require.Equal(t, 0, res.Retval, res.Stderr)
			b, _ := os.ReadFile(victim)
			require.Equal(t, "precious", string(b), "the module log must not be appended through the link")
			refused = strings.Contains(daemonLog.String(), "refusing to follow it")
			time.Sleep(10 * time.Millisecond)
		}
		assert.True(t, refused, "the daemon did not report the refused log file: %s", daemonLog.String())
		cancel()
		require.NoError(t, <-done)
	})
}

// TestSecondDaemonSameID: a second daemon with the id of a running one on
// the same data directory is refused, naming the running one; another id
// becomes a standby as before (issue #9 item 11).
func TestSecondDaemonSameID(t *testing.T) {
	base := testutil.ShortTempDir(t)
	data := filepath.Join(base, "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, doneA := startInProcess(t, ctx, "x", data, filepath.Join(base, "a"), modhost.NewRegistry())
	require.Eventually(t, func() bool { return a.Role() == RoleActive }, 5*time.Second, 5*time.Millisecond)

	err := runErr(t, Options{ID: "x", DataDir: data, RunDir: filepath.Join(base, "b")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mgr.x is already running on data directory")
	assert.Contains(t, err.Error(), "pid ")

	b, doneB := startInProcess(t, ctx, "y", data, filepath.Join(base, "c"), modhost.NewRegistry())
	require.Eventually(t, func() bool { return b.Role() == RoleStandby }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-doneA)
	require.NoError(t, <-doneB)

	// Once the first one has exited, the id is free again.
	ctx2, cancel2 := context.WithCancel(context.Background())
	c, doneC := startInProcess(t, ctx2, "x", data, filepath.Join(base, "a"), modhost.NewRegistry())
	require.Eventually(t, func() bool { return c.Role() == RoleActive }, 5*time.Second, 5*time.Millisecond)
	cancel2()
	require.NoError(t, <-doneC)
}

// chatty logs a line on "chatty say".
type chatty struct{ h *module.Handle }

type chattySayArgs struct {
	clicommand.Read `prefix:"chatty say"`
}

func (c *chatty) Init(h *module.Handle) error { c.h = h; return nil }

func (c *chatty) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(context.Context, *chattySayArgs) objectformat.Result {
		c.h.Log().Warn("something worth writing down")
		return objectformat.OK("")
	})}
}
