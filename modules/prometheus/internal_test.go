package prometheus

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// rendered is a scrape's samples of one family, `{v1,v2} value`, sorted.
func rendered(s *scrape, name string) []string {
	var out []string
	for _, smp := range s.samples {
		if s.family(smp).name == name {
			out = append(out, fmt.Sprintf("{%s} %g", strings.Join(s.labelsOf(smp), ","), smp.value))
		}
	}
	sort.Strings(out)
	return out
}

// dynamicOf is the perf counters' (dynamic) families a scrape uses, by
// exposed name.
func dynamicOf(s *scrape) map[string]*family {
	out := maps.Clone(s.dynamic)
	if out == nil {
		out = map[string]*family{}
	}
	for _, f := range s.owner {
		if f != nil {
			out[f.text.exposed] = f
		}
	}
	return out
}

func decodeMap(t *testing.T, text string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &m))
	return m
}

// TestHealthSamples: health_status, SLOW_OPS' count from its message and
// the history of checks, on Pacific-shaped health JSON, scrape after
// scrape.
func TestHealthSamples(t *testing.T) {
	m := newModule()
	for _, tc := range []struct {
		name, health         string
		status, slow, detail []string
		err                  string
	}{
		{name: "two checks", health: `{"status": "HEALTH_WARN", "checks": {
			"SLOW_OPS": {"severity": "HEALTH_WARN", "summary": {"message": "42 slow ops, oldest one blocked for 12 sec, daemons [osd.0] have slow ops."}},
			"OSDMAP_FLAGS": {"severity": "HEALTH_WARN", "summary": {"message": "noout flag(s) set"}}}}`,
			status: []string{"{} 1"}, slow: []string{"{} 42"},
			detail: []string{"{OSDMAP_FLAGS,HEALTH_WARN} 1", "{SLOW_OPS,HEALTH_WARN} 1"}},
		{name: "cleared checks stay at 0", health: `{"status": "HEALTH_ERR", "checks": {"MON_DOWN": {"severity": "HEALTH_ERR", "summary": {"message": "1/3 mons down"}}}}`,
			status: []string{"{} 2"}, slow: []string{"{} 0"},
			detail: []string{"{MON_DOWN,HEALTH_ERR} 1", "{OSDMAP_FLAGS,HEALTH_WARN} 0", "{SLOW_OPS,HEALTH_WARN} 0"}},
		{name: "a SLOW_OPS message that does not start with a count is dropped", health: `{"status": "HEALTH_WARN", "checks": {"SLOW_OPS": {"severity": "HEALTH_WARN", "summary": {"message": "many slow ops"}}}}`,
			status: []string{"{} 1"},
			detail: []string{"{MON_DOWN,HEALTH_ERR} 0", "{OSDMAP_FLAGS,HEALTH_WARN} 0", "{SLOW_OPS,HEALTH_WARN} 1"}},
		{name: "unknown status", health: `{"status": "HEALTH_MAYBE"}`, err: `unknown status "HEALTH_MAYBE"`},
		{name: "no status", health: `{}`, err: "the health has no status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScrape()
			err := m.healthSamples(s, decodeMap(t, tc.health))
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.status, rendered(s, "health_status"))
			require.Equal(t, tc.slow, rendered(s, "healthcheck_slow_ops"))
			require.Equal(t, tc.detail, rendered(s, "health_detail"))
		})
	}
}

// TestMgrStatusSamples: mgr metadata and status for the active and the
// standbys, module status (always-on of this release 2, enabled 1) and
// can_run, from a Pacific-shaped mgr map.
func TestMgrStatusSamples(t *testing.T) {
	mm := decodeMap(t, `{"active_name": "x", "standbys": [{"name": "y"}], "modules": ["prometheus"],
		"always_on_modules": {"pacific": ["crash"], "octopus": ["k8sevents"]},
		"available_modules": [{"name": "crash", "can_run": true}, {"name": "prometheus", "can_run": true}, {"name": "k8sevents", "can_run": false}]}`)
	servers := map[serviceKey]service{{"x", "mgr"}: {"host1", "ceph version 16.2.15", "x"}}
	s := newScrape()
	mgrStatusSamples(s, mm, servers, "pacific")
	require.Equal(t, []string{"{mgr.x,host1,ceph version 16.2.15} 1", "{mgr.y,,} 1"}, rendered(s, "mgr_metadata"))
	require.Equal(t, []string{"{mgr.x} 1", "{mgr.y} 0"}, rendered(s, "mgr_status"))
	require.Equal(t, []string{"{crash} 2", "{k8sevents} 0", "{prometheus} 1"}, rendered(s, "mgr_module_status"))
	require.Equal(t, []string{"{crash} 1", "{k8sevents} 0", "{prometheus} 1"}, rendered(s, "mgr_module_can_run"))
}

// TestEncode: the text is Prometheus' format, families sorted, with
// Pacific's names, and a label set given twice keeps its last value.
func TestEncode(t *testing.T) {
	s := newScrape()
	s.set("pool_rd", 5, "1")
	s.set("pool_rd", 6, "1")
	s.set("health_status", 1)
	out, err := s.encode()
	require.NoError(t, err)
	require.Equal(t, `# HELP ceph_health_status Cluster health status
# TYPE ceph_health_status untyped
ceph_health_status 1
# HELP ceph_pool_rd DF pool rd
# TYPE ceph_pool_rd counter
ceph_pool_rd{pool_id="1"} 6
`, string(out))
	require.Panics(t, func() { s.set("no_such_family", 1) }, "a family Pacific does not have is a programming error")
}

// TestOSDSamples: OSD metadata and status (an OSD without addresses, one
// missing from CRUSH and one without metadata are skipped, as by
// Pacific), pool metadata.
func TestOSDSamples(t *testing.T) {
	om := decodeMap(t, `{"osds": [
		{"osd": 0, "up": 1, "in": 1, "weight": 0.5, "public_addr": "[v2:127.0.0.1:6800/1,v1:127.0.0.1:6801/1]", "cluster_addr": "127.0.0.2:6802/1"},
		{"osd": 1, "up": 0, "in": 0, "weight": 0.0, "public_addr": "-", "cluster_addr": "-"},
		{"osd": 2, "up": 1, "in": 1, "weight": 1.0, "public_addr": "127.0.0.1:6803/1", "cluster_addr": "127.0.0.1:6804/1"},
		{"osd": 3, "up": 1, "in": 0, "weight": 1.0, "public_addr": "127.0.0.1:6805/1", "cluster_addr": "127.0.0.1:6806/1"}],
		"erasure_code_profiles": {"p": {"k": "4", "m": "2"}},
		"pools": [{"pool": 1, "pool_name": "rbd", "type": 1, "size": 3, "options": {}},
		          {"pool": 2, "pool_name": "ec", "type": 3, "size": 6, "erasure_code_profile": "p", "options": {"compression_mode": "aggressive"}},
		          {"pool": 3, "pool_name": "ec2", "type": 3, "size": 6, "erasure_code_profile": "gone", "options": {}},
		          {"pool": 4, "pool_name": "odd", "type": 7}]}`)
	classes := map[string]string{"0": "hdd", "1": "ssd", "3": "nvme"}
	servers := map[serviceKey]service{{"0", "osd"}: {"host1", "ceph version 16.2.15", "0"}}
	meta := func(id string) (map[string]any, error) {
		if id == "0" {
			return map[string]any{"back_iface": "lo", "front_iface": "eth0", "osd_objectstore": "bluestore"}, nil
		}
		return nil, nil
	}
	m := newModule()
	s := newScrape()
	require.NoError(t, m.osdSamples(s, om, classes, servers, meta))
	require.Equal(t, []string{"{lo,osd.0,127.0.0.2,hdd,eth0,host1,bluestore,[v2:127.0.0.1:6800/1,v1:127.0.0.1,ceph version 16.2.15} 1"},
		rendered(s, "osd_metadata"), "osd.1: no address; osd.2: not in CRUSH; osd.3: no metadata; addresses cut at the last ':' as Pacific's rsplit")
	require.Equal(t, []string{"{osd.0} 1"}, rendered(s, "osd_up"))
	require.Equal(t, []string{"{osd.0} 0.5"}, rendered(s, "osd_weight"))
	require.Equal(t, []string{"{1,rbd,replicated,replica:3,none} 1", "{2,ec,erasure,ec:4+2,aggressive} 1",
		"{3,ec2,erasure,ec:unknown,none} 1", "{4,odd,unknown,unknown,none} 1"}, rendered(s, "pool_metadata"))

	failing := func(string) (map[string]any, error) { return nil, fmt.Errorf("boom") }
	require.EqualError(t, m.osdSamples(newScrape(), om, classes, servers, failing), "osd.0 metadata: boom")
}

// TestPerfSamples: Pacific's names (promethize), labels (instance_id for
// RGW, rbd-mirror image labels), types, time counters in seconds,
// long-running averages as _sum and _count, histograms left out.
func TestPerfSamples(t *testing.T) {
	for in, want := range map[string]string{
		"osd.op_r": "osd_op_r", "mds_mem.ino+": "mds_mem_ino_plus", "mds_mem.ino-": "mds_mem_ino_minus",
		"throttle-msgr_dispatch_throttler-client.get": "throttle_msgr_dispatch_throttler_client_get",
		"a::b c/d": "a_b_c_d",
	} {
		require.Equal(t, want, promethize(in), in)
	}
	all := decodeMap(t, `{
		"osd.0": {
			"osd.op_r": {"description": "Client read operations", "type": 10, "priority": 8, "value": 7},
			"osd.op_r_latency": {"description": "Latency of read operation (including queue time)", "type": 5, "priority": 8, "value": 3000000000, "count": 2},
			"osd.numpg": {"description": "Placement groups", "type": 2, "priority": 8, "value": 33},
			"osd.op_r_latency_out_bytes_histogram": {"description": "Histogram", "type": 18, "priority": 8, "value": 0}},
		"rgw.gw1": {"rgw.req": {"description": "Requests", "type": 10, "priority": 8, "value": 4}},
		"rbd-mirror.a": {"rbd_mirror_image_pool1/ns/img.replay": {"description": "Replays", "type": 10, "priority": 8, "value": 9}}}`)
	m := newModule()
	s := newScrape()
	m.perfSamples(s, typedPerf(t, all))
	out, err := s.encode()
	require.NoError(t, err)
	require.Equal(t, `# HELP ceph_osd_numpg Placement groups
# TYPE ceph_osd_numpg gauge
ceph_osd_numpg{ceph_daemon="osd.0"} 33
# HELP ceph_osd_op_r Client read operations
# TYPE ceph_osd_op_r counter
ceph_osd_op_r{ceph_daemon="osd.0"} 7
# HELP ceph_osd_op_r_latency_count Latency of read operation (including queue time) Count
# TYPE ceph_osd_op_r_latency_count counter
ceph_osd_op_r_latency_count{ceph_daemon="osd.0"} 2
# HELP ceph_osd_op_r_latency_sum Latency of read operation (including queue time) Total
# TYPE ceph_osd_op_r_latency_sum counter
ceph_osd_op_r_latency_sum{ceph_daemon="osd.0"} 3
# HELP ceph_rbd_mirror_image_replay Replays
# TYPE ceph_rbd_mirror_image_replay counter
ceph_rbd_mirror_image_replay{ceph_daemon="rbd-mirror.a",image="img",namespace="ns",pool="pool1"} 9
# HELP ceph_rgw_req Requests
# TYPE ceph_rgw_req counter
ceph_rgw_req{instance_id="gw1"} 4
`, string(out))

	// A counter whose name is a static family's, or whose labels are not
	// its family's, is left out: the output stays consistent.
	s = newScrape()
	m.perfSamples(s, typedPerf(t, decodeMap(t, `{"osd.0": {"health_status": {"description": "x", "type": 2, "value": 1}},
		"rgw.a": {"osd.op_r": {"description": "Client read operations", "type": 10, "value": 1}},
		"osd.1": {"osd.op_r": {"description": "Client read operations", "type": 10, "value": 2}}}`)))
	require.Equal(t, []string{"{osd.1} 2"}, rendered(s, "osd_op_r"))
	require.Empty(t, rendered(s, "health_status"))
	_, err = s.encode()
	require.NoError(t, err)
}

// TestEncodeBadLabel: a label value that is not UTF-8 drops its sample,
// not the scrape.
func TestEncodeBadLabel(t *testing.T) {
	s := newScrape()
	s.set("osd_up", 1, "osd.\xff")
	s.set("osd_up", 1, "osd.1")
	out, err := s.encode()
	require.NoError(t, err)
	require.Equal(t, "# HELP ceph_osd_up OSD status up\n# TYPE ceph_osd_up untyped\nceph_osd_up{ceph_daemon=\"osd.1\"} 1\n", string(out))
}

// typedPerf is get_all_perf_counters' Python shape as PerfCounters'.
func typedPerf(t *testing.T, all map[string]any) []module.DaemonPerf {
	t.Helper()
	typed, err := module.PerfCountersFromPython(all)
	require.NoError(t, err)
	return typed
}

// chunkWriter records each write (and the size it is told, as a
// sizedWriter); fail makes the write after fail writes fail.
type chunkWriter struct {
	writes [][]byte
	fail   int
	sized  []int
}

func (w *chunkWriter) wholeSize(n int) { w.sized = append(w.sized, n) }

var errGone = fmt.Errorf("client gone")

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.fail > 0 && len(w.writes) == w.fail {
		return 0, errGone
	}
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

// TestWriteToChunks: a text larger than a chunk is written in several
// writes, none much past chunkSize, whose concatenation is encode's text,
// ending on whole lines; a writer's error stops the text at once and is
// returned wrapped.
func TestWriteToChunks(t *testing.T) {
	fill := func() *scrape {
		s := newScrape()
		for i := range 20000 {
			s.set("osd_up", float64(i%2), fmt.Sprintf("osd.%d", i))
			s.set("osd_weight", 1, fmt.Sprintf("osd.%d", i))
		}
		s.set("health_status", 1)
		return s
	}
	want, err := fill().encode()
	require.NoError(t, err)
	require.Greater(t, len(want), 2*chunkSize, "the test needs a text of several chunks")

	var w chunkWriter
	n, err := fill().writeTo(&w)
	require.NoError(t, err)
	require.EqualValues(t, len(want), n)
	require.Greater(t, len(w.writes), 2)
	var got []byte
	for _, c := range w.writes {
		require.LessOrEqual(t, len(c), chunkSize+4096)
		require.Equal(t, byte('\n'), c[len(c)-1], "a chunk ends on a whole line")
		got = append(got, c...)
	}
	require.Equal(t, string(want), string(got))
	require.Empty(t, w.sized, "a text of several chunks has no size up front")

	var small chunkWriter
	s := newScrape()
	s.set("health_status", 1)
	n, err = s.writeTo(&small)
	require.NoError(t, err)
	require.Len(t, small.writes, 1)
	require.Equal(t, []int{int(n)}, small.sized, "one chunk: its size, before the write")

	failing := chunkWriter{fail: 1}
	n, err = fill().writeTo(&failing)
	require.ErrorIs(t, err, errGone)
	require.Len(t, failing.writes, 1, "nothing is written after the error")
	require.EqualValues(t, len(failing.writes[0]), n)
}

// TestPGStatus: Pacific's get_pg_status on pg_summary's by_pool: each
// state of a "+"-joined name counted, every state of PG_STATES written
// (0 when absent), the total of the pool's PGs, states it does not know
// left out, and no total for a pool without states.
func TestPGStatus(t *testing.T) {
	s := newScrape()
	s.gets = map[string]map[string]any{"pg_summary": decodeMap(t, `{"by_pool": {
		"1": {"active+clean": 30, "active+clean+scrubbing+deep": 2, "active+weird": 1},
		"2": {}}}`)}
	require.NoError(t, newModule().getPGStatus(t.Context(), s))
	assert.Equal(t, []string{"{1} 33", "{2} 0"}, rendered(s, "pg_active"))
	assert.Equal(t, []string{"{1} 32", "{2} 0"}, rendered(s, "pg_clean"))
	assert.Equal(t, []string{"{1} 2", "{2} 0"}, rendered(s, "pg_deep"))
	assert.Equal(t, []string{"{1} 0", "{2} 0"}, rendered(s, "pg_down"))
	assert.Equal(t, []string{"{1} 33"}, rendered(s, "pg_total"), "pool 2 has no state, so no total (a defaultdict never read)")
	for _, f := range s.fams {
		assert.NotEqual(t, "pg_weird", f.name)
	}
	assert.Len(t, s.samples, 2*len(pgStates)+1)
}
