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
// time of the whole process: getrusage, time.process_time) and prints a
// ScrapeFigures line.

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

// TimeGoScrapes scrapes h n times (cmd/promscrape's measurement) and
// returns the figures and the last scrape's text.
func TimeGoScrapes(h *PromHost, n int) (ScrapeFigures, []byte, error) {
	var f ScrapeFigures
	runtime.GC()
	debug.FreeOSMemory()
	f.HeapBefore = heapObjects()
	f.RSSBefore = procStatus("VmRSS")
	if err := resetPeakRSS(); err != nil {
		return f, nil, fmt.Errorf("resetting the peak resident set: %w", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak float64
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
	var text []byte
	var err error
	var ms runtime.MemStats
	for i := 0; i < n && err == nil; i++ {
		runtime.ReadMemStats(&ms)
		alloc := ms.TotalAlloc
		cpu, start := cpuTime(), time.Now()
		text, err = h.Scrape()
		f.WallNS = append(f.WallNS, float64(time.Since(start)))
		f.CPUNS = append(f.CPUNS, float64(cpuTime()-cpu))
		runtime.ReadMemStats(&ms)
		f.AllocBytes = append(f.AllocBytes, float64(ms.TotalAlloc-alloc))
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return f, nil, err
	}
	f.HeapPeak = peak
	f.RSSPeak = procStatus("VmHWM")
	// The client's buffer is not the module's: the text is kept in a
	// copy of its own size, which is not counted.
	text = bytes.Clone(text)
	h.buf = bytes.Buffer{}
	runtime.GC()
	f.HeapAfter = heapObjects() - float64(cap(text))
	f.RSSAfter = procStatus("VmRSS")
	f.Bytes = len(text)
	return f, text, nil
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
