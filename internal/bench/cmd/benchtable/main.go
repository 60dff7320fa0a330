// Command benchtable runs gomgr's benchmarks and prints them as one table
// of ratios measured side by side in one run (make bench), with plots.
// See BENCHMARKS.md for the targets and the latest figures.
//
// It measures, in this order:
//   - the command round trip through an in-process daemon against a bare
//     unix-socket echo server (the floor), and throughput with 1, 4, 16,
//     64 and 256 clients;
//   - dispatch cost with 10 to 100,000 registered commands;
//   - side by side with Python (python3 running
//     internal/bench/python/sidebyside.py): command dispatch against
//     Pacific's own mgr_module.py CLICommand path, the client-side word
//     matcher against ceph_argparse.validate_command on the real monitor
//     command table, and Responder formatting of 10, 10k and 1M elements
//     against encoding/json's MarshalIndent, json.dumps and PyYAML;
//   - gomgr's prometheus module against Pacific's (module.py run by
//     python3 on a stand-in mgr) scraping the same synthetic clusters of
//     100, 1,000 and 10,000 OSDs (prometheus.go): CPU and wall time a
//     scrape, memory;
//   - a whole-process mgrctl call against `ceph --admin-daemon` on the same
//     daemon, and that daemon's resident memory with every built-in module
//     enabled;
//   - with a Ceph cluster (started here unless -cluster=none), command
//     throughput of the real ceph-mgr (a Python command over librados)
//     against the gomgr daemon, with 1 to 256 clients, and the start-up
//     time and memory of both;
//   - in that cluster, if started here, Go modules bridged into the real
//     ceph-mgr (benchmgr's hello and gobench) against the Python module
//     pybench in the same mgr: the hello round trip with 1 and 16
//     clients, and a command formatting a 100,000-element result; and
//     Pacific's prometheus module against gomgr's, bridged into the same
//     mgr as goprometheus, scraping the cluster (promcluster.go).
//
// Progress goes to stderr as it runs; the table to stdout (and -out), the
// plots (throughput against clients, formatting time against size) to
// SVG files in -plots.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/bench"
	"github.com/gomgr/gomgr/internal/cephrados"
	"github.com/gomgr/gomgr/internal/clusterbackend"
)

type row struct {
	group, what, gomgr, baseline, ratio, target, verdict string
}

type table struct{ rows []row }

func (t *table) add(r row) {
	t.rows = append(t.rows, r)
	fmt.Fprintf(os.Stderr, "  %-28s %-44s %s\n", r.group, r.what, r.gomgr)
}

func (t *table) print(w io.Writer) {
	fmt.Fprintln(w, "| area | measurement | gomgr | baseline | ratio | target | met |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.group, r.what, r.gomgr, r.baseline, r.ratio, r.target, r.verdict)
	}
}

// under is the verdict on a value that must stay under limit: "yes", or
// "**no**" and by how much it is over.
func under(v, limit float64, unit string) string {
	if v < limit {
		return "yes"
	}
	return fmt.Sprintf("**no** (%.1f %s over)", v-limit, unit)
}

func main() {
	var (
		goBin    = flag.String("go", "go", "go command used to build the binaries")
		cluster  = flag.String("cluster", "auto", `"auto": start a throwaway cluster with scripts/ceph-cluster.sh if Ceph is installed (not with -quick); "none"; or the path of a ceph.conf`)
		serialN  = flag.Int("n", 0, "round trips per in-process measurement (20,000, or 5,000 with -quick)")
		procRuns = flag.Int("runs", 20, "runs of each whole-process command")
		out      = flag.String("out", "", "also write the table to this file")
		quick    = flag.Bool("quick", false, "a shorter run, under a minute: no 1M-element formatting, 5,000 round trips a run, a quarter of the command lines, and no cluster unless -cluster names one or -cluster-only is set")
		fmtRuns  = flag.Int("format-runs", 20, "calls of each 100,000-element format command (bridge vs Python module)")
		onlyCl   = flag.Bool("cluster-only", false, "only the measurements with a cluster (vs the real ceph-mgr, the bridge)")
		onlyBr   = flag.Bool("bridge-only", false, "only the rows of Go modules bridged into the real ceph-mgr vs a Python module (hello, format): a throwaway cluster, nothing else measured")
		promOnly = flag.Bool("prometheus-only", false, "only the prometheus scrapes of synthetic clusters (no cluster)")
		plots    = flag.String("plots", ".", `directory for the plots (bench-throughput.svg, bench-formatting.svg); "" for none`)
	)
	flag.Parse()
	clusterSet := false
	flag.Visit(func(f *flag.Flag) { clusterSet = clusterSet || f.Name == "cluster" })
	if *onlyBr {
		*onlyCl = true
	}
	if *quick && !clusterSet && !*onlyCl {
		*cluster = "none" // the throwaway cluster alone takes a minute of -quick's budget
	}
	if *serialN <= 0 {
		*serialN = 20000
		if *quick {
			*serialN = 5000
		}
	}
	t := &table{}
	sections := 10
	if *onlyCl {
		sections = 3
	}
	if *onlyBr {
		sections = 2
	}
	if *promOnly {
		sections = 1
	}
	prog := newProgress(os.Stderr, sections)
	fmt.Fprintln(os.Stderr, "benchtable: measuring (progress below, table at the end)")
	start := time.Now()
	var err error
	if *promOnly {
		err = prometheusScrapes(t, prog, *goBin, *quick)
	} else {
		err = run(t, prog, *goBin, *cluster, *serialN, *procRuns, *quick, *fmtRuns, *onlyCl, *onlyBr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "gomgr benchmarks, %s, %s, %d CPUs, load average %s at the start; the run took %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuModel(), cpus(), loadAtStart, time.Since(start).Round(time.Second))
	t.print(&buf)
	os.Stdout.Write(buf.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	if *plots != "" {
		files, err := prog.writePlots(*plots)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "benchtable: plots written:", strings.Join(files, ", "))
	}
}

// loadAtStart is the load average when benchtable started.
var loadAtStart = loadAverage()

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the first CPU's model name.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func cpus() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(b, []byte("\nprocessor")) + 1
}

func run(t *table, prog *progress, goBin, cluster string, n, runs int, quick bool, fmtRuns int, clusterOnly, bridgeOnly bool) error {
	if !clusterOnly {
		if err := roundTrips(t, prog, n); err != nil {
			return err
		}
		if err := dispatch(t, prog, quick); err != nil {
			return err
		}
		py, why := startPython()
		defer func() {
			if py != nil { // on an error before the Close below
				_ = py.Close()
			}
		}()
		if err := sideBySide(t, prog, py, why, quick); err != nil {
			return err
		}
		if err := formatting(t, prog, py, why, quick); err != nil {
			return err
		}
		if py != nil {
			if err := py.Close(); err != nil {
				return err
			}
			py = nil
		}
		if err := prometheusScrapes(t, prog, goBin, quick); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "gmbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := build(goBin, dir); err != nil {
		return err
	}
	d, err := startDaemon(dir)
	if err != nil {
		return err
	}
	defer d.stop()
	if !clusterOnly {
		prog.section("whole processes: mgrctl, the daemon's memory")
		if err := processes(t, d, dir, runs); err != nil {
			return err
		}
	}
	data, err := realMgr(t, prog, d, dir, cluster, fmtRuns, bridgeOnly)
	if err != nil || data == "" {
		return err
	}
	// The cluster is gone.
	return promLoopbackData(t, prog, dir, data)
}

// clientCounts are the scaling measurement's numbers of concurrent clients.
var clientCounts = []int{1, 4, 16, 64, 256}

// roundTrips: daemon vs the echo floor, 1 to 256 clients.
func roundTrips(t *table, prog *progress, n int) error {
	prog.section("round trip and throughput against the echo floor")
	reg, err := bench.Registry()
	if err != nil {
		return err
	}
	d, err := bench.StartDaemon(reg)
	if err != nil {
		return err
	}
	defer d.Stop()
	e, err := bench.StartEcho()
	if err != nil {
		return err
	}
	defer e.Stop()
	msg, _ := json.Marshal(bench.EchoCommand)
	for _, conc := range clientCounts {
		prog.step(clients(conc) + ": gomgr and the echo floor, best of 3 interleaved")
		total := n
		// Interleave and keep the best of three, so both sides see the same
		// machine conditions.
		var dr, er bench.Result
		for i := 0; i < 3; i++ {
			r, err := bench.Parallel(conc, total, bench.DaemonOp(d.APIPath(), bench.EchoCommand))
			if err != nil {
				return err
			}
			if r.Errors > 0 {
				return fmt.Errorf("daemon round trips: %d errors", r.Errors)
			}
			if dr.Ops == 0 || r.PerOp() < dr.PerOp() {
				dr = r
			}
			r, err = bench.Parallel(conc, total, bench.EchoOp(e.Path, len(msg)+8))
			if err != nil {
				return err
			}
			if er.Ops == 0 || r.PerOp() < er.PerOp() {
				er = r
			}
		}
		prog.series("throughput", "gomgr daemon (API socket)", float64(conc), dr.OpsPerSec())
		prog.series("throughput", "echo floor (bare unix socket)", float64(conc), er.OpsPerSec())
		if conc == 1 {
			ratio := float64(dr.PerOp()) / float64(er.PerOp())
			t.add(row{"command round trip", "1 client, serial: time per command, best of 3 interleaved", dur(dr.PerOp()), dur(er.PerOp()) + " (echo floor)",
				fmt.Sprintf("%.2fx", ratio), "≤ 1.3x floor", bench.AtMost(ratio, 1.3)})
			continue
		}
		ratio := dr.OpsPerSec() / er.OpsPerSec()
		t.add(row{"scaling", fmt.Sprintf("throughput, %d concurrent clients (one connection each), best of 3 interleaved", conc), rate(dr.OpsPerSec()), rate(er.OpsPerSec()) + " (echo floor)",
			fmt.Sprintf("%.2fx of floor", ratio), "reported", ""})
	}
	return nil
}

func dispatch(t *table, prog *progress, quick bool) error {
	sizes := []int{10, 100, 1000, 10000, 100000}
	if quick {
		sizes = sizes[:4]
	}
	prog.section(fmt.Sprintf("dispatch among 10 to %s registered commands", thousands(sizes[len(sizes)-1])))
	// Every registry is built first and all are measured interleaved, best
	// of 3: the same machine conditions and the same heap for every size.
	sides := make([]func() (time.Duration, error), len(sizes))
	allocs := make([]float64, len(sizes))
	for i, n := range sizes {
		prog.step(fmt.Sprintf("registering %s commands", thousands(n)))
		op, err := bench.DispatchOp(n)
		if err != nil {
			return err
		}
		sides[i] = func() (time.Duration, error) { return bench.TimeOp(minTime, op) }
		allocs[i] = testing.AllocsPerRun(100, func() { _ = op() })
	}
	prog.step("dispatching, best of 3 interleaved")
	best, err := bench.Interleave(3, sides...)
	if err != nil {
		return err
	}
	for i, n := range sizes {
		ratio := float64(best[i]) / float64(best[0])
		t.add(row{"dispatch", fmt.Sprintf("%s registered commands, best of 3 interleaved", thousands(n)), fmt.Sprintf("%s/op, %.0f allocs/op", dur(best[i]), allocs[i]),
			"10 commands", fmt.Sprintf("%.2fx", ratio), "flat (≤ 1.5x)", bench.AtMost(ratio, 1.5)})
	}
	return nil
}

func build(goBin, dir string) error {
	cmd := exec.Command(goBin, "build", "-o", dir+"/", "./cmd/ceph-mgr", "./cmd/mgrctl", "./internal/bench/cmd/benchmgr", "./internal/bench/cmd/promscrape")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the binaries: %w", err)
	}
	return nil
}

type proc struct {
	cmd  *exec.Cmd
	asok string
	api  string
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// startDaemon starts the built daemon and enables every module compiled in.
func startDaemon(dir string) (*proc, error) {
	return startDaemonIn(dir, "b", filepath.Join(dir, "data"), filepath.Join(dir, "run"))
}

// startDaemonIn starts the daemon built in dir as mgr.<id> on the data
// and run directories given, and enables every module compiled in.
func startDaemonIn(dir, id, data, run string) (*proc, error) {
	cmd := exec.Command(filepath.Join(dir, "ceph-mgr"), "-i", id, "--data", data, "--run-dir", run)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, asok: filepath.Join(run, "ceph-mgr."+id+".asok"), api: filepath.Join(run, "ceph-mgr."+id+".api")}
	c := api.NewClient(p.api)
	defer c.Close()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s, err := c.Status(ctx); err == nil && s.Role == "active" {
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("the daemon did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := c.Command(ctx, map[string]any{"prefix": "mgr module ls", "format": "json"}, nil)
	if err != nil {
		p.stop()
		return nil, err
	}
	var ls struct {
		Disabled []struct{ Name string } `json:"disabled_modules"`
	}
	_ = json.Unmarshal(res.Stdout, &ls)
	for _, m := range ls.Disabled {
		if res, err := c.Command(ctx, map[string]any{"prefix": "mgr module enable", "module": m.Name}, nil); err != nil || res.Retval != 0 {
			p.stop()
			return nil, fmt.Errorf("enable %s: %v %s", m.Name, err, res.Stderr)
		}
	}
	return p, nil
}

// processes: mgrctl vs ceph --admin-daemon, and the daemon's memory.
func processes(t *table, d *proc, dir string, runs int) error {
	mgrctl := func() error {
		return exec.Command(filepath.Join(dir, "mgrctl"), "--socket", d.api, "hello").Run()
	}
	timeRuns := func(f func() error) (time.Duration, error) {
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			start := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			ds = append(ds, time.Since(start))
		}
		return bench.Median(ds), nil
	}
	ours, err := timeRuns(mgrctl)
	if err != nil {
		return fmt.Errorf("mgrctl: %w", err)
	}
	if ceph, err := exec.LookPath("ceph"); err == nil {
		theirs, err := timeRuns(func() error { return exec.Command(ceph, "--admin-daemon", d.asok, "hello").Run() })
		if err != nil {
			return fmt.Errorf("ceph --admin-daemon: %w", err)
		}
		ratio := float64(theirs) / float64(ours)
		t.add(row{"whole process", fmt.Sprintf("`mgrctl hello` vs `ceph --admin-daemon ... hello` (median of %d)", runs),
			dur(ours), dur(theirs) + " (ceph CLI)", fmt.Sprintf("%.1fx faster", ratio), "≥ 10x faster", bench.AtLeast(ratio, 10)})
	} else {
		t.add(row{"whole process", "`mgrctl hello`", dur(ours), "ceph CLI not installed", "", "≥ 10x faster", "not measured"})
	}

	// Memory after some work, every module enabled.
	c := api.NewClient(d.api)
	defer c.Close()
	if _, err := bench.Parallel(16, 20000, bench.DaemonOp(d.api, map[string]any{"prefix": "hello", "person_name": "x"})); err != nil {
		return err
	}
	res, _ := c.Command(context.Background(), map[string]any{"prefix": "mgr self-test run"}, nil)
	rss, hwm := memory(d.cmd.Process.Pid)
	names := ""
	if ls, err := c.Command(context.Background(), map[string]any{"prefix": "mgr module ls", "format": "json"}, nil); err == nil {
		var l struct {
			Enabled []string `json:"enabled_modules"`
		}
		_ = json.Unmarshal(ls.Stdout, &l)
		names = strings.Join(l.Enabled, ", ")
	}
	note := ""
	if res.Retval != 0 {
		note = " (self-test failed: " + res.Stderr + ")"
	}
	t.add(row{"daemon memory", "resident set, modules " + names + ", after 20,000 commands and a self-test run" + note,
		fmt.Sprintf("%.1f MiB (peak %.1f MiB)", rss, hwm), "", "", "< 30 MiB", under(hwm, 30, "MiB")})
	return nil
}

func memory(pid int) (rss, hwm float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// notBridged adds the bridge section's rows, not measured, and why.
func notBridged(t *table, why string) {
	t.add(row{"bridge vs Python module", "`hello` round trip and throughput, Go bridged vs Python `pybench hello`", "", "", "", "≤ 1.3x", "not measured (" + why + ")"})
	t.add(row{"bridge vs Python module", "a 100,000-element result as JSON, Go `gobench format` bridged vs Python `pybench format`", "", "", "", "≥ 5x faster", "not measured (" + why + ")"})
	t.add(row{"prometheus vs Python, loopback, whole mgr", "scrape of the loopback cluster, gomgr's module bridged vs Pacific's", "", "", "", "reported", "not measured (" + why + ")"})
	t.add(row{"prometheus vs Python, loopback data", "scrape of the loopback cluster's data, both modules' collection code", "", "", "", fmt.Sprintf("≥ %dx faster", pyTarget), "not measured (" + why + ")"})
}

// realMgr compares command throughput with the real ceph-mgr and, in a
// cluster started here, the bridge section (bridge.go): one cluster for
// both, its mgr's module path extended with benchmgr's bridge and pybench.
// realMgr: the rows against the real ceph-mgr; with bridgeOnly only the
// bridged modules' hello and format rows (no throughput against gomgr, no
// prometheus, no start-up). It returns the directory of the loopback
// cluster's data (promSnapshot), if it took it, for promLoopbackData
// once the cluster is gone.
func realMgr(t *table, prog *progress, d *proc, dir, cluster string, fmtRuns int, bridgeOnly bool) (data string, err error) {
	prog.section("against the real ceph-mgr")
	conf := cluster
	if cluster == "none" {
		t.add(row{"vs real ceph-mgr", "command throughput", "", "", "", "≥ 10x", "not measured (-cluster=none)"})
		notBridged(t, "-cluster=none")
		t.add(row{"start-up and memory vs real ceph-mgr", "", "", "", "", "≥ 10x", "not measured (-cluster=none)"})
		return "", nil
	}
	bridged := cluster == "auto"
	cdir := filepath.Join(dir, "cluster")
	if cluster == "auto" {
		if _, err := exec.LookPath("ceph-mon"); err != nil {
			t.add(row{"vs real ceph-mgr", "command throughput", "", "", "", "≥ 10x", "not measured (Ceph not installed)"})
			notBridged(t, "Ceph not installed")
			t.add(row{"start-up and memory vs real ceph-mgr", "", "", "", "", "≥ 10x", "not measured (Ceph not installed)"})
			return "", nil
		}
		modules, err := installBridge(dir)
		if err != nil {
			return "", err
		}
		prog.step("starting a throwaway Ceph cluster (scripts/ceph-cluster.sh)")
		start := exec.Command("scripts/ceph-cluster.sh", "start", cdir)
		start.Env = append(os.Environ(), "CEPH_CLUSTER_MGR_MODULES="+modules)
		start.Stderr = os.Stderr
		if _, err := start.Output(); err != nil {
			_ = exec.Command("scripts/ceph-cluster.sh", "destroy", cdir).Run()
			return "", fmt.Errorf("start a cluster: %w", err)
		}
		defer func() {
			if out, err := exec.Command("scripts/ceph-cluster.sh", "destroy", cdir).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "benchtable: destroy the cluster in %s: %v %s\n", cdir, err, out)
			}
		}()
		conf = filepath.Join(cdir, "ceph.conf")
	} else {
		notBridged(t, "-cluster="+cluster+": needs the cluster benchtable starts")
	}
	ctx := context.Background()
	dial := func() (*cephrados.Conn, error) {
		conn, err := cephrados.Connect(ctx, clusterbackend.DialOptions{Conf: conf, Name: "client.admin", OpTimeout: 30 * time.Second, MountTimeout: 10 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", conf, err)
		}
		return conn, nil
	}
	conn, err := dial()
	if err != nil {
		return "", err
	}
	modules := []string{"selftest"}
	ready := [][]string{{"mgr", "self-test", "python-version"}}
	var ports map[string]int
	if bridged {
		modules = append(modules, bridgeModules...)
		ready = append(ready, []string{"hello"}, []string{"pybench", "hello"}, []string{"gobench", "format", "1"}, []string{"pybench", "format", "1"})
		// Both prometheus modules, configured first: enabling modules
		// respawns the mgr, once for all.
		if ports, err = promPorts(); err == nil {
			err = configurePrometheus(conn, ports)
		}
		if err != nil {
			conn.Close()
			return "", err
		}
		modules = append(modules, promModules...)
	}
	for _, m := range modules {
		enable, _ := json.Marshal(map[string]any{"prefix": "mgr module enable", "module": m})
		if _, outs, err := conn.MonCommand(enable, nil); err != nil {
			conn.Close()
			return "", fmt.Errorf("enable %s on the real mgr: %v %s", m, err, outs)
		}
	}
	conn.Close()
	prog.step(fmt.Sprintf("enabled %s in the real ceph-mgr; waiting for it to respawn", strings.Join(modules, ", ")))
	if err := waitForCommands(conf, ready, 180*time.Second); err != nil { // the real mgr restarts when the module set changes
		return "", err
	}
	// A connection of its own for the measurements, opened once the mgr
	// has settled.
	if conn, err = dial(); err != nil {
		return "", err
	}
	closeConn := sync.OnceFunc(conn.Close)
	defer closeConn()
	pyCmd, _ := json.Marshal(map[string]any{"prefix": "mgr self-test python-version"})
	for _, conc := range clientCounts {
		if bridgeOnly {
			break
		}
		prog.step(clients(conc) + ": the real mgr over librados, then gomgr")
		total := max(1000, 50*conc)
		theirs, err := bench.Parallel(conc, total, func() (func() error, func(), error) {
			return func() error { _, _, err := conn.MgrCommand(pyCmd, nil); return err }, func() {}, nil
		})
		if err != nil {
			return "", err
		}
		ours, err := bench.Parallel(conc, max(20000, 5*total), bench.DaemonOp(d.api, map[string]any{"prefix": "hello", "person_name": "x"}))
		if err != nil {
			return "", err
		}
		ratio := ours.OpsPerSec() / theirs.OpsPerSec()
		t.add(row{"vs real ceph-mgr", "command throughput, " + clients(conc) + ": gomgr `hello` vs Python `mgr self-test python-version` over librados",
			rate(ours.OpsPerSec()), rate(theirs.OpsPerSec()) + " (ceph-mgr 16.2)", fmt.Sprintf("%.0fx", ratio), "≥ 10x", bench.AtLeast(ratio, 10)})
		prog.series("throughput", "real ceph-mgr 16.2 (librados, Python command)", float64(conc), theirs.OpsPerSec())
	}
	if !bridged {
		t.add(row{"start-up and memory vs real ceph-mgr", "", "", "", "", "≥ 10x", "not measured (-cluster=" + cluster + ": needs the cluster benchtable starts)"})
		return "", nil
	}
	prog.section("Go modules bridged into the real ceph-mgr against a Python module")
	if err := bridgedVsPython(t, conn, fmtRuns); err != nil {
		return "", err
	}
	if bridgeOnly {
		return "", nil
	}
	if err := promLoopback(t, prog, dir, cdir, ports); err != nil {
		return "", err
	}
	if data, err = promSnapshot(prog, conn, dir); err != nil {
		return "", err
	}
	prog.section("start-up and memory against the real ceph-mgr")
	closeConn() // no librados connection while the mgr restarts
	return data, startupRows(t, prog, dir, cdir, conf)
}

func dur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d.Nanoseconds())/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func rate(r float64) string {
	if r >= 1000 {
		return fmt.Sprintf("%.1fk ops/s", r/1000)
	}
	return fmt.Sprintf("%.0f ops/s", r)
}

func count(n int) string {
	switch {
	case n >= 1000000:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// clients is "1 client", "4 clients".
func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
