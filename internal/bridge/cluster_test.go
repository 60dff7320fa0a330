package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// TestRealMgrSeesTheGoModules installs the bridge of the real ceph-mgr
// binary (cmd/ceph-mgr, with the built-in modules) into the module path of
// a loopback Pacific cluster and checks what the real mgr, the monitors
// and the ceph CLI make of the Go modules: install refuses the names and
// commands of the installed Python selftest and crash until they are
// renamed, the real mgr lists the Go modules as its own and enables hello,
// the monitors check hello's options (no --force), `ceph -h` lists the Go
// commands, and `ceph hello` reaches the shim (which does not forward
// commands yet).
func TestRealMgrSeesTheGoModules(t *testing.T) {
	testutil.NeedCephTools(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "ceph-mgr")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ceph-mgr")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	path := filepath.Join(dir, "modules")
	require.NoError(t, os.Mkdir(path, 0o755))

	install := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, append([]string{"bridge", "install", "--module-path", path}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String() + stderr.String(), err
	}
	got, err := install()
	require.Error(t, err, got)
	assert.Contains(t, got, "the real mgr already has a Python module selftest (/usr/share/ceph/mgr/selftest); rename the Go one with --rename selftest=NEWNAME")
	assert.Contains(t, got, `rename them with --rename-prefix "mgr self-test=NEW WORDS"`)
	assert.Contains(t, got, "--rename crash=NEWNAME")
	got, err = install("--rename", "selftest=goselftest", "--rename-prefix", "mgr self-test=mgr goselftest",
		"--rename", "crash=gocrash", "--rename-prefix", "crash=gocrash")
	require.NoError(t, err, got)
	assert.Contains(t, got, "installed Go module hello as hello")

	cluster, err := testutil.StartCephCluster(filepath.Join(root, "scripts", "ceph-cluster.sh"), []string{"CEPH_CLUSTER_MGR_MODULES=" + path})
	if cluster != nil {
		t.Cleanup(func() { _ = cluster.Destroy() })
	}
	require.NoError(t, err)
	ceph := func(args ...string) (stdout, stderr string, rc int) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ceph", append([]string{"-c", cluster.Conf, "--connect-timeout", "20"}, args...)...)
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
	type moduleLs struct {
		Enabled  []string `json:"enabled_modules"`
		Disabled []struct {
			Name    string         `json:"name"`
			CanRun  bool           `json:"can_run"`
			Why     string         `json:"error_string"`
			Options map[string]any `json:"module_options"`
		} `json:"disabled_modules"`
	}
	ls := func() moduleLs {
		o, e, rc := ceph("mgr", "module", "ls", "-f", "json")
		require.Zero(t, rc, e)
		var l moduleLs
		require.NoError(t, json.Unmarshal([]byte(o), &l), o)
		return l
	}
	l := ls()
	found := map[string]bool{}
	for _, m := range l.Disabled {
		switch m.Name {
		case "hello", "goselftest", "gocrash":
			found[m.Name] = true
			assert.True(t, m.CanRun, "%s: %s", m.Name, m.Why)
			assert.Contains(t, m.Options, "log_level")
		}
		if m.Name == "hello" {
			for _, o := range []string{"place", "emphatic", "foo"} {
				assert.Contains(t, m.Options, o, "hello's options, from the Go module")
			}
		}
	}
	assert.Equal(t, map[string]bool{"hello": true, "goselftest": true, "gocrash": true}, found, "the real mgr lists the Go modules")

	help, _, rc := ceph("-h")
	require.Zero(t, rc)
	for _, line := range []string{"hello [<person_name>]", "count <num:int>", "mgr goselftest run", "gocrash ls"} {
		assert.Contains(t, help, line, "ceph -h lists the Go commands")
	}

	_, e, rc := ceph("mgr", "module", "enable", "hello")
	require.Zero(t, rc, e)
	deadline := time.Now().Add(90 * time.Second)
	for !slices.Contains(ls().Enabled, "hello") {
		require.True(t, time.Now().Before(deadline), "hello not enabled")
		time.Sleep(500 * time.Millisecond)
	}
	_, e, rc = ceph("config", "set", "mgr", "mgr/hello/place", "Mars")
	assert.Zero(t, rc, "the monitors take a Go module's option without --force: %s", e)
	o, _, _ := ceph("config", "get", "mgr", "mgr/hello/place")
	assert.Equal(t, "Mars", strings.TrimSpace(o))
	_, e, rc = ceph("config", "set", "mgr", "mgr/hello/foo", "z")
	assert.Equal(t, 22, rc)
	assert.Equal(t, "Error EINVAL: error parsing value: 'z' is not one of the permitted values: a, b, c\n", e)

	// The command reaches the shim in the real mgr (after the respawn that
	// enabling a module causes); forwarding to the Go side comes next.
	for {
		_, e, rc = ceph("hello", "Bob")
		if rc == 107 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	assert.Equal(t, 107, rc, e)
	assert.Contains(t, e, "gomgr bridge: the Go side of module hello is not running")
}
