package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cephTools are the programs scripts/ceph-cluster.sh runs, with the Debian
// package of each.
var cephTools = [][2]string{{"ceph", "ceph-common"}, {"ceph-authtool", "ceph-common"}, {"monmaptool", "ceph-base"},
	{"ceph-mon", "ceph-mon"}, {"ceph-mgr", "ceph-mgr"}, {"ceph-osd", "ceph-osd"}, {"ceph-mds", "ceph-mds"}}

// NeedCephTools skips the test (fails it under CI) unless everything a
// loopback cluster needs is installed.
func NeedCephTools(t testing.TB) {
	t.Helper()
	for _, tool := range cephTools {
		NeedTool(t, tool[0], tool[1])
	}
}

// BuildRadosHelper builds cmd/gomgr-rados of the module at root into dir
// under the name radosproc.HelperName and points the environment variable
// radosproc.HelperEnv at it (passed in: this package cannot import
// radosproc), so radosproc.Dial and the binaries a test starts use it. It
// fails where librados-dev is missing.
func BuildRadosHelper(root, dir, name, env string) error {
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/gomgr-rados")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/gomgr-rados (needs librados-dev): %v\n%s", err, msg)
	}
	return os.Setenv(env, out)
}

// CephCluster is a throwaway loopback Ceph cluster started with
// scripts/ceph-cluster.sh (1 mon, 1 mgr, 1 memstore OSD, cephx).
type CephCluster struct {
	Script        string // scripts/ceph-cluster.sh
	Dir           string // everything of the cluster lives here
	Conf, Keyring string // DIR/ceph.conf, DIR/keyring
	env           []string
}

// StartCephCluster starts a cluster in a new temporary directory with
// script (env is added to the script's environment) and returns it once
// it is ready. A watchdog process destroys it when this process has gone,
// however that happens (a panic, go test's -timeout); call Destroy to do
// it sooner. On failure the error carries the script's stderr.
func StartCephCluster(script string, env []string) (*CephCluster, error) {
	dir, err := os.MkdirTemp("", "gomgr-ceph-")
	if err != nil {
		return nil, err
	}
	c := &CephCluster{Script: script, Dir: dir, Conf: filepath.Join(dir, "ceph.conf"), Keyring: filepath.Join(dir, "keyring"), env: env}
	// In its own process group and without stdio, so that neither a
	// Ctrl-C nor go test waits for it.
	wd := exec.Command("sh", "-c", `while kill -0 "$0" 2>/dev/null; do sleep 1; done; exec "$1" destroy "$2"`,
		fmt.Sprint(os.Getpid()), script, dir)
	wd.Env = append(os.Environ(), env...)
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start the cluster watchdog: %w", err)
	}
	go func() { _ = wd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := exec.CommandContext(ctx, script, "start", dir)
	start.Env = append(append(os.Environ(), "CEPH_CLUSTER_TIMEOUT=120"), env...)
	var stderr bytes.Buffer
	start.Stderr = &stderr
	if err := start.Run(); err != nil {
		return c, fmt.Errorf("%s start %s: %v\n%s%s", script, dir, err, stderr.String(), c.TailLogs(30))
	}
	return c, nil
}

// TailLogs returns the last n lines of each of the cluster's logs.
func (c *CephCluster) TailLogs(n int) string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(c.Dir, "log", "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "---- %s ----\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// Destroy stops the cluster's daemons and removes its directory.
func (c *CephCluster) Destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Script, "destroy", c.Dir)
	cmd.Env = append(os.Environ(), c.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("destroy the test cluster %s: %v\n%s", c.Dir, err, out)
	}
	return nil
}

// StartMDS adds a CephFS and its MDS, mds.a, to the cluster (the script's
// start-mds) and returns once the MDS is active. It needs ceph-mds.
func (c *CephCluster) StartMDS() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Script, "start-mds", c.Dir)
	cmd.Env = append(append(os.Environ(), "CEPH_CLUSTER_TIMEOUT=90"), c.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s start-mds %s: %v\n%s", c.Script, c.Dir, err, out)
	}
	return nil
}

// Signal sends sig to one of the cluster's daemons ("mon.a", "mgr.x",
// "osd.0").
func (c *CephCluster) Signal(daemon string, sig syscall.Signal) error {
	b, err := os.ReadFile(filepath.Join(c.Dir, "run", "ceph-"+daemon+".pid"))
	if err != nil {
		return err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		return fmt.Errorf("pid file of %s: %w", daemon, err)
	}
	return syscall.Kill(pid, sig)
}
