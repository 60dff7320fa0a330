package privdir

import (
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

// nobody is a uid that is neither root nor the test's user.
const nobody = 65534

// needRoot: changing owners needs root; under CI the tests run as root
// (make test installs packages), so there a non-root run is a failure.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if testutil.CI() {
		t.Fatal("these checks need root to create files owned by another user (CI=true)")
	}
	t.Skip("needs root to create files owned by another user")
}

func TestDefaultRunDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	d, err := DefaultRunDir(env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}))
	require.NoError(t, err)
	assert.Equal(t, "/run/user/1000/gomgr", d)

	// A relative XDG_RUNTIME_DIR is ignored, as the XDG spec says.
	d, err = DefaultRunDir(env(map[string]string{"XDG_RUNTIME_DIR": "run"}))
	if os.Geteuid() == 0 {
		require.NoError(t, err)
		assert.Equal(t, "/run/gomgr", d)
	} else {
		assert.ErrorIs(t, err, ErrNoDefault)
	}
	// Never a name under the shared temporary directory.
	d, _ = DefaultRunDir(env(nil))
	assert.False(t, strings.HasPrefix(d, os.TempDir()), d)
}

func TestCheck(t *testing.T) {
	needRoot(t)
	base := testutil.ShortTempDir(t) // 0700, below /tmp (root, sticky)
	mk := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(p, 0o700))
		require.NoError(t, os.Chmod(p, mode))
		require.NoError(t, os.Lchown(p, uid, -1))
		return p
	}
	// mkg is mk with a group: nobody's group is nobody else's private one.
	mkg := func(name string, mode os.FileMode, gid int) string {
		p := mk(name, mode, 0)
		require.NoError(t, os.Lchown(p, -1, gid))
		return p
	}
	for _, tc := range []struct {
		name string
		dir  func() string
		want string // "" = accepted
	}{
		{"own 0700", func() string { return mk("ok", 0o700, 0) }, ""},
		{"own 0755", func() string { return mk("ok755", 0o755, 0) }, ""},
		{"world-writable", func() string { return mk("ww", 0o777, 0) }, "writable by group or others (mode 0777)"},
		{"group-writable", func() string { return mkg("gw", 0o770, nobody) }, "writable by group or others (mode 0770)"},
		{"group-writable by the user's private group", func() string { return mkg("upg", 0o775, privateGID(t)) }, ""},
		{"below a group-writable dir", func() string {
			mkg("gwp", 0o775, nobody)
			return mk("gwp/run", 0o700, 0)
		}, "without the sticky bit"},
		{"other owner", func() string { return mk("other", 0o700, nobody) }, "owned by uid 65534"},
		{"below a world-writable dir", func() string {
			mk("open", 0o777, 0)
			return mk("open/run", 0o700, 0)
		}, "without the sticky bit"},
		{"below a sticky world-writable dir", func() string {
			mk("sticky", 0o777|os.ModeSticky, 0)
			p := mk("sticky/run", 0o700, 0)
			require.NoError(t, os.Chmod(filepath.Join(base, "sticky"), 0o777|os.ModeSticky))
			return p
		}, ""},
		{"below a dir of another user", func() string {
			p := mk("theirs/run", 0o700, 0)
			require.NoError(t, os.Lchown(filepath.Join(base, "theirs"), nobody, -1))
			return p
		}, "owned by uid 65534, who could replace"},
		{"through our own link", func() string {
			target := mk("target", 0o700, 0)
			link := filepath.Join(base, "ourlink")
			require.NoError(t, os.Symlink(target, link))
			return link
		}, ""},
		{"through another user's link", func() string {
			target := mk("target2", 0o700, 0)
			link := filepath.Join(base, "theirlink")
			require.NoError(t, os.Symlink(target, link))
			require.NoError(t, os.Lchown(link, nobody, -1))
			return link + "/."
		}, "symbolic link owned by uid 65534"},
		{"a file", func() string {
			p := filepath.Join(base, "file")
			require.NoError(t, os.WriteFile(p, nil, 0o600))
			return p
		}, "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("run directory", tc.dir())
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "run directory")
		})
	}
}

// privateGID is the test user's private group (root's is root).
func privateGID(t *testing.T) int {
	gid := os.Getegid()
	if !privateGroup(uint32(gid)) {
		t.Skip("the test user's group is not a private group")
	}
	return gid
}

func TestEnsureCreatesNothingBelowAnUntrustedDir(t *testing.T) {
	needRoot(t)
	base := testutil.ShortTempDir(t)
	theirs := filepath.Join(base, "theirs")
	require.NoError(t, os.Mkdir(theirs, 0o777))
	require.NoError(t, os.Chmod(theirs, 0o777))
	require.NoError(t, os.Chown(theirs, nobody, -1))
	err := Ensure("run directory", filepath.Join(theirs, "a", "b"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to create it")
	assert.NoDirExists(t, filepath.Join(theirs, "a"), "nothing may be created in another user's directory")

	// Through another user's link: refused before anything is made at
	// the link's target.
	target := testutil.ShortTempDir(t)
	link := filepath.Join(base, "link")
	require.NoError(t, os.Symlink(target, link))
	require.NoError(t, os.Lchown(link, nobody, -1))
	require.Error(t, Ensure("run directory", filepath.Join(link, "run")))
	assert.NoDirExists(t, filepath.Join(target, "run"))
}

func TestOpenFileRefusesAnotherUsersFile(t *testing.T) {
	needRoot(t)
	dir := testutil.ShortTempDir(t)
	p := filepath.Join(dir, "ceph-mgr.x.hello.log")
	require.NoError(t, os.WriteFile(p, nil, 0o666))
	require.NoError(t, os.Chown(p, nobody, -1))
	_, err := OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "owned by uid 65534")
}

func TestEnsureCreatesPrivate(t *testing.T) {
	base := testutil.ShortTempDir(t)
	p := filepath.Join(base, "a", "b")
	require.NoError(t, Ensure("data directory", p))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	assert.Error(t, Ensure("data directory", ""))
}

func TestOpenFileRefusesLinksAndSpecialFiles(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o600))
	link := filepath.Join(dir, "mgr.lock")
	require.NoError(t, os.Symlink(victim, link))

	_, err := OpenFile(link, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "symbolic link")
	b, _ := os.ReadFile(victim)
	assert.Equal(t, "precious", string(b), "the link's target must be untouched")
	assert.Error(t, CheckNotSymlink(link))

	// A dangling link is refused too (O_CREAT would create its target).
	dangling := filepath.Join(dir, "dangling")
	require.NoError(t, os.Symlink(filepath.Join(dir, "created-through-link"), dangling))
	_, err = OpenFile(dangling, os.O_CREATE|os.O_WRONLY, 0o600)
	require.Error(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "created-through-link"))

	// A FIFO is refused at once, not waited on.
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan error, 1)
	go func() { _, err := OpenFile(fifo, os.O_RDWR, 0); done <- err }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(5 * time.Second):
		t.Fatal("OpenFile blocked on a FIFO")
	}
	assert.Error(t, CheckNotSymlink(fifo))

	f, err := OpenFile(filepath.Join(dir, "plain"), os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString("ok")
	assert.NoError(t, err)
	f.Close()
	assert.NoError(t, CheckNotSymlink(filepath.Join(dir, "plain")))
	assert.NoError(t, CheckNotSymlink(filepath.Join(dir, "missing")))
}

func TestMkdirPrivate(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	p, err := MkdirPrivate(dir, "standby")
	require.NoError(t, err)
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	_, err = MkdirPrivate(dir, "standby") // again: fine
	require.NoError(t, err)

	other := testutil.ShortTempDir(t)
	require.NoError(t, os.Symlink(other, filepath.Join(dir, "linked")))
	_, err = MkdirPrivate(dir, "linked")
	require.Error(t, err)
}
