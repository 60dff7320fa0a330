// Command promscrape is the Go side of `make bench`'s prometheus scrape
// comparison (issue 14): it loads a synthetic cluster written by
// bench.GenerateSynth, runs gomgr's prometheus module on a stand-in mgr
// fed that cluster (bench.StartPromHost: an in-process daemon, cache off),
// has it answer /metrics -scrapes times in the process (its handler
// called: bench.TimeGoScrapes), then -scrapes times over HTTP, and prints
// one JSON line of figures (bench.ScrapeFigures): per scrape the wall
// time and the CPU time of this process (getrusage) each way; from a
// pass of its own before, the bytes allocated a scrape and the Go heap
// and resident set before the scrapes, at their peak and after them. The
// last in-process scrape's text goes to -out. python/promscrape.py is the
// Python side.
//
// With -generate N it writes the synthetic cluster of N OSDs (seed
// -seed) into -data instead, from the repository's top; with -snapshot
// FILE it writes there the cluster a `ceph pybench snapshot` reply (in
// FILE) describes (benchtable's loopback data row).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/gomgr/gomgr/internal/bench"
)

func main() {
	data := flag.String("data", "", "the synthetic cluster's directory")
	scrapes := flag.Int("scrapes", 5, "scrapes to time")
	out := flag.String("out", "", "write the last scrape's text here")
	generate := flag.Int("generate", 0, "write the synthetic cluster of this many OSDs into -data (run from the repository's top), and scrape nothing")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the scrapes here")
	memProfile := flag.String("memprofile", "", "write an allocation profile (after the scrapes) here")
	snapshot := flag.String("snapshot", "", "write the cluster of this `ceph pybench snapshot` reply (a file) into -data, and scrape nothing")
	seed := flag.Uint64("seed", bench.SynthSeed, "the synthetic cluster's seed, with -generate")
	flag.Parse()
	var err error
	switch {
	case *generate > 0:
		err = generateTo(*data, *generate, *seed)
	case *snapshot != "":
		err = snapshotTo(*data, *snapshot)
	default:
		err = run(*data, *scrapes, *out, *cpuProfile, *memProfile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "promscrape:", err)
		os.Exit(1)
	}
}

func run(data string, scrapes int, out, cpuProfile, memProfile string) error {
	if data == "" || scrapes < 1 {
		return fmt.Errorf("-data DIR and -scrapes N (at least 1) are required")
	}
	s, err := bench.LoadSynth(data)
	if err != nil {
		return err
	}
	h, err := bench.StartPromHost(s)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	figs, text, err := bench.TimeGoScrapes(h, scrapes)
	if stopErr := h.Stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return err
	}
	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	if out != "" {
		if err := os.WriteFile(out, text, 0o644); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(figs)
}

func generateTo(dir string, n int, seed uint64) error {
	s, err := bench.GenerateSynth(".", n, seed)
	if err != nil {
		return err
	}
	return writeTo(dir, s)
}

func snapshotTo(dir, file string) error {
	reply, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s, err := bench.SynthFromSnapshot(reply)
	if err != nil {
		return err
	}
	return writeTo(dir, s)
}

func writeTo(dir string, s *bench.Synth) error {
	if dir == "" {
		return fmt.Errorf("-data DIR is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return s.Write(dir)
}
