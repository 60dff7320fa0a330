package mgrctl_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/mgrctl"
	"github.com/gomgr/gomgr/internal/mgrctl/internal/evalfake"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"

	_ "github.com/gomgr/gomgr/modules/all"
)

var update = flag.Bool("update", false, "rewrite completions/* and the cmp sections of testdata/script/*.txtar")

func init() {
	// The REPL tests' eval command; only this test binary has it.
	if err := module.Default.Register(evalfake.Info()); err != nil {
		panic(err)
	}
}

// TestMain makes the test binary double as mgrctl and ceph-mgr: the
// scripts and the tmux tests run them as commands found in $PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mgrctl": func() {
			os.Exit(mgrctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
		"ceph-mgr": func() {
			os.Exit(daemon.Main(os.Args[1:], nil, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the end-to-end scripts in testdata/script. Each gets a
// short run directory ($RUN, also $GOMGR_RUN_DIR) for the daemon's
// sockets.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			dir, err := os.MkdirTemp("", "gm")
			if err != nil {
				return err
			}
			env.Defer(func() { os.RemoveAll(dir) })
			env.Setenv("RUN", dir)
			env.Setenv("GOMGR_RUN_DIR", dir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitdaemon": cmdWaitDaemon,
		},
	})
}

// cmdWaitDaemon waits until the daemon behind an API socket is active:
// waitdaemon SOCKET.
func cmdWaitDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitdaemon SOCKET")
	}
	if err := waitActive(ts.MkAbs(args[0]), 20*time.Second); err != nil {
		ts.Fatalf("%v", err)
	}
}

// waitActive polls a daemon's status until it is active.
func waitActive(socket string, timeout time.Duration) error {
	c := api.NewClient(socket)
	defer c.Close()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := c.Status(ctx)
		cancel()
		if err == nil && s.Role == "active" {
			return nil
		}
		if err == nil {
			err = errors.New("role " + s.Role)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("daemon at " + socket + " not active: " + last.Error())
}

// startDaemon runs a daemon in-process on a short run directory and
// returns the directory; it stops at the end of the test.
func startDaemon(t *testing.T) string {
	t.Helper()
	dir := testutil.ShortTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{ID: "x", DataDir: filepath.Join(dir, "data"), RunDir: dir, Log: io.Discard, ROSocketMode: 0o666})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("daemon did not stop")
		}
	})
	require.NoError(t, waitActive(filepath.Join(dir, "ceph-mgr.x.api"), 20*time.Second))
	return dir
}

// result is one mgrctl run.
type result struct {
	stdout, stderr string
	code           int
}

// run runs mgrctl in-process.
func run(t *testing.T, stdin string, args []string, opts ...mgrctl.Option) result {
	t.Helper()
	var out, errb bytes.Buffer
	opts = append([]mgrctl.Option{mgrctl.WithContext(context.Background()), mgrctl.WithGetenv(func(k string) string {
		if k == "GOMGR_RUN_DIR" || k == "GOMGR_SOCKET" || k == "GOMGR_ID" {
			return ""
		}
		return os.Getenv(k)
	})}, opts...)
	code := mgrctl.Main(args, strings.NewReader(stdin), &out, &errb, opts...)
	return result{out.String(), errb.String(), code}
}
