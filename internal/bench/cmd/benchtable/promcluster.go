package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomgr/gomgr/internal/bench"
	"github.com/gomgr/gomgr/internal/cephrados"
)

// The loopback prometheus row (issue 14): in the cluster benchtable
// starts, Pacific's prometheus module and gomgr's, bridged into the same
// real ceph-mgr as goprometheus (benchmgr's bridge, installed with
// --rename prometheus=goprometheus), both with cache off, scraped over
// HTTP alternately. The CPU a scrape is the real mgr's (both modules run
// in it: the Go module's get() calls are answered by its shim there) plus,
// for the Go module, the bridge's Go process, from /proc.

// promModules are the two modules of the row, as enabled in the real mgr.
var promModules = []string{"prometheus", "goprometheus"}

// promLoopbackScrapes is how many scrapes of each module are timed.
const promLoopbackScrapes = 40

// promSettle is the pause before each timed scrape.
const promSettle = 20 * time.Millisecond

// promPorts picks a free port for each module.
func promPorts() (map[string]int, error) {
	ports := map[string]int{}
	for _, m := range promModules {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports[m] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return ports, nil
}

// configurePrometheus sets both modules' server_addr, server_port and
// cache (off) before they are enabled.
func configurePrometheus(conn *cephrados.Conn, ports map[string]int) error {
	for _, m := range promModules {
		for k, v := range map[string]string{"server_addr": "127.0.0.1", "server_port": strconv.Itoa(ports[m]), "cache": "false"} {
			cmd, _ := json.Marshal(map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/" + m + "/" + k, "value": v})
			if _, outs, err := conn.MonCommand(cmd, nil); err != nil {
				return fmt.Errorf("config set mgr/%s/%s: %v %s", m, k, err, outs)
			}
		}
	}
	return nil
}

// procCPU is a process's CPU time: the run time the scheduler accounts
// its threads (the first field of /proc/PID/task/TID/schedstat, in
// nanoseconds; /proc/PID/stat's utime and stime count 10 ms ticks, too
// coarse for a scrape of a few milliseconds). A thread that ends between
// two readings takes its time with it; the processes measured here keep
// theirs.
func procCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread has ended
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, fmt.Errorf("%s/%s/schedstat: %.100q", dir, e.Name(), b)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %.100q", dir, e.Name(), b)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// findProcess is the pid of the process running the binary exe, or 0.
func findProcess(exe string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && p == exe {
			return pid
		}
	}
	return 0
}

// promLoopback measures the row; dir holds benchmgr, cdir the cluster.
func promLoopback(t *table, prog *progress, dir, cdir string, ports map[string]int) error {
	prog.step("prometheus: Pacific's module and gomgr's bridged one, scraped alternately")
	client := &http.Client{Timeout: 2 * time.Minute}
	scrape := func(m string) ([]byte, error) {
		res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[m]))
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %.200s", res.Status, body)
		}
		return body, err
	}
	texts := map[string][]byte{}
	for _, m := range promModules {
		var err error
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
			if texts[m], err = scrape(m); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the %s module does not answer /metrics: %w", m, err)
			}
		}
	}
	c, err := bench.CompareScrapes(texts["prometheus"], texts["goprometheus"])
	if err != nil {
		return err
	}
	if len(c.GoOnly) > 0 || c.Samples == 0 {
		return fmt.Errorf("prometheus on the loopback cluster: the Go module writes families Pacific's does not: %v", c.GoOnly)
	}
	pidText, err := os.ReadFile(filepath.Join(cdir, "run", "ceph-mgr.x.pid"))
	if err != nil {
		return fmt.Errorf("the real mgr's pid: %w", err)
	}
	mgrPid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return fmt.Errorf("the real mgr's pid: %w", err)
	}
	goPid := findProcess(filepath.Join(dir, "benchmgr"))
	if goPid == 0 {
		return fmt.Errorf("the bridge's Go process (%s) is not running", filepath.Join(dir, "benchmgr"))
	}
	wall := map[string][]time.Duration{}
	// cpu is each module's CPU time over its scrapes, by process: the
	// mgr's for both, the bridge's Go process's for the Go module.
	cpu := map[string]map[int]time.Duration{}
	pids := map[string][]int{"prometheus": {mgrPid}, "goprometheus": {mgrPid, goPid}}
	before := map[int]time.Duration{}
	for i := 0; i < promLoopbackScrapes; i++ {
		for _, m := range promModules {
			if cpu[m] == nil {
				cpu[m] = map[int]time.Duration{}
			}
			// What the last scrape left running (a shim's worker
			// finishing) ends before this one's window opens.
			time.Sleep(promSettle)
			for _, p := range pids[m] {
				if before[p], err = procCPU(p); err != nil {
					return err
				}
			}
			start := time.Now()
			if _, err := scrape(m); err != nil {
				return fmt.Errorf("scraping %s: %w", m, err)
			}
			wall[m] = append(wall[m], time.Since(start))
			for _, p := range pids[m] {
				after, err := procCPU(p)
				if err != nil {
					return err
				}
				cpu[m][p] += after - before[p]
			}
		}
	}
	goWall, pyWall := bench.Median(wall["goprometheus"]), bench.Median(wall["prometheus"])
	per := func(d time.Duration) time.Duration { return d / promLoopbackScrapes }
	goMgr, goGo := per(cpu["goprometheus"][mgrPid]), per(cpu["goprometheus"][goPid])
	goCPU, pyCPU := goMgr+goGo, per(cpu["prometheus"][mgrPid])
	ratio := float64(pyCPU) / float64(max(goCPU, time.Microsecond))
	// Reported, not held to the 10x, which is the collection
	// code's on the same data (promLoopbackData): here most of both
	// figures is the real mgr's C++ answering the get()s both modules
	// need, the same for both (BENCHMARKS.md).
	t.add(row{"prometheus vs Python, loopback, whole mgr",
		fmt.Sprintf("scrape of the loopback cluster (1 OSD, 1 monitor, 1 mgr; %d samples both write, in %d families, %d of them with another value at the moment of the first scrapes): gomgr's module bridged into the real mgr as goprometheus vs Pacific's prometheus in the same mgr, cache off, %d alternated scrapes, 20 ms apart; CPU: the mgr's, plus the bridge's Go process for the Go module (/proc/PID/task/*/schedstat); most of both is the mgr's own C++ answering the get()s both modules need (the collection code alone, on this cluster's data: the loopback data row)",
			c.Samples, c.Families, c.Differ, promLoopbackScrapes),
		fmt.Sprintf("%s CPU (the mgr %s, the Go process %s; %s wall)", dur(goCPU), dur(goMgr), dur(goGo), dur(goWall)),
		fmt.Sprintf("%s CPU (%s wall) (Pacific's module)", dur(pyCPU), dur(pyWall)),
		fmt.Sprintf("%.1fx less CPU (wall %.1fx)", ratio, float64(pyWall)/float64(goWall)),
		"reported", ""})
	return nil
}

// promLoopbackData is the loopback row of the synthetic rows' kind: the
// loopback cluster's own data, read from the real mgr by pybench's
// snapshot (promSnapshot: what both modules read of it, in the synthetic
// clusters' files), then both modules' collection code on stand-ins fed
// it, as at 100 to 10,000 OSDs, once the cluster is gone (its daemons'
// work would share the host with the scrapes). Where the bridged row
// (promLoopback) times both modules in the real mgr, the mgr's own work
// included, this one times the collection code alone, on the same data.

// promSnapshot writes the loopback cluster's data into dir/loopback-data
// and returns that directory.
func promSnapshot(prog *progress, conn *cephrados.Conn, dir string) (string, error) {
	prog.step("prometheus: the loopback cluster's data (pybench snapshot)")
	cmd, _ := json.Marshal(map[string]any{"prefix": "pybench snapshot"})
	out, outs, err := conn.MgrCommand(cmd, nil)
	if err != nil {
		return "", fmt.Errorf("pybench snapshot: %v %s", err, outs)
	}
	s, err := bench.SynthFromSnapshot(out)
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "loopback-data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return "", err
	}
	return data, s.Write(data)
}

// promLoopbackData measures the row on promSnapshot's data; dir holds
// promscrape.
func promLoopbackData(t *table, prog *progress, dir, data string) error {
	const what = "prometheus vs Python, loopback data"
	py, err := bench.PromPython()
	if err != nil {
		t.add(row{what, "", "", "", "", fmt.Sprintf("≥ %dx faster", pyTarget), "not measured (" + err.Error() + ")"})
		return nil
	}
	prog.section("prometheus: the loopback cluster's data, both modules' collection code on stand-ins")
	script, err := filepath.Abs(bench.PromScript)
	if err != nil {
		return err
	}
	// Scrapes of a tenth of a millisecond: many, so that each process
	// times a few tens of milliseconds, and five of each side.
	const goN, pyN, rounds = 201, 31, 5
	goF, pyF, c, err := scrapePair(prog, "the loopback cluster's data", filepath.Join(dir, "promscrape"), py, script, data, goN, pyN, rounds)
	if err != nil {
		return err
	}
	t.add(row{what,
		fmt.Sprintf("scrape of the loopback cluster's own data (read from the real mgr by `pybench snapshot`: %d samples both write, the same, in %d families): gomgr's module on a stand-in mgr vs Pacific's on a stand-in C side, as the synthetic rows (%s), after the cluster is stopped; median of %d and %d scrapes each way (%d processes of each side, alternated)",
			c.Samples, c.Families, promWays, goF.scrapes, pyF.scrapes, rounds),
		promSide(goF, ""), promSide(pyF, " (Pacific's module.py)"), promRatios(goF, pyF),
		fmt.Sprintf("≥ %dx faster", pyTarget), bench.AtLeast(promRatio(goF, pyF), pyTarget)})
	return nil
}
