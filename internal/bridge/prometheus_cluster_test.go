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

// promNotImplemented are the families of Pacific's module that the Go one
// does not have yet (modules/prometheus/README.md).
var promNotImplemented = regexp.MustCompile(`^ceph_(fs_metadata|mds_metadata|rgw_metadata|rbd_mirror_metadata|` +
	`disk_occupation|disk_occupation_human|pool_objects_repaired|daemon_health_metrics)$`)

// promStable are the families whose values an idle cluster does not
// move: they must be equal too.
var promStable = regexp.MustCompile(`^ceph_(health_status|mon_metadata|mon_quorum_status|mgr_metadata|mgr_status|mgr_module_status|` +
	`mgr_module_can_run|osd_metadata|osd_(up|in|weight)|osd_flag_\w+|pool_metadata|pg_total)$`)

// comparePrometheus enables Pacific's prometheus module and the Go one
// (bridged as goprometheus) in the same real mgr, each on a free port, and
// checks that every family of the Python output that the Go module
// implements (all but promNotImplemented: perf counters included) is in
// the Go output with Pacific's help and type and every
// label set of Python's (for health_detail, the active checks; for the
// collection durations, the family only: the methods differ), with equal
// values where an idle cluster holds them still.
func comparePrometheus(t *testing.T, ceph func(args ...string) (string, string, int)) {
	t.Helper()
	scrape := map[string]string{}
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
			if promNotImplemented.MatchString(name) || len(pf.samples) == 0 {
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
		require.Greater(t, checked, 100, "Pacific's output has the families of this slice and perf counters:\n%.3000s", pyText)
		if len(problems) == 0 || time.Now().After(end) {
			break
		}
	}
	require.Empty(t, problems, "families and label sets of Pacific's prometheus module missing from the Go module's")
}
