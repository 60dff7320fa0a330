package prometheus

import (
	"context"
	"fmt"
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

// promethized caches promethize's names (bounded: maxCached).
var promethized boundedCache[string, string]

func promethizeCached(path string) string {
	return promethized.get(path, func() string { return promethize(path) })
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
	om, err := s.getMap(ctx, m.mgr, "osd_map")
	if err != nil {
		return err
	}
	if embedded, _ := om["gomgr_embedded"].(bool); embedded { // as clusterless reads it
		services = append(slices.Clone(services), "mgr")
	}
	all, err := m.mgr.PerfCounters(ctx, module.PrioUseful, services)
	if err != nil {
		return fmt.Errorf("get_all_perf_counters: %w", err)
	}
	m.perfSamples(s, all)
	return nil
}

// perfFams is a counter's families in a scrape (nil where a sample does
// not fit its family): one, or _sum and _count for a long-running
// average; ok is false where they are worked out for each sample (an
// rbd-mirror image's counter, an RGW sync counter) or none (a type
// Pacific skips).
type perfFams struct {
	plain, sum, count *family
	ok                bool
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

// perfSamples turns the daemons' counters (PerfCounters' answer) into
// samples. Daemons of one type list the same counters in the same order,
// so a counter's families are looked up only where it differs from the
// previous daemon's counter at its position.
func (m *Module) perfSamples(s *scrape, all []module.DaemonPerf) {
	if s.memo != nil {
		s.memo.perfMu.Lock()
		defer s.memo.perfMu.Unlock()
	}
	var prev []module.PerfCounter
	var prevFams, fams []perfFams
	prevRGW := false
	for _, d := range all {
		daemon := d.Daemon
		rgw, rbdMirror := strings.HasPrefix(daemon, "rgw."), strings.HasPrefix(daemon, "rbd-mirror.")
		label := daemon
		if rgw {
			label = daemon[len("rgw."):]
		}
		labels := []string{label}
		fams = fams[:0]
		for i, c := range d.Counters {
			t := c.Type
			if i < len(prev) && prevFams[i].ok && rgw == prevRGW && !rbdMirror && prev[i].Type == t &&
				(prev[i].PerfCounterInfo == c.PerfCounterInfo || prev[i].Path == c.Path) {
				// The previous daemon's counter at this position, whose
				// families were worked out (not an rbd-mirror image's
				// or an RGW sync counter: those are not ok in prevFams).
				f := prevFams[i]
				fams = append(fams, f)
				m.addPerf(f, s, daemon, c, labels)
				continue
			}
			typ, ok := statType(t)
			if !ok {
				fams = append(fams, perfFams{})
				continue
			}
			value := perfValue(c)
			if (rbdMirror && rbdMirrorImageRE.MatchString(c.Path)) || strings.HasPrefix(c.Path, fixedNamePrefix) {
				// Worked out each time: an rbd-mirror image's counter
				// (its labels), an RGW sync counter (its fixed-name copy).
				fams = append(fams, perfFams{})
				p, names, labels := perfPathLabels(daemon, c.Path)
				var fit bool
				if t&module.PerfCounterLongRunAvg != 0 {
					fit = setPerf(s, p+"_sum", c.Description+" Total", typ, names, value, labels) &&
						setPerf(s, p+"_count", c.Description+" Count", counter, names, float64(c.Count), labels)
				} else {
					fit = setPerf(s, p, c.Description, typ, names, value, labels)
				}
				if !fit {
					m.logInfo("skipping a perf counter that does not fit its family", "daemon", daemon, "path", c.Path)
				}
				continue
			}
			e := s.memo.perfFamilies(daemon, rgw, c, typ)
			f := s.perfFamilies(e.decl, t, e.names)
			fams = append(fams, f)
			m.addPerf(f, s, daemon, c, labels)
		}
		prev, prevRGW = d.Counters, rgw
		prevFams, fams = fams, prevFams
	}
}

// perfValue is c's value as exported: seconds for a time counter
// (nanoseconds in the daemon).
func perfValue(c module.PerfCounter) float64 {
	if c.Type&module.PerfCounterTime != 0 {
		return float64(c.Value) / 1e9
	}
	return float64(c.Value)
}

// addPerf records counter c of daemon in its families f (labels: the
// daemon's), or logs that it does not fit them.
func (m *Module) addPerf(f perfFams, s *scrape, daemon string, c module.PerfCounter, labels []string) {
	value := perfValue(c)
	fit := true
	if c.Type&module.PerfCounterLongRunAvg != 0 {
		if fit = f.sum != nil && f.count != nil; fit {
			s.add(f.sum, value, labels)
			s.add(f.count, float64(c.Count), labels)
		}
	} else if fit = f.plain != nil; fit {
		s.add(f.plain, value, labels)
	}
	if !fit {
		m.logInfo("skipping a perf counter that does not fit its family", "daemon", daemon, "path", c.Path)
	}
}

// perfFamilies is the families in this scrape of a counter of type t
// whose declared families are d, with label names names.
func (s *scrape) perfFamilies(d perfDecl, t int, names []string) perfFams {
	if t&module.PerfCounterLongRunAvg != 0 {
		return perfFams{sum: s.scrapeFamily(d.sum, names), count: s.scrapeFamily(d.count, names), ok: true}
	}
	return perfFams{plain: s.scrapeFamily(d.plain, names), ok: true}
}

// perfDecl is a counter's families as declared (declaredFamily's), for
// all scrapes.
type perfDecl struct{ plain, sum, count *family }

type perfDeclKey struct {
	path, desc string
	t          int
	typ        prometheus.ValueType
	labels     labelsKey
}

// declaredPerf is perfFamilies' declarations (bounded: maxCached).
var declaredPerf boundedCache[perfDeclKey, perfDecl]

func declaredPerfFamilies(path, desc string, t int, typ prometheus.ValueType, names []string) perfDecl {
	k := perfDeclKey{path: path, desc: desc, t: t, typ: typ, labels: keyOfLabels(names)}
	return declaredPerf.get(k, func() perfDecl {
		name := promethizeCached(path)
		if t&module.PerfCounterLongRunAvg != 0 {
			return perfDecl{sum: declaredFamily(name+"_sum", desc+" Total", typ, names),
				count: declaredFamily(name+"_count", desc+" Count", counter, names)}
		}
		return perfDecl{plain: declaredFamily(name, desc, typ, names)}
	})
}
