// Package testutil holds helpers shared by tests: finding the real Ceph
// tools, running a command for its output and exit status, short temporary
// directories for unix sockets, a real Prometheus server to scrape the
// prometheus module (StartPrometheus), and the rule that a test needing
// Ceph or another real tool fails loudly under CI instead of skipping.
package testutil

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// CI reports whether the tests run under CI (CI=true), where missing tools
// are failures, never skips.
func CI() bool { return os.Getenv("CI") == "true" }

// NeedTool returns the path of an executable, or skips the test (fails it
// under CI) when the tool is not installed. hint names the Debian package.
func NeedTool(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if CI() {
		t.Fatalf("%s is not installed (CI=true, so this is a failure): apt-get install -y %s", name, hint)
	}
	t.Skipf("%s is not installed; apt-get install -y %s (or run make test, which installs it)", name, hint)
	return ""
}

// NeedCephCLI returns the path of the real ceph CLI (Debian's ceph-common).
func NeedCephCLI(t testing.TB) string { return NeedTool(t, "ceph", "ceph-common") }

// ShortTempDir returns a temporary directory with a short path, removed at
// the end of the test: unix socket paths are limited to 107 bytes and
// t.TempDir() paths can be long.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "gomgr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Result is what a finished command printed and its exit status.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs cmd, capturing its output (cmd.Stdout and cmd.Stderr are
// replaced). A non-zero exit is a Result; failing to run at all fails the
// test.
func Run(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return Result{ee.ExitCode(), o.String(), e.String()}
	case err != nil:
		t.Fatalf("run %s: %v", cmd, err)
	}
	return Result{0, o.String(), e.String()}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a log sink for
// daemons and modules under test.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// DialUnix connects to the unix socket at path, failing the test if it
// cannot; the connection is closed when the test ends.
func DialUnix(t testing.TB, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// UnixPair is both ends of a new unix socket connection (in a temporary
// directory of t).
func UnixPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	a, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		a.Close()
		t.Fatal("accept failed")
	}
	return a, b
}
