package selftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/testutil"
)

// daemonProc is a ceph-mgr started by a test.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	cli  string
	sock string
	out  *testutil.SyncBuffer
	done chan struct{}
	err  error
}

var daemonBuild struct {
	sync.Mutex
	dir, bin string
	err      error
}

// TestMain removes the daemon binary built for the end-to-end tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if daemonBuild.dir != "" {
		os.RemoveAll(daemonBuild.dir)
	}
	os.Exit(code)
}

// buildDaemon builds cmd/ceph-mgr once per test binary.
func buildDaemon(t *testing.T) string {
	t.Helper()
	goBin := testutil.NeedTool(t, "go", "golang-go")
	daemonBuild.Lock()
	defer daemonBuild.Unlock()
	if daemonBuild.bin == "" && daemonBuild.err == nil {
		dir, err := os.MkdirTemp("", "selftest-e2e")
		if err != nil {
			t.Fatal(err)
		}
		daemonBuild.dir = dir
		bin := filepath.Join(dir, "ceph-mgr")
		out, err := exec.Command(goBin, "build", "-o", bin, "github.com/gomgr/gomgr/cmd/ceph-mgr").CombinedOutput()
		if err != nil {
			daemonBuild.err = fmt.Errorf("build ceph-mgr: %v\n%s", err, out)
		}
		daemonBuild.bin = bin
	}
	if daemonBuild.err != nil {
		t.Fatal(daemonBuild.err)
	}
	return daemonBuild.bin
}

// startDaemon builds cmd/ceph-mgr and starts it on fresh directories.
func startDaemon(t *testing.T) *daemonProc {
	t.Helper()
	ceph := testutil.NeedCephCLI(t)
	bin := buildDaemon(t)
	runDir, err := os.MkdirTemp("", "gm") // unix socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	d := &daemonProc{t: t, cli: ceph, sock: filepath.Join(runDir, "ceph-mgr.x.asok"), out: &testutil.SyncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, "-i", "x", "--data", t.TempDir(), "--run-dir", runDir)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := d.try("mgr", "module", "ls")
		if err == nil && !strings.HasPrefix(out, "ERROR") {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not become active: %v %q\n%s", err, out, d.out.String())
		}
		select {
		case <-d.done:
			t.Fatalf("the daemon exited: %v\n%s", d.err, d.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// try runs the ceph CLI against the daemon's admin socket.
func (d *daemonProc) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.cli, append([]string{"--admin-daemon", d.sock}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.Join(err, errors.New(stderr.String()))
	}
	return stdout.String(), nil
}

// ceph runs the ceph CLI and fails the test if it fails.
func (d *daemonProc) ceph(args ...string) string {
	d.t.Helper()
	out, err := d.try(args...)
	if err != nil {
		d.t.Fatalf("ceph %q: %v\n%s", args, err, out)
	}
	return out
}

// want runs the ceph CLI and checks its output.
func (d *daemonProc) want(want string, args ...string) {
	d.t.Helper()
	if got := d.ceph(args...); got != want {
		d.t.Errorf("ceph %q:\n got %q\nwant %q", args, got, want)
	}
}

// stop sends SIGTERM and checks a clean exit within a few seconds.
func (d *daemonProc) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			d.t.Errorf("ceph-mgr exited with %v", d.err)
		}
	case <-time.After(5 * time.Second):
		d.t.Errorf("ceph-mgr did not exit within 5s of SIGTERM")
	}
}

func TestE2ESelfTestThroughCephCLI(t *testing.T) {
	d := startDaemon(t)
	d.want("", "mgr", "module", "enable", "selftest")

	configBefore := d.ceph("config", "dump")
	kvBefore := d.ceph("config-key", "dump")
	d.want("Self-test succeeded\n", "mgr", "self-test", "run")
	d.want("Self-test succeeded\n", "mgr", "self-test", "run")
	d.want(configBefore, "config", "dump")
	d.want(kvBefore, "config-key", "dump")

	// Ceph's QA checks of config get.
	d.want("None\n", "mgr", "self-test", "config", "get", "testkey")
	d.want("", "config", "set", "mgr", "mgr/selftest/testkey", "testvalue")
	d.want("testvalue\n", "mgr", "self-test", "config", "get", "testkey")
	d.want("", "config", "set", "mgr", "mgr/selftest/x/testlkey", "test localized value")
	d.want("test localized value\n", "mgr", "self-test", "config", "get_localized", "testlkey")

	// eval.
	version := d.ceph("version")
	d.want(version, "mgr", "self-test", "eval", "print(mgr.version)")
	d.want("", "mgr", "self-test", "eval", "def double(x):\n  return x * 2\n")
	d.want("42\n", "mgr", "self-test", "eval", "double(21)")
	d.want("", "mgr", "self-test", "eval", "def incomplete():") // retval 2, nothing printed
	d.want("mgr.get_server\nmgr.get_store\nmgr.get_store_prefix\n", "mgr", "self-test", "eval", "--complete", "mgr.get_s")
	if out := d.ceph("mgr", "self-test", "eval", "1 // 0"); !strings.Contains(out, "floored division by zero") {
		t.Errorf("runtime error: %q", out)
	}
	if out := d.ceph("mgr", "self-test", "eval"); out != "ERROR: (22) Invalid argument\nsource is not specified\n" {
		t.Errorf("no source: %q", out)
	}
	d.stop()
}

func TestE2EThrowExceptionKeepsTheDaemonServing(t *testing.T) {
	d := startDaemon(t)
	d.want("", "mgr", "module", "enable", "selftest")
	d.want("", "mgr", "module", "enable", "hello")
	d.want("Hello world!\n", "mgr", "self-test", "module", "hello")
	d.want("Running `throw_exception` in background\n", "mgr", "self-test", "background", "start", "throw_exception")
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := d.ceph("health", "detail")
		if strings.Contains(out, "MGR_MODULE_ERROR") {
			if !strings.Contains(out, "Module 'selftest' has failed: Synthetic exception in serve") {
				t.Errorf("health detail: %q", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no MGR_MODULE_ERROR in health: %q", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.want("Hello, Bob!\n", "hello", "Bob")
	d.want("ERROR: (5) Input/output error\nModule 'selftest' has experienced an error and cannot handle commands: Synthetic exception in serve\n",
		"mgr", "self-test", "run")
	d.want("", "mgr", "module", "disable", "selftest")
	d.want("HEALTH_OK\n", "health")
	d.want("", "mgr", "module", "enable", "selftest")
	d.want("Self-test succeeded\n", "mgr", "self-test", "run")
	d.stop()
}

// children lists the process's children.
func children(t *testing.T, pid int) []string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err == nil {
			out = append(out, strings.Fields(string(b))...)
		}
	}
	return out
}

// rssOf is a process's resident set size in bytes.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestE2EEvalCannotTakeTheDaemonDown: issue #9's inputs through the real
// ceph CLI. A huge allocation resets the session with ENOMEM and leaves the
// daemon's memory alone; str() of a deep list is killed at eval_timeout;
// disabling the module stops a running eval and ends its worker.
func TestE2EEvalCannotTakeTheDaemonDown(t *testing.T) {
	d := startDaemon(t)
	pid := d.cmd.Process.Pid
	d.want("", "mgr", "module", "enable", "selftest")
	d.want("", "mgr", "self-test", "eval", "kept = 1")
	d.want("1\n", "mgr", "self-test", "eval", "kept")
	rss := rssOf(t, pid)
	d.want("ERROR: (12) Cannot allocate memory\neval session exceeded its memory limit (256 MiB); the session was reset\n",
		"mgr", "self-test", "eval", `a = "x" * 1000000000; b = a + a`)
	if grown := rssOf(t, pid) - rss; grown > 64<<20 {
		t.Errorf("the daemon's RSS grew by %d MiB", grown>>20)
	}
	d.want("<input>:1:1: undefined: kept\n", "mgr", "self-test", "eval", "kept") // the session was reset
	d.want("2\n", "mgr", "self-test", "eval", "1 + 1")

	d.want("", "mgr", "self-test", "eval", "x = []\nfor i in range(300000):\n  x = [x]\n")
	d.want("", "config", "set", "mgr", "mgr/selftest/eval_timeout", "1")
	start := time.Now()
	d.want("ERROR: (110) Connection timed out\ntimeout: eval ran longer than eval_timeout (1s); the session was reset\n",
		"mgr", "self-test", "eval", "str(x)")
	t.Logf("str(x) answered after %s (the ceph CLI included)", time.Since(start))
	d.want("2\n", "mgr", "self-test", "eval", "1 + 1")

	d.want("", "mgr", "self-test", "eval", "x = []\nfor i in range(300000):\n  x = [x]\n")
	d.want("", "config", "set", "mgr", "mgr/selftest/eval_timeout", "600")
	if kids := children(t, pid); len(kids) != 1 {
		t.Fatalf("the daemon's children: %v, want the eval worker", kids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stuck := exec.CommandContext(ctx, d.cli, "--admin-daemon", d.sock, "mgr", "self-test", "eval", "mgr.set_store('stuck', 'yes')\nstr(x)")
	var stuckOut bytes.Buffer
	stuck.Stdout = &stuckOut
	if err := stuck.Start(); err != nil {
		t.Fatal(err)
	}
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- stuck.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for d.ceph("config-key", "exists", "mgr/selftest/stuck") != "key 'mgr/selftest/stuck' exists\n" {
		if time.Now().After(deadline) {
			t.Fatal("the stuck eval did not start")
		}
	}
	d.want("", "mgr", "module", "disable", "selftest")
	select {
	case <-stuckDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the eval still runs after disable")
	}
	if got := stuckOut.String(); !strings.HasPrefix(got, "ERROR: (125) Operation canceled\n") {
		t.Errorf("the stuck eval answered %q", got)
	}
	if kids := children(t, pid); len(kids) != 0 {
		t.Errorf("the daemon's children after disable: %v", kids)
	}
	d.want("", "mgr", "module", "enable", "selftest")
	d.want("2\n", "mgr", "self-test", "eval", "1 + 1")

	// The worker does not outlive the daemon, even one killed with SIGKILL.
	kids := children(t, pid)
	if len(kids) != 1 {
		t.Fatalf("the daemon's children: %v, want the eval worker", kids)
	}
	worker, err := strconv.Atoi(kids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	waitFor(t, "the worker to die with the daemon", func() bool { return !testutil.ProcessAlive(worker) })
}
