package prometheus

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomgr/gomgr/pkg/module"
)

// pythonPerfServices is get_all_perf_counters' default services.
var pythonPerfServices = []string{"mds", "mon", "osd", "rbd-mirror", "rgw", "tcmu-runner"}

// promethize is Pacific's: '.', '/', white space and '::' become '_',
// '+' "_plus", a trailing '-' "_minus" and any other '-' '_' (without
// the "ceph_" prefix, which the encoder adds).
var promethizeRE = regexp.MustCompile(`[./\s]|::`)

func promethize(path string) string {
	out := strings.ReplaceAll(promethizeRE.ReplaceAllString(path, "_"), "+", "_plus")
	if strings.HasSuffix(out, "-") {
		return out[:len(out)-1] + "_minus"
	}
	return strings.ReplaceAll(out, "-", "_")
}

var rbdMirrorImageRE = regexp.MustCompile(`^rbd_mirror_image_([^/]+)/(?:(?:([^/]+)/)?)(.*)\.(replay(?:_bytes|_latency)?)$`)

// perfPathLabels is Pacific's _perfpath_to_path_labels: an RGW's counters
// are labelled instance_id, others ceph_daemon; an rbd-mirror's image
// counters get pool, namespace and image labels.
func perfPathLabels(daemon, path string) (string, []string, []string) {
	name := "ceph_daemon"
	if rest, ok := strings.CutPrefix(daemon, "rgw."); ok {
		name, daemon = "instance_id", rest
	}
	names, values := []string{name}, []string{daemon}
	if strings.HasPrefix(daemon, "rbd-mirror.") {
		if m := rbdMirrorImageRE.FindStringSubmatch(path); m != nil {
			path = "rbd_mirror_image_" + m[4]
			names = append(names, "pool", "namespace", "image")
			values = append(values, m[1], m[2], m[3])
		}
	}
	return path, names, values
}

// statType is Pacific's _stattype_to_str; ok is false for what it skips
// (histograms, unknown types).
func statType(t int) (prometheus.ValueType, bool) {
	switch t &^ 3 {
	case 0:
		return gauge, true
	case module.PerfCounterLongRunAvg, module.PerfCounterCounter:
		return counter, true
	}
	return 0, false
}

// getPerfCounters is the perf counter part of Pacific's collect: every
// counter of useful priority or above, long-running averages as _sum and
// _count. Without a cluster (embedded) it is the daemon's own ("mgr").
func (m *Module) getPerfCounters(ctx context.Context, s *scrape) error {
	services := pythonPerfServices
	if m.clusterless(ctx) {
		services = append(slices.Clone(services), "mgr")
	}
	all, err := m.mgr.GetAllPerfCounters(ctx, module.PrioUseful, services)
	if err != nil {
		return fmt.Errorf("get_all_perf_counters: %w", err)
	}
	m.perfSamples(s, all)
	return nil
}

// setPerf records the perf counter sample path{names=labels} = v under
// its promethized name and, for an RGW sync counter, its fixed-name copy
// (Pacific's add_fixed_name_metrics: "data-sync-from-<zone>.<counter>"
// also as "data-sync-from-zone.<counter>", with the zone in a source_zone
// label); it reports whether the sample fit its family.
func setPerf(s *scrape, path, desc string, typ prometheus.ValueType, names []string, v float64, labels []string) bool {
	if !s.setDynamic(promethize(path), desc, typ, names, v, labels...) {
		return false
	}
	if fixed, zone, ok := fixedName(path); ok {
		return s.setDynamic(promethize(fixed), desc, typ, append(slices.Clone(names), "source_zone"), v, append(slices.Clone(labels), zone)...)
	}
	return true
}

// perfSamples turns get_all_perf_counters' answer into samples.
func (m *Module) perfSamples(s *scrape, all map[string]any) {
	for _, daemon := range slices.Sorted(maps.Keys(all)) {
		counters := asMap(all[daemon])
		for _, path := range slices.Sorted(maps.Keys(counters)) {
			info := asMap(counters[path])
			t := int(asFloat(info["type"]))
			typ, ok := statType(t)
			if !ok {
				continue
			}
			p, names, labels := perfPathLabels(daemon, path)
			desc := asString(info["description"])
			value := asFloat(info["value"])
			if t&module.PerfCounterTime != 0 {
				value /= 1e9
			}
			var fit bool
			if t&module.PerfCounterLongRunAvg != 0 {
				fit = setPerf(s, p+"_sum", desc+" Total", typ, names, value, labels) &&
					setPerf(s, p+"_count", desc+" Count", counter, names, asFloat(info["count"]), labels)
			} else {
				fit = setPerf(s, p, desc, typ, names, value, labels)
			}
			if !fit {
				m.logInfo("skipping a perf counter that does not fit its family", "daemon", daemon, "path", path)
			}
		}
	}
}
