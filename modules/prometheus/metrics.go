package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomgr/gomgr/pkg/module"
)

// family is one metric family of Pacific's module: its name without the
// "ceph_" prefix, help text, type and label names.
type family struct {
	name, help string
	typ        prometheus.ValueType
	labels     []string
	// slot is the family's position in a scrape's samples by family
	// (scrape.bySlot): a static family's is set once, before the first
	// scrape (staticSlots), a perf counter's when declared keeps it, or
	// when its scrape copies it; 0 is none yet.
	slot int
	// id is the id of the exposed name of a family declared keeps
	// (declaredNames), 0 for others.
	id   int32
	text familyText
}

// familyText is how a family's samples are written (writeTo), worked out
// once when it is declared.
type familyText struct {
	full, exposed string   // "ceph_<name>", and as written (escaped)
	validName     bool     // the name is UTF-8 (client_golang refuses others)
	static        bool     // a perf counter's, exposed as a static family is (declaredFamily)
	order         []int    // label positions, sorted by label name
	segs          []string // what comes before each label value in a line, in order
	header        string   // the family's HELP and TYPE lines
}

// newFamily declares a family (labels are kept, not copied).
func newFamily(name, help string, typ prometheus.ValueType, labels []string) *family {
	f := &family{name: name, help: help, typ: typ, labels: labels}
	t := &f.text
	t.full, t.exposed, t.validName = "ceph_"+name, exposedName(name), utf8.ValidString(name)
	t.order = make([]int, len(labels))
	for i := range t.order {
		t.order[i] = i
	}
	slices.SortStableFunc(t.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	t.segs = make([]string, len(t.order))
	for n, k := range t.order {
		if n == 0 {
			t.segs[n] = t.exposed + "{" + labels[k] + `="`
		} else {
			t.segs[n] = `",` + labels[k] + `="`
		}
	}
	h := appendEscaped([]byte("# HELP "+t.exposed+" "), help, false)
	t.header = string(append(h, "\n# TYPE "+t.exposed+" "+typeText(typ)+"\n"...))
	return f
}

var (
	untyped = prometheus.UntypedValue
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

// The label sets, as Pacific names them.
var (
	monMetadataLabels = []string{"ceph_daemon", "hostname", "public_addr", "rank", "ceph_version"}
	mgrMetadataLabels = []string{"ceph_daemon", "hostname", "ceph_version"}
	osdMetadataLabels = []string{"back_iface", "ceph_daemon", "cluster_addr", "device_class",
		"front_iface", "hostname", "objectstore", "public_addr", "ceph_version"}
	poolMetadataLabels = []string{"pool_id", "name", "type", "description", "compression_mode"}
	daemonLabel        = []string{"ceph_daemon"}
	poolLabel          = []string{"pool_id"}
)

var (
	osdFlags     = []string{"noup", "nodown", "noout", "noin", "nobackfill", "norebalance", "norecover", "noscrub", "nodeep-scrub"}
	osdStatus    = [...]string{"weight", "up", "in"}
	osdStats     = []string{"apply_latency_ms", "commit_latency_ms"}
	osdPoolStats = []string{"recovering_objects_per_sec", "recovering_bytes_per_sec",
		"recovering_keys_per_sec", "num_objects_recovered", "num_bytes_recovered"}
	dfCluster = []string{"total_bytes", "total_used_bytes", "total_used_raw_bytes"}
	dfPool    = []string{"max_avail", "avail_raw", "stored", "stored_raw", "objects", "dirty",
		"quota_bytes", "quota_objects", "rd", "rd_bytes", "wr", "wr_bytes",
		"compress_bytes_used", "compress_under_bytes", "bytes_used", "percent_used"}
	numObjects = []string{"degraded", "misplaced", "unfound"}
	// pgStates is mgr_module.PG_STATES.
	pgStates = []string{"active", "clean", "down", "recovery_unfound", "backfill_unfound",
		"scrubbing", "degraded", "inconsistent", "peering", "repair", "recovering",
		"forced_recovery", "backfill_wait", "incomplete", "stale", "remapped", "deep",
		"backfilling", "forced_backfill", "backfill_toofull", "recovery_wait",
		"recovery_toofull", "undersized", "activating", "peered", "snaptrim",
		"snaptrim_wait", "snaptrim_error", "creating", "unknown", "premerge",
		"failed_repair", "laggy", "wait"}
)

// families maps a name to its family: Pacific's static metrics.
var families = func() map[string]*family {
	m := map[string]*family{}
	add := func(name, help string, typ prometheus.ValueType, labels ...string) {
		m[name] = newFamily(name, help, typ, labels)
	}
	add("health_status", "Cluster health status", untyped)
	add("mon_quorum_status", "Monitors in quorum", gauge, daemonLabel...)
	add("mon_metadata", "MON Metadata", untyped, monMetadataLabels...)
	add("mgr_metadata", "MGR metadata", gauge, mgrMetadataLabels...)
	add("mgr_status", "MGR status (0=standby, 1=active)", gauge, daemonLabel...)
	add("mgr_module_status", "MGR module status (0=disabled, 1=enabled, 2=auto-enabled)", gauge, "name")
	add("mgr_module_can_run", "MGR module runnable state i.e. can it run (0=no, 1=yes)", gauge, "name")
	add("osd_metadata", "OSD Metadata", untyped, osdMetadataLabels...)
	add("pool_metadata", "POOL Metadata", untyped, poolMetadataLabels...)
	add("pg_total", "PG Total Count per Pool", gauge, poolLabel...)
	add("health_detail", "healthcheck status by type (0=inactive, 1=active)", gauge, "name", "severity")
	for _, f := range osdFlags {
		add("osd_flag_"+f, "OSD Flag "+f, untyped)
	}
	for _, s := range osdStatus {
		add("osd_"+s, "OSD status "+s, untyped, daemonLabel...)
	}
	for _, s := range osdStats {
		add("osd_"+s, "OSD stat "+s, gauge, daemonLabel...)
	}
	for _, s := range osdPoolStats {
		add("pool_"+s, "OSD pool stats: "+s, gauge, poolLabel...)
	}
	for _, s := range pgStates {
		add("pg_"+s, "PG "+s+" per pool", gauge, poolLabel...)
	}
	for _, s := range dfCluster {
		add("cluster_"+s, "DF "+s, gauge)
	}
	for _, s := range dfPool {
		typ := gauge
		if s == "rd" || s == "rd_bytes" || s == "wr" || s == "wr_bytes" {
			typ = counter
		}
		add("pool_"+s, "DF pool "+s, typ, poolLabel...)
	}
	for _, s := range numObjects {
		add("num_objects_"+s, "Number of "+s+" objects", gauge)
	}
	add("healthcheck_slow_ops", "OSD or Monitor requests taking a long time to process", gauge)
	add("prometheus_collect_duration_seconds_sum", "The sum of seconds took to collect all metrics of this exporter", counter, "method")
	add("prometheus_collect_duration_seconds_count", "The amount of metrics gathered for this exporter", counter, "method")
	return m
}()

// ---- reading get()'s decoded JSON ----

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string: // the daemon's own mgr map
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out
	}
	return nil
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case bool:
		if x {
			return 1
		}
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return 0
}

// getMap is Handle.Get for a map-valued name.
func getMap(ctx context.Context, h *module.Handle, name string) (map[string]any, error) {
	return getMapFields(ctx, h, name, nil)
}

// getMapFields is getMap of only the parts fields names.
func getMapFields(ctx context.Context, h *module.Handle, name string, fields module.Fields) (map[string]any, error) {
	v, err := h.GetFields(ctx, name, fields)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return asMap(v), nil
}

// serviceKey is (id, type) of get_service_list.
type serviceKey struct{ id, typ string }

// service is (hostname, ceph_version, name) of get_service_list.
type service struct{ host, version, name string }

// serviceList is Pacific's get_service_list.
func serviceList(ctx context.Context, h *module.Handle) (map[serviceKey]service, error) {
	servers, err := h.ListServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list_servers: %w", err)
	}
	n := 0
	for _, srv := range servers {
		n += len(asList(srv["services"]))
	}
	out := make(map[serviceKey]service, n)
	for _, srv := range servers {
		host := asString(srv["hostname"])
		for _, s := range asList(srv["services"]) {
			sm := asMap(s)
			version := "unknown"
			if v, ok := sm["ceph_version"]; ok {
				version = asString(v)
			}
			out[serviceKey{asString(sm["id"]), asString(sm["type"])}] = service{host, version, asString(sm["name"])}
		}
	}
	return out, nil
}

// timed runs one collector and records its duration under Pacific's
// method name.
func (m *Module) timed(ctx context.Context, s *scrape, method string, fn func(context.Context, *scrape) error) error {
	start := time.Now()
	err := fn(ctx, s)
	m.durMu.Lock()
	m.durSum[method] += time.Since(start).Seconds()
	m.durCount[method]++
	m.durMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}
