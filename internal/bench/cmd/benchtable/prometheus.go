package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomgr/gomgr/internal/bench"
)

// The prometheus scrape rows (issue 14): gomgr's prometheus module
// against Pacific's on the same synthetic clusters of 100, 1,000 and
// 10,000 OSDs (bench.GenerateSynth), each side in a process of its own:
// internal/bench/cmd/promscrape (the Go module in a daemon on a stand-in
// mgr, cache off) and python3 on internal/bench/python/promscrape.py
// (Pacific's module.py against a stand-in for the mgr's C side). Each
// times the collection in the process (the Go module's /metrics handler
// called, Pacific's collect() called: no socket), then the same number
// of scrapes over HTTP from the module's own server (net/http; Pacific's
// cherrypy), the client in the same process. Their texts are compared
// first (bench.CompareScrapes: the same samples in the families both
// write); the verdict is on CPU time (the host is shared) in the
// process, the collection code's; over HTTP and wall time are shown too.

// promSizes are the synthetic clusters' OSD counts (-quick stops at
// 1,000: Pacific's module takes seconds a scrape at 10,000).
var promSizes = []int{100, 1000, 10000}

// promScrapes is how many scrapes each side times at a size: the first
// is a warm-up, the figures are the median of the others.
func promScrapes(n int) (goScrapes, pyScrapes int) {
	switch {
	case n <= 100:
		return 21, 6
	case n <= 1000:
		return 11, 4
	}
	return 5, 3
}

// promRounds is how many processes of each side run at a size,
// alternated (Go, Python, Python, Go, ...): the host's speed moves from
// one minute to the next, and the sides are compared on the same minutes.
// At 10,000 OSDs one each (Pacific's takes seconds a scrape).
func promRounds(n int) int {
	if n <= 1000 {
		return 3
	}
	return 1
}

// promFigures are one side's medians at a size, over its runs.
type promFigures struct {
	wall, cpu time.Duration
	httpCPU   time.Duration       // the scrapes over HTTP (the module's own server)
	scrapes   int                 // timed, over the runs
	f         bench.ScrapeFigures // the first run's (memory)
}

func medians(runs []bench.ScrapeFigures) promFigures {
	var wall, cpu, httpCPU []float64
	for _, f := range runs {
		w, c, h := f.WallNS, f.CPUNS, f.HTTPCPUNS
		if len(w) > 1 { // each run's first scrape warms up
			w, c = w[1:], c[1:]
		}
		if len(h) > 1 {
			h = h[1:]
		}
		wall, cpu, httpCPU = append(wall, w...), append(cpu, c...), append(httpCPU, h...)
	}
	return promFigures{time.Duration(bench.MedianOf(wall)), time.Duration(bench.MedianOf(cpu)), time.Duration(bench.MedianOf(httpCPU)), len(cpu), runs[0]}
}

// promWays says how a row's two figures of each side are taken.
const promWays = "collection in the process (the Go module's /metrics handler called, Pacific's `collect()` called), then over HTTP from each module's own server (net/http, cherrypy), the client in the process"

// promSide is one side's figures in a row.
func promSide(f promFigures, who string) string {
	return fmt.Sprintf("%s CPU (%s wall); over HTTP %s CPU%s", dur(f.cpu), dur(f.wall), dur(f.httpCPU), who)
}

// promRatio is the row's verdict figure: the CPU ratio of the
// collections in the process (the line is the collection code's;
// over HTTP each side adds its server's and client's work, reported).
func promRatio(goF, pyF promFigures) float64 {
	return float64(pyF.cpu) / float64(max(goF.cpu, 1))
}

// promRatios are a row's ratios: CPU in the process, wall, CPU over HTTP.
func promRatios(goF, pyF promFigures) string {
	return fmt.Sprintf("%.1fx less CPU (wall %.1fx); over HTTP %.1fx", float64(pyF.cpu)/float64(max(goF.cpu, 1)),
		float64(pyF.wall)/float64(max(goF.wall, 1)), float64(pyF.httpCPU)/float64(max(goF.httpCPU, 1)))
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// prometheusScrapes adds the rows of the synthetic clusters.
func prometheusScrapes(t *table, prog *progress, goBin string, quick bool) error {
	prog.section("prometheus scrapes against Pacific's module on synthetic clusters")
	sizes := promSizes
	if quick {
		sizes = sizes[:2]
	}
	py, err := bench.PromPython()
	if err != nil {
		t.add(row{"prometheus vs Python", "scrape of 100 to 10,000 OSDs", "", "", "", "≥ 10x faster", "not measured (" + err.Error() + ")"})
		return nil
	}
	dir, err := os.MkdirTemp("", "gmpromscrape")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	prog.step("building internal/bench/cmd/promscrape")
	child := filepath.Join(dir, "promscrape")
	if out, err := exec.Command(goBin, "build", "-o", child, "./internal/bench/cmd/promscrape").CombinedOutput(); err != nil {
		return fmt.Errorf("build promscrape: %w: %s", err, out)
	}
	script, err := filepath.Abs(bench.PromScript)
	if err != nil {
		return err
	}
	type result struct {
		n      int
		goF    promFigures
		pyF    promFigures
		common bench.ScrapeComparison
	}
	var results []result
	for _, n := range sizes {
		data := filepath.Join(dir, fmt.Sprintf("osds-%d", n))
		if err := os.Mkdir(data, 0o755); err != nil {
			return err
		}
		prog.step(fmt.Sprintf("%s OSDs: generating the cluster", thousands(n)))
		s, err := bench.GenerateSynth(".", n, bench.SynthSeed)
		if err != nil {
			return err
		}
		if err := s.Write(data); err != nil {
			return err
		}
		s = nil
		goN, pyN := promScrapes(n)
		goF, pyF, c, err := scrapePair(prog, thousands(n)+" OSDs", child, py, script, data, goN, pyN, promRounds(n))
		if err != nil {
			return err
		}
		results = append(results, result{n, goF, pyF, c})
	}
	flat := true
	var why []string
	for i, r := range results {
		cpuRatio := float64(r.pyF.cpu) / float64(r.goF.cpu)
		// Pacific's module also writes families the Go module does not
		// yet: its time scaled by the share of its samples both write is
		// the conservative ratio.
		share := float64(r.common.Samples) / float64(r.common.PySamples)
		same, conservative := "every family of Pacific's", ""
		if len(r.common.PyOnly) > 0 {
			same = fmt.Sprintf("Pacific's %d more in %s", r.common.PyOnlySamples(), strings.Join(slices.Sorted(maps.Keys(r.common.PyOnly)), ", "))
			conservative = fmt.Sprintf("%.1fx conservatively; ", cpuRatio*share)
		}
		t.add(row{"prometheus vs Python",
			fmt.Sprintf("scrape of a synthetic cluster of %s OSDs (%d samples both write, the same, in %d families; %s): gomgr's module on a stand-in mgr vs Pacific's on a stand-in C side, %s; median of %d and %d scrapes each way (%d processes of each side, alternated)",
				thousands(r.n), r.common.Samples, r.common.Families, same, promWays, r.goF.scrapes, r.pyF.scrapes, promRounds(r.n)),
			promSide(r.goF, ""), promSide(r.pyF, " (Pacific's module.py)"), conservative + promRatios(r.goF, r.pyF),
			fmt.Sprintf("≥ %dx faster", pyTarget), bench.AtLeast(promRatio(r.goF, r.pyF), pyTarget)})
		g := r.goF.f
		retained := g.HeapAfter - g.HeapBefore
		perOSD := (g.HeapPeak - g.HeapBefore) / float64(r.n)
		if retained > max(2<<20, 0.05*g.HeapBefore) {
			flat = false
			why = append(why, fmt.Sprintf("%s OSDs: %s kept after the scrapes", thousands(r.n), mib(retained)))
		}
		if i > 0 && r.n >= 1000 {
			prev := results[i-1]
			prevPerOSD := (prev.goF.f.HeapPeak - prev.goF.f.HeapBefore) / float64(prev.n)
			if perOSD > 1.5*prevPerOSD {
				flat = false
				why = append(why, fmt.Sprintf("%s OSDs: %.1f KiB of scrape heap an OSD against %.1f KiB at %s", thousands(r.n), perOSD/1024, prevPerOSD/1024, thousands(prev.n)))
			}
		}
		t.add(row{"prometheus memory",
			fmt.Sprintf("%s OSDs: the Go process's heap (live before the scrapes, peak during them, live after) and allocation a scrape; peak resident set during the scrapes of both (before them: the cluster loaded)", thousands(r.n)),
			fmt.Sprintf("heap %s / %s / %s, %s allocated a scrape (%.1f KiB an OSD at the peak); RSS %s (before %s)",
				mib(g.HeapBefore), mib(g.HeapPeak), mib(g.HeapAfter), mib(bench.MedianOf(g.AllocBytes)), perOSD/1024, mib(g.RSSPeak), mib(g.RSSBefore)),
			fmt.Sprintf("RSS %s (before %s) (Pacific's module.py)", mib(r.pyF.f.RSSPeak), mib(r.pyF.f.RSSBefore)),
			fmt.Sprintf("%.1fx the RSS growth", (g.RSSPeak-g.RSSBefore)/max(1, r.pyF.f.RSSPeak-r.pyF.f.RSSBefore)),
			"flat", ""})
	}
	verdict := "yes"
	if !flat {
		verdict = "**no** (" + strings.Join(why, "; ") + ")"
	}
	t.add(row{"prometheus memory", "flat: the Go heap after the scrapes within 5% (or 2 MiB) of before them at every size, and the scrape's peak heap an OSD at most 1.5x that of the size before (from 1,000 OSDs)",
		"", "", "", "flat", verdict})
	return nil
}

// scrapePair times both sides on the cluster in data, rounds processes of
// each alternated (goN and pyN scrapes a process), and compares their
// texts: the same samples in the families both write, none the Go module
// writes alone. label names the cluster in the progress and errors.
func scrapePair(prog *progress, label, child, py, script, data string, goN, pyN, rounds int) (goF, pyF promFigures, c bench.ScrapeComparison, err error) {
	goText, pyText := filepath.Join(data, "go.txt"), filepath.Join(data, "py.txt")
	var goRuns, pyRuns []bench.ScrapeFigures
	runGo := func(round int) error {
		prog.step(fmt.Sprintf("%s: the Go module, %d scrapes (run %d of %d)", label, goN, round, rounds))
		f, err := bench.RunScrapeChild(10*time.Minute, child, "-data", data, "-scrapes", fmt.Sprint(goN), "-out", goText)
		goRuns = append(goRuns, f)
		return err
	}
	runPy := func(round int) error {
		prog.step(fmt.Sprintf("%s: Pacific's module.py, %d scrapes (run %d of %d; seconds each at 10,000 OSDs)", label, pyN, round, rounds))
		f, err := bench.RunScrapeChild(10*time.Minute, py, script, data, fmt.Sprint(pyN), pyText)
		pyRuns = append(pyRuns, f)
		return err
	}
	for i := 1; i <= rounds; i++ {
		first, second := runGo, runPy
		if i%2 == 0 {
			first, second = runPy, runGo
		}
		if err = first(i); err != nil {
			return
		}
		if err = second(i); err != nil {
			return
		}
	}
	gt, err := os.ReadFile(goText)
	if err != nil {
		return
	}
	pt, err := os.ReadFile(pyText)
	if err != nil {
		return
	}
	if c, err = bench.CompareScrapes(pt, gt); err != nil {
		return
	}
	if c.Differ > 0 || len(c.GoOnly) > 0 || c.Samples == 0 {
		err = fmt.Errorf("prometheus, %s: the two modules' texts differ in %d samples of the families both write (%s); Go-only families %v",
			label, c.Differ, strings.Join(c.Mismatches, "; "), slices.Sorted(maps.Keys(c.GoOnly)))
		return
	}
	return medians(goRuns), medians(pyRuns), c, nil
}
