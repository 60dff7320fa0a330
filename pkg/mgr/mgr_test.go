package mgr_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/mgr"
	"github.com/gomgr/gomgr/pkg/module"
)

// greeter is an out-of-tree style module: all it knows of gomgr is the
// author's API.
type greeter struct{}

type greetArgs struct {
	clicommand.Read `prefix:"greet" desc:"Say hello"`
	Who             string `ceph:"req=false"`
}

func (greeter) greet(_ context.Context, a *greetArgs) (string, error) {
	if a.Who == "" {
		a.Who = "world"
	}
	return "hello " + a.Who, nil
}

func (g greeter) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Responder(g.greet)}
}

// TestRunHostsTheRegisteredModules: Run serves the modules of its
// registry on the admin socket, and stops when its context ends.
func TestRunHostsTheRegisteredModules(t *testing.T) {
	greeterInfo := module.Info{Name: "greeter", AlwaysOn: true, New: func() module.Module { return greeter{} }}
	dir := testutil.ShortTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan mgr.Sockets, 1)
	done := make(chan error, 1)
	go func() {
		done <- mgr.Run(ctx, mgr.Options{ID: "h", DataDir: filepath.Join(dir, "data"), RunDir: dir, Modules: []module.Info{greeterInfo},
			Log: &testutil.SyncBuffer{}, Ready: func(s mgr.Sockets) { ready <- s }})
	}()
	var s mgr.Sockets
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not start")
	}
	require.Equal(t, mgr.Sockets{Admin: filepath.Join(dir, "ceph-mgr.h.asok"), API: filepath.Join(dir, "ceph-mgr.h.api")}, s)
	var out []byte
	require.Eventually(t, func() bool {
		var err error
		out, err = asok.Call(ctx, s.Admin, []byte(`{"prefix": "greet", "who": "host"}`), 1<<20)
		return err == nil && bytes.Contains(out, []byte("hello host"))
	}, 10*time.Second, 10*time.Millisecond, "greet through the admin socket: %q", out)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunNeedsAnIDAndADataDir(t *testing.T) {
	err := mgr.Run(context.Background(), mgr.Options{DataDir: t.TempDir()})
	require.ErrorContains(t, err, "an id is required")
	err = mgr.Run(context.Background(), mgr.Options{ID: "x"})
	require.ErrorContains(t, err, "a data directory is required")
	err = mgr.Run(context.Background(), mgr.Options{ID: "x", DataDir: t.TempDir(), Cluster: &mgr.Cluster{}})
	require.ErrorContains(t, err, "Cluster.Conf")
}

// TestMainArgsIsTheCephMgrCommandLine: MainArgs is ceph-mgr's command line.
func TestMainArgsIsTheCephMgrCommandLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, mgr.MainArgs([]string{"--help"}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "ceph-mgr -i ID")
	require.Contains(t, stdout.String(), "--lock-pool")
	require.NotEqual(t, 0, mgr.MainArgs([]string{"--no-such-flag"}, &stdout, &stderr))
}

// Example shows a host's whole main package: the modules it imports
// register themselves, and Main runs the ceph-mgr command line.
func Example() {
	// package main
	//
	// import (
	// 	"github.com/gomgr/gomgr/pkg/mgr"
	// 	_ "example.com/my-module"
	// )
	//
	// func main() { mgr.Main() }
	_ = mgr.Main
}

// ExampleRun starts a daemon from a program, and stops it.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "mgr")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	err := mgr.Run(ctx, mgr.Options{ID: "x", DataDir: filepath.Join(dir, "data"), RunDir: dir,
		Log: &bytes.Buffer{},
		Ready: func(s mgr.Sockets) {
			fmt.Println("admin socket:", filepath.Base(s.Admin))
			fmt.Println("api socket:", filepath.Base(s.API))
			cancel() // a program would run until it is told to stop
		}})
	fmt.Println("stopped:", err)
	// Output:
	// admin socket: ceph-mgr.x.asok
	// api socket: ceph-mgr.x.api
	// stopped: <nil>
}

func (greeter) Init(*module.Handle) error { return nil }
