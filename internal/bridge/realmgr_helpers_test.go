package bridge

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/internal/testutil"
)

// buildRealMgrBinary builds cmd/ceph-mgr (the built-in modules) into a
// temporary directory for the real-cluster tests, with an empty module
// directory for `bridge install`: the repository root, the directory,
// the binary and the module directory.
func buildRealMgrBinary(t *testing.T) (root, dir, bin, modules string) {
	t.Helper()
	testutil.NeedCephTools(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir = t.TempDir()
	bin = filepath.Join(dir, "ceph-mgr")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ceph-mgr")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// The modules' Handle.Rados: gomgr-rados next to the binary, where
	// the bridged process looks for it.
	require.NoError(t, testutil.BuildRadosHelper(root, dir, radosproc.HelperName, radosproc.HelperEnv))
	modules = filepath.Join(dir, "modules")
	require.NoError(t, os.Mkdir(modules, 0o755))
	return root, dir, bin, modules
}

// cephCLI returns a runner of the ceph CLI against the cluster of conf:
// its stdout, stderr and exit status (60 s at most a command).
func cephCLI(t *testing.T, conf string) func(args ...string) (stdout, stderr string, rc int) {
	return func(args ...string) (stdout, stderr string, rc int) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ceph", append([]string{"-c", conf, "--connect-timeout", "20"}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			rc = exit.ExitCode()
		default:
			t.Fatalf("ceph %v: %v", args, err)
		}
		return o.String(), e.String(), rc
	}
}

// installWithPyprobe installs the binary's Go modules into the module
// directory path, selftest, crash and prometheus renamed goselftest,
// gocrash and goprometheus (the real mgr has Python modules of those
// names, and their commands: prometheus' healthcheck history commands
// become gohealthcheck ...), and copies pyprobe, the
// tests' Python module, into a directory of its own under dir, which it
// returns (for CEPH_CLUSTER_MGR_MODULES, after path).
func installWithPyprobe(t *testing.T, dir, bin, path string) string {
	t.Helper()
	out, err := exec.Command(bin, "bridge", "install", "--module-path", path,
		"--rename", "selftest=goselftest", "--rename-prefix", "mgr self-test=mgr goselftest",
		"--rename", "crash=gocrash", "--rename-prefix", "crash=gocrash", "--rename", "prometheus=goprometheus",
		"--rename-prefix", "prometheus=goprometheus", "--rename-prefix", "healthcheck=gohealthcheck").CombinedOutput()
	require.NoError(t, err, "%s", out)
	pyMods := filepath.Join(dir, "python-modules")
	require.NoError(t, os.CopyFS(filepath.Join(pyMods, "pyprobe"), os.DirFS(filepath.Join("testdata", "pyprobe"))))
	return pyMods
}
