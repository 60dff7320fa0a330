package mgr_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// outOfTree is a Go module of an author's own, outside this repository: a
// module package and a host main package (what a newcomer writes by hand
// with the package docs).
var outOfTree = map[string]string{
	"go.mod": `module example.com/mymgr

go 1.26

require github.com/gomgr/gomgr v0.0.0

replace github.com/gomgr/gomgr => GOMGR
`,
	"quota/quota.go": `// Package quota is an out-of-tree gomgr module.
package quota

import (
	"context"
	"fmt"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
)

func init() {
	module.Register(module.Info{Name: "quota", AlwaysOn: true, New: func() module.Module { return &Module{} }})
}

// Module keeps quotas in its KV store.
type Module struct{ h *module.Handle }

func (m *Module) Init(h *module.Handle) error { m.h = h; return nil }

type setArgs struct {
	clicommand.Write ` + "`" + `prefix:"quota set" desc:"Set a quota"` + "`" + `
	Name             string
	Size             int ` + "`" + `ceph:"range=0"` + "`" + `
}

type getArgs struct {
	clicommand.Read ` + "`" + `prefix:"quota get" desc:"Show a quota"` + "`" + `
	Name            string
}

func (m *Module) set(ctx context.Context, a *setArgs) (string, error) {
	return "", m.h.SetStore(ctx, a.Name, fmt.Sprint(a.Size))
}

func (m *Module) get(_ context.Context, a *getArgs) (string, error) {
	v, ok := m.h.Store(a.Name)
	if !ok {
		return "", fmt.Errorf("no quota for %s", a.Name)
	}
	return a.Name + ": " + v, nil
}

func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Responder(m.set), clicommand.Responder(m.get)}
}
`,
	"cmd/ceph-mgr/main.go": `package main

import (
	"github.com/gomgr/gomgr/pkg/mgr"

	_ "example.com/mymgr/quota"
)

func main() { mgr.Main() }
`,
}

// TestOutOfTreeHost: a module in the author's own Go module (not under
// github.com/gomgr/gomgr, which `internal/daemon` refused) builds into
// the author's own ceph-mgr through pkg/mgr, and the real ceph CLI drives
// it over the admin socket.
func TestOutOfTreeHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a daemon")
	}
	ceph := testutil.NeedCephCLI(t)
	top, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := testutil.ShortTempDir(t)
	for name, text := range outOfTree {
		path := filepath.Join(dir, "src", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(text, "GOMGR", top)), 0o644))
	}
	// The checkout's go.sum holds the hashes of every module it uses.
	sum, err := os.ReadFile(filepath.Join(top, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "go.sum"), sum, 0o644))
	goCmd := func(args ...string) *exec.Cmd {
		c := exec.Command("go", args...)
		c.Dir = filepath.Join(dir, "src")
		// Only what this checkout's build already fetched and verified:
		// no network.
		c.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
		return c
	}
	bin := filepath.Join(dir, "ceph-mgr")
	r := testutil.Run(t, goCmd("build", "-o", bin, "./cmd/ceph-mgr"))
	require.Zero(t, r.Code, "go build: %s", r.Stderr)

	run := filepath.Join(dir, "run")
	daemon := exec.Command(bin, "-i", "q", "--data", filepath.Join(dir, "data"), "--run-dir", run)
	logs := &testutil.SyncBuffer{}
	daemon.Stdout, daemon.Stderr = logs, logs
	require.NoError(t, daemon.Start())
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	sock := filepath.Join(run, "ceph-mgr.q.asok")
	admin := func(args ...string) testutil.Result {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return testutil.Run(t, exec.CommandContext(ctx, ceph, append([]string{"--admin-daemon", sock}, args...)...))
	}
	require.Eventually(t, func() bool { return admin("mgr", "module", "ls").Code == 0 }, 20*time.Second, 50*time.Millisecond,
		"the author's daemon did not come up: %s", logs.String())
	r = admin("quota", "set", "alice", "10")
	require.Zero(t, r.Code, "quota set: %s", r.Stderr)
	r = admin("quota", "get", "alice")
	require.Zero(t, r.Code, "quota get: %s", r.Stderr)
	require.Equal(t, "\"alice: 10\"\n", r.Stdout, "a Responder's string, as JSON (the admin socket's default format)")
	r = admin("quota", "set", "bob", "-1")
	require.NotZero(t, r.Code, "the author's range check applies")
}
