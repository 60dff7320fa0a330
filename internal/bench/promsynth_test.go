package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// synthDir writes the synthetic cluster of n OSDs into a temporary
// directory.
func synthDir(t *testing.T, n int, seed uint64) string {
	t.Helper()
	s, err := GenerateSynth(repoFile(""), n, seed)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, s.Write(dir))
	return dir
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{SynthGetFile, SynthServersFile, SynthMetaFile, SynthSchemaFile, SynthValuesFile, SynthHealthFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		out[f] = string(b)
	}
	return out
}

// TestGenerateSynth: the same size and seed write the same files, another
// seed other values; the cluster has its OSDs (a tenth as many hosts),
// monitors, mgrs, MDSs, pools and counters, and reads back.
func TestGenerateSynth(t *testing.T) {
	a, b, c := readDir(t, synthDir(t, 100, 1)), readDir(t, synthDir(t, 100, 1)), readDir(t, synthDir(t, 100, 2))
	require.Equal(t, a, b, "deterministic")
	require.NotEqual(t, a[SynthValuesFile], c[SynthValuesFile], "the seed changes the values")
	require.Equal(t, a[SynthSchemaFile], c[SynthSchemaFile], "the schemas are Pacific's")

	s, err := LoadSynth(synthDir(t, 250, SynthSeed))
	require.NoError(t, err)
	require.Equal(t, 250, s.OSDs)
	require.Len(t, s.Servers, 25)
	om := s.Get["osd_map"].(map[string]any)
	require.Len(t, om["osds"], 250)
	require.Len(t, om["pools"], synthPools(250))
	require.Len(t, s.Get["osd_map_crush"].(map[string]any)["devices"], 250)
	require.Len(t, s.Get["osd_stats"].(map[string]any)["osd_stats"], 250)
	require.Len(t, s.Meta["mon"], 3)
	require.Len(t, s.Meta["mds"], 2)
	require.Len(t, s.Values, 250+3+2, "OSDs, monitors and MDSs have counters")
	require.Len(t, s.Values["osd.7"], len(s.Schema["osd"]), "a value a counter")
	require.GreaterOrEqual(t, len(s.Schema["osd"]), 30)
	down := 0
	for _, o := range om["osds"].([]any) {
		if o.(map[string]any)["up"] == 0.0 {
			down++
		}
	}
	require.Equal(t, 2, down, "every hundredth OSD is down")
	require.Contains(t, s.Get["health"].(map[string]any)["checks"], "OSD_DOWN")

	_, err = GenerateSynth(repoFile(""), 0, 1)
	require.ErrorContains(t, err, "at least one OSD")
	_, err = GenerateSynth(t.TempDir(), 10, 1)
	require.ErrorContains(t, err, "perf schemas")
	_, err = LoadSynth(t.TempDir())
	require.Error(t, err)
}

// TestCompareScrapes: the same samples written differently compare
// equal; a value, a missing and an extra sample are mismatches; families
// of one side are counted; a line that does not parse is an error.
func TestCompareScrapes(t *testing.T) {
	py := []byte(`
# HELP ceph_osd_up OSD status up
# TYPE ceph_osd_up untyped
ceph_osd_up{ceph_daemon="osd.0"} 1.0
ceph_osd_up{ceph_daemon="osd.1"} 0.0
# HELP ceph_pool_objects_repaired x
ceph_pool_objects_repaired{poolid="1"} 0.0
# HELP ceph_pool_objects_repaired x
ceph_pool_objects_repaired{poolid="2"} 3.0
ceph_osd_metadata{hostname="h",ceph_daemon="osd.0"} 1.0
ceph_prometheus_collect_duration_seconds_sum{method="get_fs"} 0.5
`)
	gom := []byte(`# HELP ceph_osd_metadata OSD Metadata
ceph_osd_metadata{ceph_daemon="osd.0",hostname="h"} 1
ceph_osd_up{ceph_daemon="osd.0"} 1
ceph_osd_up{ceph_daemon="osd.1"} 0
ceph_prometheus_collect_duration_seconds_sum{method="collect"} 0.1
`)
	c, err := CompareScrapes(py, gom)
	require.NoError(t, err)
	require.Equal(t, 0, c.Differ, c.Mismatches)
	require.Equal(t, 2, c.Families)
	require.Equal(t, 3, c.Samples)
	require.Equal(t, map[string]int{"ceph_pool_objects_repaired": 2}, c.PyOnly)
	require.Equal(t, 2, c.PyOnlySamples())
	require.Empty(t, c.GoOnly)

	bad := []byte(strings.Replace(string(gom), `"osd.1"} 0`, `"osd.1"} 1`, 1) + `ceph_osd_up{ceph_daemon="osd.9"} 1
ceph_extra 1
`)
	bad = []byte(strings.Replace(string(bad), `hostname="h"`, `hostname="g"`, 1))
	c, err = CompareScrapes(py, bad)
	require.NoError(t, err)
	require.Equal(t, 4, c.Differ)
	require.Equal(t, []string{
		`ceph_osd_metadata{ceph_daemon="osd.0",hostname="h"}: missing from the Go module's`,
		`ceph_osd_metadata{ceph_daemon="osd.0",hostname="g"}: only in the Go module's`,
		`ceph_osd_up{ceph_daemon="osd.1"}: Python 0, Go 1`,
		`ceph_osd_up{ceph_daemon="osd.9"}: only in the Go module's`}, c.Mismatches)
	require.Equal(t, map[string]int{"ceph_extra": 1}, c.GoOnly)

	_, err = CompareScrapes([]byte("ceph_x{a=\"1\" 1\n"), gom)
	require.ErrorContains(t, err, "no closing brace")
	_, err = CompareScrapes(py, []byte("ceph_x one\n"))
	require.ErrorContains(t, err, "the Go module's text")
}

// TestGoScrapeOfSynth: gomgr's module on the stand-in mgr writes the
// synthetic cluster's OSDs, pools and perf counters; the timing gives a
// figure a scrape.
func TestGoScrapeOfSynth(t *testing.T) {
	s, err := LoadSynth(synthDir(t, 100, SynthSeed))
	require.NoError(t, err)
	h, err := StartPromHost(s)
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Stop()) }()
	text, err := h.Scrape()
	require.NoError(t, err)
	e, err := ParseExposition(text)
	require.NoError(t, err)
	require.Len(t, e["ceph_osd_up"], 100)
	require.Len(t, e["ceph_osd_metadata"], 100)
	require.Len(t, e["ceph_pool_metadata"], synthPools(100))
	require.Len(t, e["ceph_osd_op_r"], 100, "an OSD perf counter")
	require.Len(t, e["ceph_mon_num_sessions"], 3, "a monitor's")
	require.Equal(t, map[string]float64{"": 1}, e["ceph_health_status"])
	require.Equal(t, 0.0, e["ceph_osd_up"][`ceph_daemon="osd.99"`])
	require.Equal(t, 1.0, e["ceph_osd_flag_noscrub"][""]+1, "noscrub is set from 1,000 OSDs")
	// In the process, the module's handler writes the same text.
	scraped := withoutDurations(t, text) // before Collect reuses the buffer
	collected, err := h.Collect()
	require.NoError(t, err)
	require.True(t, slices.Equal(scraped, withoutDurations(t, collected)), "Collect's text is Scrape's")
	f, _, err := TimeGoScrapes(h, 2)
	require.NoError(t, err)
	require.Len(t, f.CPUNS, 2)
	require.Len(t, f.HTTPCPUNS, 2, "the same scrapes over HTTP")
	require.Len(t, f.AllocBytes, 2, "the memory pass's")
	require.Greater(t, f.HeapPeak, 0.0)
	require.Greater(t, f.RSSPeak, 0.0)
	require.InDelta(t, len(text), f.Bytes, 1000, "the same text but for the collection durations")
}

// withoutDurations is a text's lines but for the collection durations'.
func withoutDurations(t *testing.T, text []byte) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(text), "\n") {
		if !strings.Contains(l, collectDuration) {
			out = append(out, l)
		}
	}
	require.Greater(t, len(out), 1000)
	return out
}

// collectDurations counts the collection duration samples of a text.
func collectDurations(t *testing.T, text []byte) int {
	t.Helper()
	e, err := ParseExposition(text)
	require.NoError(t, err)
	n := 0
	for name, f := range e {
		if strings.HasPrefix(name, collectDuration) {
			n += len(f)
		}
	}
	return n
}

// TestPythonScrapeMatchesGo: Pacific's module.py on the stand-in C side
// and gomgr's module on the stand-in mgr, fed the same cluster, write
// the same samples in every family, and the Go module writes every
// family Pacific's does.
func TestPythonScrapeMatchesGo(t *testing.T) {
	py, err := PromPython()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 and Pacific's prometheus module are needed: %v", err)
		}
		t.Skipf("python3 and Pacific's prometheus module are needed: %v", err)
	}
	dir := synthDir(t, 100, SynthSeed)
	out := filepath.Join(t.TempDir(), "py.txt")
	f, err := RunScrapeChild(2*time.Minute, py, repoFile(PromScript), dir, "2", out)
	require.NoError(t, err)
	require.Len(t, f.CPUNS, 2)
	require.Len(t, f.HTTPCPUNS, 2, "the same scrapes from Pacific's own server")
	pyText, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, len(pyText), f.Bytes)

	s, err := LoadSynth(dir)
	require.NoError(t, err)
	h, err := StartPromHost(s)
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Stop()) }()
	goText, err := h.Scrape()
	require.NoError(t, err)
	c, err := CompareScrapes(pyText, goText)
	require.NoError(t, err)
	require.Zero(t, c.Differ, c.Mismatches)
	require.Empty(t, c.GoOnly)
	require.Greater(t, c.Samples, 5000)
	require.Empty(t, c.PyOnly, "the Go module writes every family of Pacific's")
	require.Equal(t, c.PySamples, c.Samples+collectDurations(t, pyText))

	_, err = RunScrapeChild(time.Minute, py, repoFile(PromScript), t.TempDir(), "1", out)
	require.ErrorContains(t, err, "FileNotFoundError", "a directory without a cluster")
}
