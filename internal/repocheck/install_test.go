package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// TestMakeInstall: `make install` puts the three binaries and mgrctl's
// completions where a shell finds them under PREFIX (bash-completion,
// zsh's site-functions, fish's vendor_completions.d), and what it
// installs runs.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	top := root(t)
	dest := t.TempDir()
	cmd := exec.Command("make", "install", "DESTDIR="+dest, "PREFIX=/usr")
	cmd.Dir = top
	r := testutil.Run(t, cmd)
	require.Zero(t, r.Code, "make install: %s%s", r.Stdout, r.Stderr)
	for path, mode := range map[string]os.FileMode{
		"usr/bin/ceph-mgr":    0o755,
		"usr/bin/mgrctl":      0o755,
		"usr/bin/gomgr-rados": 0o755,
		"usr/share/bash-completion/completions/mgrctl":    0o644,
		"usr/share/zsh/site-functions/_mgrctl":            0o644,
		"usr/share/fish/vendor_completions.d/mgrctl.fish": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		require.NoError(t, err, path)
		require.Equal(t, mode, fi.Mode().Perm(), path)
	}
	r = testutil.Run(t, exec.Command(filepath.Join(dest, "usr/bin/mgrctl"), "completion", "bash"))
	require.Zero(t, r.Code, r.Stderr)
	installed, err := os.ReadFile(filepath.Join(dest, "usr/share/bash-completion/completions/mgrctl"))
	require.NoError(t, err)
	require.Equal(t, r.Stdout, string(installed), "the installed bash completion is the installed mgrctl's")
	r = testutil.Run(t, exec.Command("bash", "-c", "source "+filepath.Join(dest, "usr/share/bash-completion/completions/mgrctl")+" && complete -p mgrctl"))
	require.Zero(t, r.Code, "bash cannot load the completion: %s", r.Stderr)
	require.Contains(t, r.Stdout, "mgrctl")
}
