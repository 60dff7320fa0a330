package mgrctl_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// copyRepo copies the repository (without .git, bin, run and test
// binaries) to dst.
func copyRepo(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "run":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(rel, ".test") {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	require.NoError(t, err)
}

// inDir runs a command in dir and returns its combined output.
func inDir(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// TestNewModuleEndToEnd scaffolds antigravity in a copy of the repository,
// builds ceph-mgr there, and drives the new module through mgrctl and the
// real ceph CLI; the generated test passes; every other flag combination
// compiles and vets.
func TestNewModuleEndToEnd(t *testing.T) {
	goTool := testutil.NeedTool(t, "go", "golang-go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	repo := filepath.Join(t.TempDir(), "gomgr")
	copyRepo(t, root, repo)

	inDir(t, repo, nil, "mgrctl", "new-module", "antigravity", "--serve", "--options", "--eval")
	for name, flags := range map[string][]string{
		"ag-plain": nil, "ag-serve": {"--serve"}, "ag-options": {"--options"}, "ag-eval": {"--eval"},
		"ag-serve-options": {"--serve", "--options"}, "ag-serve-eval": {"--serve", "--eval"}, "ag-options-eval": {"--options", "--eval"},
	} {
		inDir(t, filepath.Join(repo, "modules"), nil, "mgrctl", append([]string{"new-module", name}, flags...)...)
	}
	all, err := os.ReadFile(filepath.Join(repo, "modules", "all", "all.go"))
	require.NoError(t, err)
	assert.Contains(t, string(all), "\t_ \"github.com/gomgr/gomgr/modules/antigravity\"\n")

	// Offline: the module cache has every dependency.
	goEnv := []string{"GOFLAGS=" + strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"), "GOPROXY=off", "GOTOOLCHAIN=local"}
	mgrBin := filepath.Join(repo, "bin", "ceph-mgr")
	inDir(t, repo, goEnv, goTool, "build", "-o", mgrBin, "./cmd/ceph-mgr")
	inDir(t, repo, goEnv, goTool, "vet", "./modules/...")
	out := inDir(t, repo, goEnv, goTool, "test", "-count=1", "./modules/antigravity/", "./modules/ag-plain/")
	assert.Contains(t, out, "ok  \tgithub.com/gomgr/gomgr/modules/antigravity")

	runDir := startBuiltDaemon(t, mgrBin, testutil.ShortTempDir(t))
	driveAntigravity(t, runDir)
}

// TestNewModuleStandalone: outside the checkout, `mgrctl new-module
// --standalone DIR --gomgr-dir CHECKOUT` writes a Go module of the author's
// whose generated tests pass with go test ./..., whose cmd/ceph-mgr builds,
// and whose daemon answers the module's commands through mgrctl and the
// real ceph CLI (issue 10, item 2).
func TestNewModuleStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a daemon")
	}
	goTool := testutil.NeedTool(t, "go", "golang-go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	top := testutil.ShortTempDir(t)
	mod := filepath.Join(top, "ag")
	out := inDir(t, top, nil, "mgrctl", "new-module", "antigravity", "--standalone", mod, "--gomgr-dir", root,
		"--module-path", "example.com/me/ag", "--serve", "--options", "--eval")
	assert.Contains(t, out, "\nnext: cd "+mod+" && make test && make run\n")
	assert.NotContains(t, out, "all.go")
	// Offline: the checkout's go.sum holds the hashes of every module it
	// uses, and the module cache has them.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644))
	goEnv := []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local"}
	out = inDir(t, mod, goEnv, goTool, "test", "-count=1", "./...")
	assert.Contains(t, out, "ok  \texample.com/me/ag/antigravity")
	mgrBin := filepath.Join(mod, "bin", "ceph-mgr")
	inDir(t, mod, goEnv, goTool, "build", "-o", mgrBin, "./cmd/ceph-mgr")
	if makeTool, err := exec.LookPath("make"); err == nil {
		out := inDir(t, mod, nil, makeTool, "-n", "run", "test")
		assert.Contains(t, out, "\n./bin/ceph-mgr -i x --data ./run/data --run-dir ./run\n")
		assert.Contains(t, out, "\ngo test ./...\n")
	}
	// What make run starts.
	driveAntigravity(t, startBuiltDaemon(t, mgrBin, filepath.Join(mod, "run")))
}

// startBuiltDaemon starts the ceph-mgr at bin as mgr.x with its data and
// sockets under run, waits until it is active, and stops it at the end of
// the test. It returns run.
func startBuiltDaemon(t *testing.T, bin, run string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(run, 0o700))
	daemon := exec.Command(bin, "-i", "x", "--data", filepath.Join(run, "data"), "--run-dir", run)
	logPath := filepath.Join(run, "ceph-mgr.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { logFile.Close() })
	daemonLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	daemon.Stdout, daemon.Stderr = logFile, logFile
	require.NoError(t, daemon.Start())
	t.Cleanup(func() {
		_ = daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- daemon.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = daemon.Process.Kill()
			t.Errorf("ceph-mgr did not stop on SIGTERM; log:\n%s", daemonLog())
		}
	})
	if err := waitActive(filepath.Join(run, "ceph-mgr.x.api"), 30*time.Second); err != nil {
		t.Fatalf("%v; log:\n%s", err, daemonLog())
	}
	return run
}

// driveAntigravity drives the antigravity module generated with --serve
// --options --eval in the daemon whose sockets are in run_, with mgrctl
// and the real ceph CLI.
func driveAntigravity(t *testing.T, run_ string) {
	t.Helper()
	mgrctl := func(stdin string, args ...string) result {
		return run(t, stdin, append([]string{"--run-dir", run_}, args...))
	}
	r := mgrctl("", "mgr", "module", "enable", "antigravity")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, result{stdout: "Hello, Bob!\n"}, mgrctl("", "antigravity", "greet", "Bob"))
	r = mgrctl("", "-f", "json", "antigravity", "status")
	require.Equal(t, 0, r.code, r.stderr)
	var st struct {
		Greeted  []string `json:"greeted"`
		Greeting string   `json:"greeting"`
		Ticks    *int     `json:"ticks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	assert.Equal(t, []string{"Bob"}, st.Greeted)
	assert.Equal(t, "Hello", st.Greeting)
	assert.NotNil(t, st.Ticks)
	r = mgrctl("", "antigravity", "status", "-f", "yaml")
	assert.Contains(t, r.stdout, "greeted:\n- Bob\ngreeting: Hello\n")
	r = mgrctl("", "config", "set", "mgr", "mgr/antigravity/greeting", "Howdy")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, result{stdout: "Howdy, Ann!\n"}, mgrctl("", "antigravity", "greet", "Ann"))
	assert.Equal(t, result{stderr: "Error EINVAL: who must be a non-empty name without '/'\n", code: 22}, mgrctl("", "antigravity", "greet", "a/b"))
	assert.Equal(t, result{}, mgrctl("", "antigravity", "forget"))
	assert.Equal(t, result{stdout: "2\n\"antigravity\"\n"}, mgrctl("x = 1 + 1\nx\nmgr.module\n", "repl", "--prefix", "antigravity eval"))

	t.Run("ceph CLI", func(t *testing.T) {
		ceph := testutil.NeedCephCLI(t)
		asok := filepath.Join(run_, "ceph-mgr.x.asok")
		assert.Equal(t, "Howdy, Carl!\n", inDir(t, run_, nil, ceph, "--admin-daemon", asok, "antigravity", "greet", "Carl"))
		out := inDir(t, run_, nil, ceph, "--admin-daemon", asok, "antigravity", "status")
		require.NoError(t, json.Unmarshal([]byte(out), &st), out)
		assert.Equal(t, []string{"Carl"}, st.Greeted)
		out = inDir(t, run_, nil, ceph, "--admin-daemon", asok, "antigravity", "status", "--format", "yaml")
		assert.Contains(t, out, "greeted:\n- Carl\n")
	})
}
