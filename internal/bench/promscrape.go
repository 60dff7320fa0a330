package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The timing of the prometheus scrape comparison, the same on both sides:
// each side runs in a process of its own (cmd/promscrape for Go,
// python/promscrape.py for Python) that loads the synthetic cluster,
// resets its peak resident set, times its scrapes (wall time, and CPU
// time of the whole process: getrusage, time.process_time), the
// collection in the process (the module's /metrics handler, Pacific's
// collect()) and then over HTTP from the module's own server, and prints
// a ScrapeFigures line.

// PromScript is the Python side's script, relative to the repository's
// top.
const PromScript = "internal/bench/python/promscrape.py"

// PacificPrometheus is Pacific's module, which the Python side imports.
const PacificPrometheus = "/usr/share/ceph/mgr/prometheus/module.py"

// PromPython is the python3 to run Pacific's module with: Debian's, for
// which the module's packages (python3-cherrypy3, python3-yaml) are
// installed, else the first on PATH; an error if there is none or
// Pacific's module is not installed.
func PromPython() (string, error) {
	if _, err := os.Stat(PacificPrometheus); err != nil {
		return "", fmt.Errorf("the prometheus module of Pacific: %w", err)
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3", nil
	}
	return exec.LookPath("python3")
}

// ScrapeFigures is one side's measurement: per scrape, then memory.
// Sizes are bytes.
type ScrapeFigures struct {
	WallNS []float64 `json:"wall_ns"`
	CPUNS  []float64 `json:"cpu_ns"`
	// HTTPWallNS and HTTPCPUNS are as many scrapes over HTTP: the
	// module's own server (net/http, Pacific's cherrypy) and an HTTP
	// client in the process.
	HTTPWallNS []float64 `json:"http_wall_ns,omitempty"`
	HTTPCPUNS  []float64 `json:"http_cpu_ns,omitempty"`
	// AllocBytes is the Go heap allocated by each scrape (Go only).
	AllocBytes []float64 `json:"alloc_bytes,omitempty"`
	// Bytes is the last scrape's text length.
	Bytes int `json:"bytes"`
	// The resident set after loading the cluster and starting the module
	// (before the scrapes), its peak during the scrapes (VmHWM, reset
	// before them), and after them.
	RSSBefore float64 `json:"rss_before"`
	RSSPeak   float64 `json:"rss_peak"`
	RSSAfter  float64 `json:"rss_after"`
	// The Go heap's live objects before the scrapes and after them (both
	// after a collection) and at their peak during them (sampled every
	// 2 ms) (Go only).
	HeapBefore float64 `json:"heap_before,omitempty"`
	HeapPeak   float64 `json:"heap_peak,omitempty"`
	HeapAfter  float64 `json:"heap_after,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// MedianOf is the median of vs (0 if empty).
func MedianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// procStatus reads a field of /proc/self/status in bytes (VmRSS, VmHWM).
func procStatus(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		return kb * 1024
	}
	return 0
}

// resetPeakRSS makes VmHWM the current resident set (Linux's clear_refs
// 5); without it the peak includes the cluster's loading.
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapObjects is the Go heap's live and not yet collected objects.
func heapObjects() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// TimeGoScrapes times n scrapes of h (cmd/promscrape's measurement) and
// returns the figures and the last scrape's text. The timed scrapes are
// h.Collect's (the module's handler in this process, as Pacific's
// collect() is timed on the Python side); n more over HTTP
// (h.Scrape) are timed for the HTTPWallNS and HTTPCPUNS figures. The
// memory is measured in a pass of n scrapes of its own, before them:
// its sampler and the allocation counts stop the world or wake a thread,
// which the timed passes are not charged for.
func TimeGoScrapes(h *PromHost, n int) (ScrapeFigures, []byte, error) {
	var f ScrapeFigures
	runtime.GC()
	debug.FreeOSMemory()
	f.HeapBefore = heapObjects()
	f.RSSBefore = procStatus("VmRSS")
	if err := resetPeakRSS(); err != nil {
		return f, nil, fmt.Errorf("resetting the peak resident set: %w", err)
	}
	var err error
	f.HeapPeak, f.AllocBytes, err = memoryPass(h, n)
	f.RSSPeak = procStatus("VmHWM")
	if err != nil {
		return f, nil, err
	}
	var text []byte
	f.WallNS, f.CPUNS, text, err = timedPass(h.Collect, n)
	if err != nil {
		return f, nil, err
	}
	// Keep the text: the HTTP pass reuses the buffer.
	text = bytes.Clone(text)
	if f.HTTPWallNS, f.HTTPCPUNS, _, err = timedPass(h.Scrape, n); err != nil {
		return f, nil, err
	}
	// The text's copy, the reused buffer and the client's connection are
	// not the module's.
	h.buf = bytes.Buffer{}
	if h.conn != nil {
		h.conn.Close()
		h.conn, h.br = nil, nil
	}
	runtime.GC()
	f.HeapAfter = heapObjects() - float64(cap(text))
	f.RSSAfter = procStatus("VmRSS")
	f.Bytes = len(text)
	return f, text, nil
}

// timedPass times n calls of scrape: wall and CPU time (the process's)
// each, with nothing else of the measurement's running.
func timedPass(scrape func() ([]byte, error), n int) (wall, cpu []float64, text []byte, err error) {
	for i := 0; i < n; i++ {
		c, start := cpuTime(), time.Now()
		if text, err = scrape(); err != nil {
			return nil, nil, nil, err
		}
		wall = append(wall, float64(time.Since(start)))
		cpu = append(cpu, float64(cpuTime()-c))
	}
	return wall, cpu, text, nil
}

// memoryPass collects n times in-process, sampling the heap's live
// objects every 2 ms (their peak) and counting each scrape's allocation.
func memoryPass(h *PromHost, n int) (peak float64, alloc []float64, err error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapObjects())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var ms runtime.MemStats
	for i := 0; i < n && err == nil; i++ {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err = h.Collect()
		runtime.ReadMemStats(&ms)
		alloc = append(alloc, float64(ms.TotalAlloc-before))
	}
	close(stop)
	wg.Wait()
	return peak, alloc, err
}

// RunScrapeChild runs one side's child process (cmd/promscrape's binary,
// or python3 on PromScript, with its arguments) and decodes its figures;
// it is killed after timeout.
func RunScrapeChild(timeout time.Duration, name string, args ...string) (ScrapeFigures, error) {
	var f ScrapeFigures
	cmd := exec.Command(name, args...)
	var stdout bytes.Buffer
	stderr := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = &stdout, limitWriter{stderr, 64 << 10}
	if err := cmd.Start(); err != nil {
		return f, fmt.Errorf("start %s: %w", name, err)
	}
	t := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	t.Stop()
	if err != nil {
		return f, fmt.Errorf("%s %s: %w (stderr: %s)", name, strings.Join(args, " "), err, stderr)
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &f); err != nil {
		return f, fmt.Errorf("%s: its figures %.300q: %w (stderr: %s)", name, stdout.Bytes(), err, stderr)
	}
	if f.Error != "" {
		return f, fmt.Errorf("%s: %s", name, f.Error)
	}
	if len(f.WallNS) == 0 || len(f.WallNS) != len(f.CPUNS) {
		return f, fmt.Errorf("%s: no scrape timed", name)
	}
	return f, nil
}
