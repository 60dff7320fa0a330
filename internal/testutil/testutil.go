// Package testutil holds helpers shared by tests: finding the real Ceph
// tools, short temporary directories for unix sockets, and the rule that a
// test needing Ceph fails loudly under CI instead of skipping.
package testutil

import (
	"os"
	"os/exec"
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
