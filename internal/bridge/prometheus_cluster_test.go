package bridge

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// promFamily is one metric family of a scrape: help, type and samples
// (the label set rendered `k="v",...`, sorted by name, to its value).
type promFamily struct {
	help, typ string
	samples   map[string]float64
}

// parsePromText reads the Prometheus text format leniently: Pacific's
// module writes some families twice (pool_objects_repaired), which
// expfmt's parser refuses; here their samples are merged.
func parsePromText(t *testing.T, text string) map[string]*promFamily {
	t.Helper()
	fams := map[string]*promFamily{}
	fam := func(name string) *promFamily {
		f := fams[name]
		if f == nil {
			f = &promFamily{samples: map[string]float64{}}
			fams[name] = f
		}
		return f
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			fam(name).help = help
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			fam(name).typ = typ
		case strings.HasPrefix(line, "#"):
		default:
			name, labels, rest := line, "", ""
			if i := strings.IndexByte(line, '{'); i >= 0 {
				j := strings.LastIndexByte(line, '}')
				require.Greater(t, j, i, "sample line %q", line)
				name, labels, rest = line[:i], line[i+1:j], strings.TrimSpace(line[j+1:])
			} else {
				name, rest, _ = strings.Cut(line, " ")
			}
			valText, _, _ := strings.Cut(rest, " ") // a time stamp may follow
			v, err := strconv.ParseFloat(valText, 64)
			require.NoError(t, err, "sample line %q", line)
			fam(name).samples[labelSet(t, labels)] = v
		}
	}
	require.NoError(t, sc.Err())
	return fams
}

// labelSet renders `a="x",b="y"` sorted by label name.
func labelSet(t *testing.T, text string) string {
	t.Helper()
	var pairs []string
	for text != "" {
		name, rest, ok := strings.Cut(text, `="`)
		require.True(t, ok, "labels %q", text)
		var val strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			val.WriteByte(rest[i])
		}
		require.Less(t, i, len(rest), "unterminated label value in %q", text)
		pairs = append(pairs, fmt.Sprintf("%s=%q", strings.TrimSpace(name), val.String()))
		text = strings.TrimPrefix(strings.TrimSpace(rest[i+1:]), ",")
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// promStable are the families whose values an idle cluster does not
// move: they must be equal too.
var promStable = regexp.MustCompile(`^ceph_(health_status|mon_metadata|mon_quorum_status|mgr_metadata|mgr_status|mgr_module_status|` +
	`mgr_module_can_run|osd_metadata|osd_(up|in|weight)|osd_flag_\w+|pool_metadata|pg_total|fs_metadata|mds_metadata|rgw_metadata|` +
	`rbd_mirror_metadata|disk_occupation|disk_occupation_human|pool_objects_repaired)$`)

// comparePrometheus enables Pacific's prometheus module and the Go one
// (bridged as goprometheus) in the same real mgr, each on a free port, and
// checks that every family of the Python output (perf counters included)
// is in the Go output with Pacific's help and type and every
// label set of Python's (for health_detail, the active checks; for the
// collection durations, the family only: the methods differ), with equal
// values where an idle cluster holds them still; then their commands
// (comparePromCommands) and RBD per-image stats (compareRBDStats, on the
// CLI's conf).
func comparePrometheus(t *testing.T, ceph func(args ...string) (string, string, int), conf string) {
	t.Helper()
	scrape := map[string]string{}
	ports := map[string]int{}
	for _, mod := range []string{"prometheus", "goprometheus"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		for _, c := range [][]string{
			{"config", "set", "mgr", "mgr/" + mod + "/server_addr", "127.0.0.1"},
			{"config", "set", "mgr", "mgr/" + mod + "/server_port", strconv.Itoa(port)},
			{"config", "set", "mgr", "mgr/" + mod + "/cache", "false"},
			{"mgr", "module", "enable", mod},
		} {
			_, e, rc := ceph(c...)
			require.Zero(t, rc, "ceph %v: %s", c, e)
		}
		scrape[mod] = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
		ports[mod] = port
	}
	client := &http.Client{Timeout: 60 * time.Second}
	fetch := func(url string) (string, error) {
		res, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		if err != nil {
			return "", err
		}
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s: %.300s", url, res.Status, body)
		}
		return string(body), nil
	}
	read := func(mod string) string {
		var err error
		for end := time.Now().Add(90 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			var body string
			if body, err = fetch(scrape[mod]); err == nil {
				return body
			}
		}
		t.Fatalf("scraping %s: %v", mod, err)
		return ""
	}
	var problems []string
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Second) {
		pyText, goText := read("prometheus"), read("goprometheus")
		p := expfmt.NewTextParser(model.UTF8Validation)
		_, err := p.TextToMetricFamilies(strings.NewReader(goText))
		require.NoError(t, err, "the Go module's output parses strictly")
		py, gomod := parsePromText(t, pyText), parsePromText(t, goText)
		problems = nil
		checked := 0
		for _, name := range slices.Sorted(maps.Keys(py)) {
			pf := py[name]
			if len(pf.samples) == 0 {
				continue
			}
			checked++
			gf := gomod[name]
			if gf == nil {
				problems = append(problems, name+": missing")
				continue
			}
			if pf.help != gf.help || pf.typ != gf.typ {
				problems = append(problems, fmt.Sprintf("%s: help/type %q/%s, Go %q/%s", name, pf.help, pf.typ, gf.help, gf.typ))
			}
			if strings.HasPrefix(name, "ceph_prometheus_collect_duration_seconds_") {
				continue
			}
			for ls, pv := range pf.samples {
				if name == "ceph_health_detail" && pv != 1 {
					continue // a check Python's stored history saw before the Go module ran
				}
				gv, ok := gf.samples[ls]
				switch {
				case !ok:
					problems = append(problems, fmt.Sprintf("%s{%s}: missing", name, ls))
				case promStable.MatchString(name) && gv != pv:
					problems = append(problems, fmt.Sprintf("%s{%s}: Python %g, Go %g", name, ls, pv, gv))
				}
			}
		}
		if checked <= 100 {
			// The daemons' perf counters reach a respawned mgr with
			// their next report: scrape again.
			problems = append(problems, fmt.Sprintf("Pacific's output has %d families with samples, not the static ones and perf counters:\n%.3000s", checked, pyText))
		}
		if len(problems) == 0 || time.Now().After(end) {
			break
		}
	}
	require.Empty(t, problems, "families and label sets of Pacific's prometheus module missing from the Go module's")
	comparePromCommands(t, ceph, func(mod string) map[string]*promFamily { return parsePromText(t, read(mod)) }, ports)
	// Last: the new pool's PGs may raise passing health checks, which
	// would differ between the two histories comparePromCommands compares.
	compareRBDStats(t, ceph, conf, func(mod string) map[string]*promFamily { return parsePromText(t, read(mod)) })
}

// historyTimes are the times of `healthcheck history ls` in each format,
// which differ between two modules' histories.
var historyTimes = regexp.MustCompile(`("?(?:first|last)_seen"?: )[0-9.e+-]+|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d`)

// comparePromCommands checks that Pacific's commands and the Go module's
// (bridged as goprometheus file_sd_config and gohealthcheck history ...)
// answer alike: file_sd_config but for the port; the health check
// history, cleared, after a check (noout) is raised and after it clears,
// in every format (times aside), and the Go module's after a restart
// (read back from the KV store). scrape collects a module's metrics
// (each collection updates its history).
func comparePromCommands(t *testing.T, ceph func(args ...string) (string, string, int), scrape func(mod string) map[string]*promFamily, ports map[string]int) {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		o, e, rc := ceph(args...)
		require.Zero(t, rc, "ceph %v: %s", args, e)
		return o
	}
	py, gomod := run("prometheus", "file_sd_config"), run("goprometheus", "file_sd_config")
	require.Contains(t, py, fmt.Sprintf(":%d\"]", ports["prometheus"]))
	require.Equal(t, strings.ReplaceAll(py, fmt.Sprintf(":%d\"", ports["prometheus"]), fmt.Sprintf(":%d\"", ports["goprometheus"])), gomod, "file_sd_config")

	formats := []string{"plain", "json", "json-pretty", "yaml"}
	history := func(word string) []string {
		var out []string
		for _, f := range formats {
			out = append(out, historyTimes.ReplaceAllString(run(word, "history", "ls", "--format", f), "${1}T"))
		}
		return out
	}
	require.Equal(t, "healthcheck history cleared", strings.TrimSpace(run("healthcheck", "history", "clear")))
	require.Equal(t, "healthcheck history cleared", strings.TrimSpace(run("gohealthcheck", "history", "clear")))
	require.Equal(t, history("healthcheck"), history("gohealthcheck"), "cleared")
	require.Equal(t, "No healthchecks have been recorded", strings.TrimSpace(history("gohealthcheck")[0]))

	// Scrape both until both saw OSDMAP_FLAGS at value (the monitors
	// raise and clear it within seconds), then compare their histories.
	flagsSeen := func(value float64) {
		t.Helper()
		var got []float64
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
			got = got[:0]
			for _, mod := range []string{"prometheus", "goprometheus"} {
				v, ok := -1.0, false
				if f := scrape(mod)["ceph_health_detail"]; f != nil {
					v, ok = f.samples[`name="OSDMAP_FLAGS",severity="HEALTH_WARN"`]
				}
				if !ok {
					v = -1
				}
				got = append(got, v)
			}
			if got[0] == value && got[1] == value {
				return
			}
		}
		t.Fatalf("health_detail of OSDMAP_FLAGS: Python, Go %v, want %g", got, value)
	}
	run("osd", "set", "noout")
	t.Cleanup(func() { ceph("osd", "unset", "noout") })
	flagsSeen(1)
	raised := history("gohealthcheck")
	require.Equal(t, history("healthcheck"), raised, "OSDMAP_FLAGS raised")
	require.Contains(t, raised[0], "\n1 health check(s) listed")
	run("osd", "unset", "noout")
	flagsSeen(0)
	cleared := history("gohealthcheck")
	require.Equal(t, history("healthcheck"), cleared, "OSDMAP_FLAGS cleared")
	require.Contains(t, cleared[0], "    No  \n")

	// The Go module's history survives a restart: it is in the KV store.
	stored := run("gohealthcheck", "history", "ls", "--format", "json")
	run("mgr", "module", "disable", "goprometheus")
	run("mgr", "module", "enable", "goprometheus")
	var o, e string
	rc := -1
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if o, e, rc = ceph("gohealthcheck", "history", "ls", "--format", "json"); rc == 0 {
			break
		}
	}
	require.Zero(t, rc, "gohealthcheck history ls after a restart: %s", e)
	require.Equal(t, stored, o, "the history read back after a restart")
}
