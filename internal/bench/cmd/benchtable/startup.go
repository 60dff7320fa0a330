package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/bench"
)

// Start-up and memory against the real ceph-mgr: the time from exec to
// the first command answered, and the resident set a few seconds after,
// for the gomgr daemon (every built-in module enabled) and the real mgr
// of the cluster benchtable started (restarted here in the foreground).

// settle is how long after its first answer a daemon's memory is read.
const settle = 5 * time.Second

// startupRuns is how many times the gomgr daemon is started.
const startupRuns = 5

// gomgrStartup starts the built daemon on a data directory of its own
// (every module enabled once, which persists) startupRuns times and
// returns the median time to its first hello answer, its resident set
// after settle (last run) and the modules enabled.
func gomgrStartup(dir string) (time.Duration, float64, string, error) {
	data, run := filepath.Join(dir, "startup-data"), filepath.Join(dir, "startup-run")
	first, err := startDaemonIn(dir, "s", data, run)
	if err != nil {
		return 0, 0, "", err
	}
	first.stop()
	var ds []time.Duration
	var rss float64
	names := ""
	for i := 0; i < startupRuns; i++ {
		start := time.Now()
		cmd := exec.Command(filepath.Join(dir, "ceph-mgr"), "-i", "s", "--data", data, "--run-dir", run)
		if err := cmd.Start(); err != nil {
			return 0, 0, "", err
		}
		p := &proc{cmd: cmd, api: filepath.Join(run, "ceph-mgr.s.api")}
		err := waitForHello(p.api, 20*time.Second)
		ds = append(ds, time.Since(start))
		if err == nil && i == startupRuns-1 {
			time.Sleep(settle)
			rss, _ = memory(cmd.Process.Pid)
			names, err = enabledModules(p.api)
		}
		p.stop()
		if err != nil {
			return 0, 0, "", err
		}
	}
	return bench.Median(ds), rss, names, nil
}

// waitForHello sends hello until the daemon answers it.
func waitForHello(apiPath string, timeout time.Duration) error {
	c := api.NewClient(apiPath)
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		res, err := c.Command(ctx, map[string]any{"prefix": "hello"}, nil)
		cancel()
		if err == nil && res.Retval == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not answer hello within %s: %v %s", timeout, err, res.Stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func enabledModules(apiPath string) (string, error) {
	c := api.NewClient(apiPath)
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "mgr module ls", "format": "json"}, nil)
	if err != nil {
		return "", err
	}
	var l struct {
		Enabled []string `json:"enabled_modules"`
	}
	if err := json.Unmarshal(res.Stdout, &l); err != nil {
		return "", fmt.Errorf("mgr module ls: %w", err)
	}
	return strings.Join(l.Enabled, ", "), nil
}

// realMgrStartup stops the cluster's mgr.x, starts it again in the
// foreground (as scripts/ceph-cluster.sh does, with -f) and returns the
// time to its first answer of `mgr self-test python-version` (asked with
// the ceph CLI, a few tenths of a second a try), its resident set after
// settle and the modules it runs. The restarted mgr stays: destroying the
// cluster stops it.
func realMgrStartup(cdir, conf string) (time.Duration, float64, string, error) {
	pidFile := filepath.Join(cdir, "run", "ceph-mgr.x.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, 0, "", fmt.Errorf("the real mgr's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, 0, "", fmt.Errorf("the real mgr's pid file %s: %w", pidFile, err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return 0, 0, "", fmt.Errorf("stop the real mgr: %w", err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i == 200 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if i > 400 {
			return 0, 0, "", fmt.Errorf("the real mgr (pid %d) does not stop", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The monitor would wait for the beacon grace before it takes a new
	// instance of the same mgr as active.
	if out, err := cephCLI(conf, "mgr", "fail", "x"); err != nil {
		return 0, 0, "", fmt.Errorf("ceph mgr fail x: %v %s", err, out)
	}
	start := time.Now()
	cmd := exec.Command("ceph-mgr", "-c", conf, "-i", "x", "-f")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	logf, err := os.Create(filepath.Join(cdir, "log", "mgr.x.restarted.stderr"))
	if err != nil {
		return 0, 0, "", err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return 0, 0, "", fmt.Errorf("start the real mgr: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped when the cluster is destroyed
	deadline := start.Add(3 * time.Minute)
	for {
		if _, err := cephCLI(conf, "mgr", "self-test", "python-version"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, "", fmt.Errorf("the restarted real mgr does not answer")
		}
	}
	took := time.Since(start)
	time.Sleep(settle)
	rss, _ := memory(cmd.Process.Pid)
	out, err := cephCLI(conf, "mgr", "module", "ls", "--format=json")
	if err != nil {
		return 0, 0, "", fmt.Errorf("mgr module ls: %v %s", err, out)
	}
	var l struct {
		Enabled  []string `json:"enabled_modules"`
		AlwaysOn []string `json:"always_on_modules"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		return 0, 0, "", fmt.Errorf("mgr module ls: %w", err)
	}
	return took, rss, fmt.Sprintf("%s and the %d always-on (%s)", strings.Join(l.Enabled, ", "), len(l.AlwaysOn), strings.Join(l.AlwaysOn, ", ")), nil
}

func cephCLI(conf string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ceph", append([]string{"-c", conf, "--connect-timeout", "15"}, args...)...).Output()
}

// startupRows measures and adds both rows.
func startupRows(t *table, prog *progress, dir, cdir, conf string) error {
	prog.step(fmt.Sprintf("start-up: the gomgr daemon, %d times", startupRuns))
	ours, ourRSS, ourMods, err := gomgrStartup(dir)
	if err != nil {
		return fmt.Errorf("gomgr start-up: %w", err)
	}
	prog.step("start-up: the real ceph-mgr, restarted")
	theirs, theirRSS, theirMods, err := realMgrStartup(cdir, conf)
	if err != nil {
		return fmt.Errorf("real mgr start-up: %w", err)
	}
	ratio := bench.Faster(ours, theirs)
	t.add(row{"start-up vs real ceph-mgr", fmt.Sprintf("exec to the first command answered: gomgr (median of %d, `hello` on its API socket) vs the real mgr (`mgr self-test python-version`, polled with the ceph CLI)", startupRuns),
		dur(ours), dur(theirs) + " (ceph-mgr 16.2)", fmt.Sprintf("%.0fx faster", ratio), "≥ 10x faster", bench.AtLeast(ratio, 10)})
	mratio := theirRSS / ourRSS
	t.add(row{"memory vs real ceph-mgr", fmt.Sprintf("resident set %s after the first answer: gomgr with %s vs the real mgr with %s", settle, ourMods, theirMods),
		fmt.Sprintf("%.1f MiB", ourRSS), fmt.Sprintf("%.1f MiB (ceph-mgr 16.2)", theirRSS), fmt.Sprintf("%.1fx smaller", mratio), "≥ 10x smaller", bench.AtLeast(mratio, 10)})
	return nil
}
