package mgrctl_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/internal/testutil"
)

// The tests that compare mgrctl -c with the real ceph CLI share one
// loopback cluster (testutil.StartCephCluster), started by the first test
// that needs it and destroyed when the test binary ends.
var testCluster struct {
	once    sync.Once
	mu      sync.Mutex
	cluster *testutil.CephCluster
	err     error
	// buildErr is a failure to build the gomgr-rados binary mgrctl -c
	// runs (no librados-dev); helper is its directory.
	buildErr error
	helper   string
}

func repoRoot() string {
	root, _ := filepath.Abs("../..")
	return root
}

// needCluster returns the shared cluster, starting it (and building the
// gomgr-rados helper) on first use. Without the Ceph tools the test is
// skipped, a failure under CI=true.
func needCluster(t *testing.T) *testutil.CephCluster {
	t.Helper()
	testutil.NeedCephTools(t)
	testCluster.once.Do(startTestCluster)
	if testCluster.buildErr != nil {
		if testutil.CI() {
			t.Fatalf("CI=true but the librados helper does not build: %v", testCluster.buildErr)
		}
		t.Skipf("no cluster support here: %v", testCluster.buildErr)
	}
	require.NoError(t, testCluster.err, "start the test cluster")
	return testCluster.cluster
}

func startTestCluster() {
	tc := &testCluster
	if tc.helper, tc.err = os.MkdirTemp("", "mgrctl-rados-"); tc.err != nil {
		return
	}
	if tc.buildErr = testutil.BuildRadosHelper(repoRoot(), tc.helper, radosproc.HelperName, radosproc.HelperEnv); tc.buildErr != nil {
		return
	}
	start := time.Now()
	c, err := testutil.StartCephCluster(filepath.Join(repoRoot(), "scripts", "ceph-cluster.sh"), []string{"PATH=" + realPath()})
	tc.mu.Lock()
	tc.cluster, tc.err = c, err
	tc.mu.Unlock()
	if err == nil {
		fmt.Fprintf(os.Stderr, "mgrctl tests: test cluster in %s ready in %s\n", c.Dir, time.Since(start).Round(100*time.Millisecond))
	}
}

// realPath is $PATH without the directory where testscript put this test
// binary as ceph-mgr (and mgrctl): the cluster needs Ceph's ceph-mgr.
func realPath() string {
	self, err := os.Executable()
	var exe os.FileInfo
	if err == nil {
		exe, err = os.Stat(self)
	}
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if st, serr := os.Stat(filepath.Join(d, "ceph-mgr")); err == nil && serr == nil && os.SameFile(st, exe) {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

// destroyTestCluster stops the cluster, if one was started, and removes
// what the tests made.
func destroyTestCluster() {
	tc := &testCluster
	tc.mu.Lock()
	c := tc.cluster
	tc.cluster = nil
	tc.mu.Unlock()
	if c != nil {
		if err := c.Destroy(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if tc.helper != "" {
		os.RemoveAll(tc.helper)
	}
}

// ceph runs the real ceph CLI against the cluster.
func ceph(t *testing.T, c *testutil.CephCluster, stdin []byte, args ...string) testutil.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ceph", append([]string{"-c", c.Conf, "-k", c.Keyring, "--connect-timeout", "30"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	return testutil.Run(t, cmd)
}
