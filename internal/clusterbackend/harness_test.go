package clusterbackend_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/internal/testutil"
)

// The integration tests share one throwaway loopback cluster per test
// binary (scripts/ceph-cluster.sh: 1 mon, 1 mgr, 1 memstore OSD, cephx),
// started by the first test that needs it and destroyed by TestMain, also
// when the tests fail or are interrupted, and by a watchdog process if the
// binary dies without cleaning up (a panic, go test's -timeout).

// testCluster is the running cluster.
type testCluster struct {
	dir, conf, keyring string
	cc                 *testutil.CephCluster
}

var shared struct {
	once    sync.Once
	mu      sync.Mutex
	cluster *testCluster
	started *testutil.CephCluster // as soon as start returns, for destroy
	err     error
}

// repoRoot is the module root (the tests run in internal/clusterbackend).
func repoRoot() string {
	root, _ := filepath.Abs("../..")
	return root
}

func script() string { return filepath.Join(repoRoot(), "scripts", "ceph-cluster.sh") }

func TestMain(m *testing.M) {
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "clusterbackend tests: %v; destroying the test cluster\n", s)
		destroyCluster()
		os.Exit(1)
	}()
	code := m.Run()
	destroyCluster()
	if helper.dir != "" {
		os.RemoveAll(helper.dir)
	}
	os.Exit(code)
}

// destroyCluster stops the cluster's daemons and removes its directory.
func destroyCluster() {
	shared.mu.Lock()
	c := shared.started
	shared.started = nil
	shared.mu.Unlock()
	if c == nil {
		return
	}
	if err := c.Destroy(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// needCluster returns the shared cluster, starting it on first use. Without
// the Ceph binaries or librados the test is skipped (a failure under
// CI=true).
func needCluster(t *testing.T) *testCluster {
	t.Helper()
	testutil.NeedCephTools(t)
	helper.once.Do(buildHelper)
	if helper.err != nil {
		if testutil.CI() {
			t.Fatalf("CI=true but the librados helper does not build: %v", helper.err)
		}
		t.Skipf("no cluster support here (the librados helper does not build: %v)", helper.err)
	}
	shared.once.Do(startCluster)
	if shared.err != nil {
		t.Fatalf("start the test cluster: %v", shared.err)
	}
	c := shared.cluster
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs(t)
		}
	})
	return c
}

// startCluster starts the shared cluster (testutil.StartCephCluster: its
// watchdog destroys it if the test binary dies without cleaning up).
// testdata/mgr-modules adds gomgrpy, a Python module with an eval command
// for the REPL test.
func startCluster() {
	start := time.Now()
	cc, err := testutil.StartCephCluster(script(), []string{
		"CEPH_CLUSTER_MGR_MODULES=" + filepath.Join(repoRoot(), "internal", "clusterbackend", "testdata", "mgr-modules")})
	shared.mu.Lock()
	shared.started = cc
	shared.mu.Unlock()
	if err != nil {
		shared.err = err
		return
	}
	fmt.Fprintf(os.Stderr, "clusterbackend tests: test cluster in %s ready in %s\n", cc.Dir, time.Since(start).Round(100*time.Millisecond))
	shared.cluster = &testCluster{dir: cc.Dir, conf: cc.Conf, keyring: cc.Keyring, cc: cc}
}

func (c *testCluster) dumpLogs(t *testing.T) {
	t.Logf("test cluster logs (%s):\n%s", c.dir, c.cc.TailLogs(30))
}

// ceph runs the real ceph CLI against the cluster.
func (c *testCluster) ceph(t *testing.T, args ...string) (stdout, stderr string, rc int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ceph", append([]string{"--connect-timeout", "15"}, args...)...)
	cmd.Env = append(os.Environ(), "CEPH_CONF="+c.conf, "CEPH_KEYRING="+c.keyring)
	r := testutil.Run(t, cmd)
	return r.Stdout, r.Stderr, r.Code
}

// mustCeph runs the ceph CLI and fails the test if it fails.
func (c *testCluster) mustCeph(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, rc := c.ceph(t, args...)
	if rc != 0 {
		t.Fatalf("ceph %s: exit %d: %s", strings.Join(args, " "), rc, errOut)
	}
	return out
}

// script runs scripts/ceph-cluster.sh CMD on the cluster.
func (c *testCluster) script(t *testing.T, cmd string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, script(), cmd, c.dir).CombinedOutput()
	if err != nil {
		t.Fatalf("ceph-cluster.sh %s: %v\n%s", cmd, err, out)
	}
}

// helper is the gomgr-rados binary every connection in these tests goes
// through (radosproc.Dial finds it through $GOMGR_RADOS, and so do the
// binaries the tests start), as ceph-mgr and mgrctl use it.
var helper struct {
	once sync.Once
	dir  string
	err  error
}

func buildHelper() {
	dir, err := os.MkdirTemp("", "gomgr-rados-")
	if err != nil {
		helper.err = err
		return
	}
	helper.dir = dir
	helper.err = testutil.BuildRadosHelper(repoRoot(), dir, radosproc.HelperName, radosproc.HelperEnv)
}

// buildBinary builds a command of this module into a temporary directory.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// newLogBuffer collects a test's logs, shown if the test fails.
func newLogBuffer(t *testing.T) *testutil.SyncBuffer {
	l := &testutil.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("gomgr log:\n%s", l.String())
		}
	})
	return l
}
