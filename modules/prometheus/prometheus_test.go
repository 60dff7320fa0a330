package prometheus_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	_ "github.com/gomgr/gomgr/modules/prometheus"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// freePort returns a TCP port of the loopback that was free a moment ago
// (9283 may be the Python module's).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// get fetches url, retrying while the server is not yet listening.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.Get(url)
		if err == nil {
			body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
			res.Body.Close()
			require.NoError(t, err)
			return res.StatusCode, res.Header, string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err, "the output parses:\n%s", text)
	return mfs
}

// samples renders a family's samples as `{k="v",...} value`, sorted.
func samples(mf *dto.MetricFamily) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		sort.Strings(ls)
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		default:
			v = m.GetUntyped().GetValue()
		}
		out = append(out, "{"+strings.Join(ls, ",")+"} "+strconv.FormatFloat(v, 'g', -1, 64))
	}
	sort.Strings(out)
	return out
}

func decode(t *testing.T, text string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(text), &v))
	return v
}

// pacificMaps are get() answers in the shapes a Pacific mgr gives.
func pacificMaps(t *testing.T) map[string]any {
	monStatus, err := json.Marshal(map[string]any{"quorum": []any{0}, "monmap": map[string]any{"mons": []any{
		map[string]any{"rank": 0, "name": "a", "public_addr": "127.0.0.1:40000/0"},
		map[string]any{"rank": 1, "name": "b", "public_addr": "127.0.0.1:40001/0"},
	}}})
	require.NoError(t, err)
	return map[string]any{
		"mon_status": map[string]any{"json": string(monStatus)},
		"df": decode(t, `{"stats": {"total_bytes": 300, "total_used_bytes": 30, "total_used_raw_bytes": 31, "total_avail_bytes": 270},
			"pools": [{"id": 1, "name": "rbd", "stats": {"max_avail": 90, "stored": 7, "objects": 3, "rd": 5, "percent_used": 0.25}}]}`),
		"osd_pool_stats": decode(t, `{"pool_stats": [{"pool_id": 1, "pool_name": "rbd", "recovery_rate": {"recovering_objects_per_sec": 4}}]}`),
		"osd_stats":      decode(t, `{"osd_stats": [{"osd": 0, "perf_stat": {"apply_latency_ms": 2, "commit_latency_ms": 3}}]}`),
		"osd_map": decode(t, `{"flags": "noout,sortbitwise", "erasure_code_profiles": {"p": {"k": "2", "m": "1"}},
			"osds": [{"osd": 0, "up": 1, "in": 1, "weight": 1.0, "public_addr": "127.0.0.1:6800/1", "cluster_addr": "127.0.0.1:6801/1"},
			         {"osd": 1, "up": 0, "in": 0, "weight": 0.0, "public_addr": "-", "cluster_addr": "-"}],
			"pools": [{"pool": 1, "pool_name": "rbd", "type": 1, "size": 3, "options": {}},
			          {"pool": 2, "pool_name": "ec", "type": 3, "size": 3, "erasure_code_profile": "p", "options": {"compression_mode": "aggressive"}}]}`),
		"osd_map_crush": decode(t, `{"devices": [{"id": 0, "name": "osd.0", "class": "hdd"}, {"id": 1, "name": "osd.1", "class": "ssd"}]}`),
		"pg_summary": decode(t, `{"by_pool": {"1": {"active+clean": 30, "active+clean+scrubbing+deep": 2}},
			"pg_stats_sum": {"stat_sum": {"num_objects_degraded": 1, "num_objects_misplaced": 2, "num_objects_unfound": 0}}}`),
	}
}

// TestMetrics: the module serves Pacific's families, names, help texts,
// types and labels, computed from Pacific-shaped cluster data, uncached
// (each scrape collects).
func TestMetrics(t *testing.T) {
	h, base := startUncached(t)

	code, hdr, body := get(t, base)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, hdr.Get("Content-Type"), "text/html")
	require.Contains(t, body, "<title>Ceph Exporter</title>")
	require.Contains(t, body, "<a href='/metrics'>Metrics</a>")
	code, _, other := get(t, base+"some/where")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, body, other, "every other path is the landing page, as Pacific's")

	code, hdr, body = get(t, base+"metrics")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, hdr.Get("Content-Type"), "text/plain")
	require.Equal(t, "Ceph-Prometheus", hdr.Get("Server"))
	require.Equal(t, strconv.Itoa(len(body)), hdr.Get("Content-Length"), "a text of one chunk is sent with its length")
	mfs := parse(t, body)

	for _, tc := range []struct {
		name, help string
		typ        dto.MetricType
		samples    []string
	}{
		// Embedded, health and the mgr map are the daemon's own.
		{"ceph_health_status", "Cluster health status", dto.MetricType_UNTYPED, []string{"{} 0"}},
		{"ceph_healthcheck_slow_ops", "OSD or Monitor requests taking a long time to process", dto.MetricType_GAUGE, []string{"{} 0"}},
		{"ceph_mon_metadata", "MON Metadata", dto.MetricType_UNTYPED, []string{
			`{ceph_daemon="mon.a",ceph_version="",hostname="",public_addr="127.0.0.1",rank="0"} 1`,
			`{ceph_daemon="mon.b",ceph_version="",hostname="",public_addr="127.0.0.1",rank="1"} 1`}},
		{"ceph_mon_quorum_status", "Monitors in quorum", dto.MetricType_GAUGE, []string{`{ceph_daemon="mon.a"} 1`, `{ceph_daemon="mon.b"} 0`}},
		{"ceph_mgr_status", "MGR status (0=standby, 1=active)", dto.MetricType_GAUGE, []string{`{ceph_daemon="mgr.x"} 1`}},
		{"ceph_osd_flag_noout", "OSD Flag noout", dto.MetricType_UNTYPED, []string{"{} 1"}},
		{"ceph_osd_flag_nodeep_scrub", "OSD Flag nodeep-scrub", dto.MetricType_UNTYPED, []string{"{} 0"}},
		{"ceph_osd_apply_latency_ms", "OSD stat apply_latency_ms", dto.MetricType_GAUGE, []string{`{ceph_daemon="osd.0"} 2`}},
		{"ceph_pool_metadata", "POOL Metadata", dto.MetricType_UNTYPED, []string{
			`{compression_mode="aggressive",description="ec:2+1",name="ec",pool_id="2",type="erasure"} 1`,
			`{compression_mode="none",description="replica:3",name="rbd",pool_id="1",type="replicated"} 1`}},
		{"ceph_cluster_total_bytes", "DF total_bytes", dto.MetricType_GAUGE, []string{"{} 300"}},
		{"ceph_pool_max_avail", "DF pool max_avail", dto.MetricType_GAUGE, []string{`{pool_id="1"} 90`}},
		{"ceph_pool_rd", "DF pool rd", dto.MetricType_COUNTER, []string{`{pool_id="1"} 5`}},
		{"ceph_pool_percent_used", "DF pool percent_used", dto.MetricType_GAUGE, []string{`{pool_id="1"} 0.25`}},
		{"ceph_pool_recovering_objects_per_sec", "OSD pool stats: recovering_objects_per_sec", dto.MetricType_GAUGE, []string{`{pool_id="1"} 4`}},
		{"ceph_pool_recovering_bytes_per_sec", "OSD pool stats: recovering_bytes_per_sec", dto.MetricType_GAUGE, []string{`{pool_id="1"} 0`}},
		{"ceph_pg_active", "PG active per pool", dto.MetricType_GAUGE, []string{`{pool_id="1"} 32`}},
		{"ceph_pg_deep", "PG deep per pool", dto.MetricType_GAUGE, []string{`{pool_id="1"} 2`}},
		{"ceph_pg_down", "PG down per pool", dto.MetricType_GAUGE, []string{`{pool_id="1"} 0`}},
		{"ceph_pg_total", "PG Total Count per Pool", dto.MetricType_GAUGE, []string{`{pool_id="1"} 32`}},
		{"ceph_num_objects_misplaced", "Number of misplaced objects", dto.MetricType_GAUGE, []string{"{} 2"}},
	} {
		mf := mfs[tc.name]
		require.NotNil(t, mf, "family %s in\n%s", tc.name, body)
		require.Equal(t, tc.help, mf.GetHelp(), tc.name)
		require.Equal(t, tc.typ, mf.GetType(), tc.name)
		require.Equal(t, tc.samples, samples(mf), tc.name)
	}
	require.Nil(t, mfs["ceph_osd_metadata"], "embedded there is no OSD metadata, and Pacific skips an OSD without")

	dur := mfs["ceph_prometheus_collect_duration_seconds_count"]
	require.NotNil(t, dur)
	require.Equal(t, dto.MetricType_COUNTER, dur.GetType())
	require.Contains(t, samples(dur), `{method="get_health"} 1`)
	require.Equal(t, http.StatusOK, func() int { c, _, _ := get(t, base+"metrics"); return c }())
	_, _, body = get(t, base+"metrics")
	require.Contains(t, samples(parse(t, body)["ceph_prometheus_collect_duration_seconds_count"]), `{method="get_health"} 3`,
		"the durations accumulate across collections, as Pacific's counters")

	mods := samples(mfs["ceph_mgr_module_status"])
	require.Contains(t, mods, `{name="prometheus"} 1`, "enabled")
	require.Contains(t, samples(mfs["ceph_mgr_module_can_run"]), `{name="prometheus"} 1`)

	// The module's URI is in mgr services.
	require.Contains(t, h.Out("mgr services"), `"prometheus": "`+base+`"`)
}

// TestCache: with cache on, /metrics serves what the background
// collection gathered every scrape_interval; a collection that took
// longer than the interval is stale, and stale_cache_strategy "return"
// serves it while anything else (the default "log" included, as Pacific
// reads it) answers 503.
func TestCache(t *testing.T) {
	for _, tc := range []struct {
		name, interval, strategy string
		code                     int
		body                     string
	}{
		{name: "fresh", interval: "0.3", strategy: "log", code: http.StatusOK, body: "# TYPE ceph_health_status untyped"},
		{name: "stale, default strategy", interval: "0.000000001", strategy: "log", code: http.StatusServiceUnavailable,
			body: "metrics are stale for"},
		{name: "stale, fail", interval: "0.000000001", strategy: "fail", code: http.StatusServiceUnavailable, body: `returning "service unavailable".`},
		{name: "stale, return", interval: "0.000000001", strategy: "return", code: http.StatusOK, body: "# TYPE ceph_health_status untyped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
				moduletest.WithOption("server_port", strconv.Itoa(port)),
				moduletest.WithOption("scrape_interval", tc.interval), moduletest.WithOption("stale_cache_strategy", tc.strategy))
			url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
			var code int
			var body string
			require.Eventually(t, func() bool {
				code, _, body = get(t, url)
				return !strings.Contains(body, "No cached data available yet")
			}, 20*time.Second, 10*time.Millisecond)
			require.Equal(t, tc.code, code, body)
			require.Contains(t, body, tc.body)
			if tc.code == http.StatusOK {
				own := 0
				for name, mf := range parse(t, body) {
					for _, smp := range samples(mf) {
						if strings.Contains(smp, `ceph_daemon="mgr.x"`) && name != "ceph_mgr_status" && name != "ceph_mgr_metadata" {
							own++
						}
					}
				}
				require.NotZero(t, own, "embedded, the perf counters are the daemon's own:\n%s", body)
			}
			_ = h
		})
	}

	t.Run("served from the cache", func(t *testing.T) {
		for _, interval := range []string{"60", "0.2"} {
			port := freePort(t)
			moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
				moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("scrape_interval", interval))
			url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
			count := func() string {
				_, _, body := get(t, url)
				if strings.Contains(body, "No cached data available yet") {
					return ""
				}
				for _, s := range samples(parse(t, body)["ceph_prometheus_collect_duration_seconds_count"]) {
					if strings.HasPrefix(s, `{method="get_health"}`) {
						return s
					}
				}
				return ""
			}
			require.Eventually(t, func() bool { return count() != "" }, 20*time.Second, 10*time.Millisecond)
			if interval == "60" {
				for range 3 {
					require.Equal(t, `{method="get_health"} 1`, count(), "scrapes within the interval are the one cached collection")
				}
				continue
			}
			first := count()
			require.Eventually(t, func() bool { return count() != first }, 20*time.Second, 20*time.Millisecond,
				"the background collection refreshes the cache every scrape_interval")
		}
	})
}

// TestPortChange: a changed server_port restarts the server there, as
// Pacific's config_notify restarts its engine, and the URI follows.
func TestPortChange(t *testing.T) {
	first, second := freePort(t), freePort(t)
	h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(first)), moduletest.WithOption("cache", "false"))
	code, _, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/", first))
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, h.SetOption("server_port", second))
	code, _, _ = get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", second))
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", first), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "the old port is closed")
	require.Contains(t, h.Out("mgr services"), fmt.Sprintf(`"prometheus": "http://127.0.0.1:%d/"`, second))
	require.EqualError(t, h.SetOption("standby_error_status_code", 399), "error parsing value: Value '399' is below minimum 400", "Pacific's bounds")
}
