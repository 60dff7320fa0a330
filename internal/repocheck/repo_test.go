package repocheck

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// root is the repository's top directory.
func root(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(d, "go.mod"))
	return d
}

// racePkgs reads RACE_PKGS from the Makefile (a ":=" assignment with
// backslash continuations) as directory patterns ("./pkg/module/...").
func racePkgs(t *testing.T, top string) []string {
	f, err := os.Open(filepath.Join(top, "Makefile"))
	require.NoError(t, err)
	defer f.Close()
	var text strings.Builder
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "RACE_PKGS :=") {
			in, line = true, strings.TrimPrefix(line, "RACE_PKGS :=")
		}
		if !in {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		text.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if !cont {
			break
		}
	}
	pkgs := strings.Fields(text.String())
	require.NotEmpty(t, pkgs, "the Makefile has no RACE_PKGS")
	return pkgs
}

func covered(pkgs []string, dir string) bool {
	for _, p := range pkgs {
		p = strings.TrimPrefix(p, "./")
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if dir == base || strings.HasPrefix(dir, base+"/") {
				return true
			}
		} else if dir == p {
			return true
		}
	}
	return false
}

// TestRaceDetectorWhereAsked: make test runs the race detector on the
// packages with concurrent code the issue names, and on every package
// whose tests say they are meant to run with -race.
func TestRaceDetectorWhereAsked(t *testing.T) {
	top := root(t)
	pkgs := racePkgs(t, top)
	for _, must := range []string{"pkg/module", "internal/modhost", "internal/daemon", "internal/api", "internal/asok", "internal/embedded"} {
		assert.True(t, covered(pkgs, must), "%s must run under -race in make test", must)
	}
	asks := regexp.MustCompile(`(?i)run (it |them )?with -race|under the race detector`)
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, filepath.Join(top, "internal", "repocheck")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if asks.Match(b) {
			rel, _ := filepath.Rel(top, filepath.Dir(path))
			assert.True(t, covered(pkgs, filepath.ToSlash(rel)), "%s asks for -race but %s is not in the Makefile's RACE_PKGS", path, rel)
		}
		return nil
	})
	require.NoError(t, err)
}

// TestClusterScriptStopIsQuiet: scanning for stray daemons while processes
// come and go prints no "No such file or directory" (the redirection of a
// vanished /proc/PID/cmdline was not silenced), and still finds a stray
// daemon of the cluster.
func TestClusterScriptStopIsQuiet(t *testing.T) {
	testutil.NeedTool(t, "bash", "bash")
	top := root(t)
	dir := testutil.ShortTempDir(t)
	cluster := filepath.Join(dir, "c")
	require.NoError(t, os.MkdirAll(cluster, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(cluster, "ceph.conf"), nil, 0o600))
	proc := filepath.Join(dir, "proc")
	// A process that exited between the glob and the read (its cmdline is
	// gone), one of another cluster, and a stray daemon of this one (pids
	// above the kernel's maximum, so the kill that follows hits nobody).
	for pid, cmdline := range map[string]string{
		"9999997": "",
		"9999998": "ceph-mgr\x00-c\x00/elsewhere/ceph.conf\x00",
		"9999999": "ceph-mgr\x00-c\x00" + filepath.Join(cluster, "ceph.conf") + "\x00-i\x00x\x00",
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(proc, pid), 0o700))
		if cmdline == "" {
			require.NoError(t, os.Symlink(filepath.Join(proc, "gone"), filepath.Join(proc, pid, "cmdline")))
			continue
		}
		require.NoError(t, os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o600))
	}
	cmd := exec.Command(filepath.Join(top, "scripts", "ceph-cluster.sh"), "stop", cluster)
	cmd.Env = append(os.Environ(), "CEPH_CLUSTER_PROC="+proc)
	res := testutil.Run(t, cmd)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.NotContains(t, res.Stderr, "No such file or directory")
	assert.Contains(t, res.Stderr, "stopping stray daemons of this cluster: 9999999\n")
}
