package mgrctl_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/mgrctl"
	"github.com/gomgr/gomgr/internal/mgrctl/internal/cmdfake"
	"github.com/gomgr/gomgr/internal/mgrctl/internal/evalfake"
	"github.com/gomgr/gomgr/internal/testutil"
	_ "github.com/gomgr/gomgr/modules/all"
	"github.com/gomgr/gomgr/pkg/module"
)

var update = flag.Bool("update", false, "rewrite completions/* and the cmp sections of testdata/script/*.txtar")

func init() {
	// The REPL tests' eval command and a command with arguments named
	// like mgrctl's cluster-only flags; only this test binary has them.
	for _, info := range []module.Info{evalfake.Info(), cmdfake.Info()} {
		module.Register(info)
	}
}

// TestMain makes the test binary double as mgrctl and ceph-mgr: the
// scripts and the tmux tests run them as commands found in $PATH.
func TestMain(m *testing.M) {
	testscript.Main(destroyAfter{m}, map[string]func(){
		"mgrctl": func() {
			os.Exit(mgrctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
		"ceph-mgr": func() {
			os.Exit(daemon.Main(os.Args[1:], nil, os.Stdout, os.Stderr))
		},
	})
}

// destroyAfter runs the tests, then destroys the test cluster if one was
// started.
type destroyAfter struct{ m *testing.M }

func (d destroyAfter) Run() int {
	defer destroyTestCluster()
	return d.m.Run()
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
			"stopdaemon": cmdStopDaemon,
			"contdaemon": cmdContDaemon,
		},
	})
}

// cmdWaitDaemon waits until the daemon behind an API socket has a role
// (active unless -role says otherwise): waitdaemon [-role ROLE] SOCKET.
func cmdWaitDaemon(ts *testscript.TestScript, neg bool, args []string) {
	role := "active"
	if len(args) == 3 && args[0] == "-role" {
		role, args = args[1], args[2:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitdaemon [-role ROLE] SOCKET")
	}
	if err := waitRole(ts.MkAbs(args[0]), role, 20*time.Second); err != nil {
		ts.Fatalf("%v", err)
	}
}

// cmdStopDaemon sends SIGSTOP to the daemon behind an API socket, as a
// stuck daemon: stopdaemon SOCKET. contdaemon continues it; so does the
// end of the script.
func cmdStopDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stopdaemon SOCKET")
	}
	c := api.NewClient(ts.MkAbs(args[0]))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Status(ctx)
	ts.Check(err)
	ts.Check(syscall.Kill(s.PID, syscall.SIGSTOP))
	ts.Setenv("STOPPED_PID", strconv.Itoa(s.PID))
	ts.Defer(func() { _ = syscall.Kill(s.PID, syscall.SIGCONT) })
	// kill returns before every thread has stopped.
	for deadline := time.Now().Add(5 * time.Second); !allStopped(s.PID); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("daemon %d did not stop", s.PID)
		}
	}
}

// allStopped reports whether every thread of pid is stopped (state T).
func allStopped(pid int) bool {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return len(stats) > 0
}

// cmdContDaemon continues the daemon stopdaemon stopped: contdaemon.
func cmdContDaemon(ts *testscript.TestScript, neg bool, args []string) {
	pid, err := strconv.Atoi(ts.Getenv("STOPPED_PID"))
	if neg || len(args) != 0 || err != nil {
		ts.Fatalf("usage: contdaemon (after stopdaemon)")
	}
	ts.Check(syscall.Kill(pid, syscall.SIGCONT))
}

// waitActive polls a daemon's status until it is active.
func waitActive(socket string, timeout time.Duration) error {
	return waitRole(socket, "active", timeout)
}

// waitRole polls a daemon's status until it has role.
func waitRole(socket, role string, timeout time.Duration) error {
	c := api.NewClient(socket)
	defer c.Close()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := c.Status(ctx)
		cancel()
		if err == nil && s.Role == role {
			return nil
		}
		if err == nil {
			err = errors.New("role " + s.Role)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("daemon at " + socket + " not " + role + ": " + last.Error())
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
