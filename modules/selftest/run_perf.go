package selftest

import (
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/pkg/module"
)

// testPerfCounters checks the perf counters over time (get_counter's
// history, get_latest_counter, get_latest, get_latest_avg,
// get_all_perf_counters) of this mgr and of the cluster's first OSD and
// monitor.
func (r *runner) testPerfCounters() {
	osds, mons, _ := r.clusterDaemons()
	daemons := [][2]string{{"mgr", r.h.MgrID()}}
	if len(osds) > 0 {
		daemons = append(daemons, [2]string{"osd", osds[0]})
	}
	if len(mons) > 0 {
		daemons = append(daemons, [2]string{"mon", mons[0]})
	}
	for _, d := range daemons {
		r.wantHistory(d[0], d[1])
	}
	r.wantAllPerfCounters(osds)

	const nosuch = "nosuch.counter"
	id := r.h.MgrID()
	if c, err := r.h.GetLatestCounter(r.ctx, "mgr", id, nosuch); r.ok("get_latest_counter of a missing counter", err) {
		series, isList := c[nosuch].([]any)
		r.check(isList && len(series) == 0, "get_latest_counter(mgr, %s, %s) = %v, want {%q: []}", id, nosuch, c, nosuch)
	}
	if v, err := r.h.GetLatest(r.ctx, "mgr", id, nosuch); r.ok("get_latest of a missing counter", err) {
		r.equal("get_latest of a missing counter", v, uint64(0))
	}
	if s, c, err := r.h.GetLatestAvg(r.ctx, "mgr", id, nosuch); r.ok("get_latest_avg of a missing counter", err) {
		r.equal("get_latest_avg of a missing counter", [2]uint64{s, c}, [2]uint64{0, 0})
	}
}

// perfCounterPicks are the counters of a daemon wantHistory looks at:
// the first plain one and the first long-running average, by path.
type perfCounterPicks struct {
	plain, avg         string
	plainType, avgType int64
}

// pickCounters reads a daemon's schema and picks its counters.
func (r *runner) pickCounters(svcType, svcID string) (perfCounterPicks, bool) {
	var p perfCounterPicks
	schema, err := r.h.GetPerfSchema(r.ctx, svcType, svcID)
	if !r.ok(fmt.Sprintf("get_perf_schema(%s, %s)", svcType, svcID), err) {
		return p, false
	}
	counters, _ := schema[svcType+"."+svcID].(map[string]any)
	for _, path := range sortedKeys(counters) {
		info, _ := counters[path].(map[string]any)
		tp, _ := numberOf([]any{info["type"]})
		switch t := int64(tp); {
		case t&module.PerfCounterHistogram != 0:
		case t&module.PerfCounterLongRunAvg != 0 && p.avg == "":
			p.avg, p.avgType = path, t
		case t&module.PerfCounterLongRunAvg == 0 && p.plain == "":
			p.plain, p.plainType = path, t
		}
	}
	return p, true
}

// wantHistory checks a daemon's counters over time: get_counter is a
// history (at most PerfHistoryLen samples, oldest first, the right arity
// for the counter's type), growing by a sample every mgr_stats_period;
// get_latest_counter, get_latest and get_latest_avg agree with it.
func (r *runner) wantHistory(svcType, svcID string) {
	daemon := svcType + "." + svcID
	var picks perfCounterPicks
	var series []any
	failed := false
	r.pollCounters(func() bool {
		var ok bool
		if picks, ok = r.pickCounters(svcType, svcID); !ok {
			failed = true
			return true
		}
		if picks.plain != "" {
			c, err := r.h.GetCounter(r.ctx, svcType, svcID, picks.plain)
			if !r.ok("get_counter("+daemon+", "+picks.plain+")", err) {
				failed = true
				return true
			}
			series, _ = c[picks.plain].([]any)
		}
		return len(series) >= 2
	})
	if failed {
		return
	}
	if !r.check(picks.plain != "" && len(series) >= 2, "%s: no counter with two samples within %v (picked %q: %v)", daemon, counterWait, picks.plain, series) {
		return
	}
	r.wantCounterAgrees(svcType, svcID, picks.plain, picks.plainType)
	if picks.avg != "" {
		r.wantCounterAgrees(svcType, svcID, picks.avg, picks.avgType)
	}
}

// wantCounterAgrees checks one counter's series against its latest
// sample, value and average.
func (r *runner) wantCounterAgrees(svcType, svcID, path string, typ int64) {
	what := fmt.Sprintf("get_counter(%s, %s, %s)", svcType, svcID, path)
	avg := typ&module.PerfCounterLongRunAvg != 0
	arity := 2
	if avg {
		arity = 3
	}
	c, err := r.h.GetCounter(r.ctx, svcType, svcID, path)
	if !r.ok(what, err) {
		return
	}
	series, _ := c[path].([]any)
	if !r.check(len(series) >= 1 && len(series) <= module.PerfHistoryLen, "%s has %d samples, want 1 to %d", what, len(series), module.PerfHistoryLen) {
		return
	}
	var last []any
	for i, s := range series {
		sample, _ := s.([]any)
		if !r.check(wellFormedSample(sample, arity), "%s sample %v, want %d numbers (a timestamp, then integers)", what, s, arity) {
			return
		}
		if i > 0 {
			r.check(sample[0].(float64) >= last[0].(float64), "%s: timestamps go back: %v", what, series)
		}
		last = sample
	}
	latestWhat := fmt.Sprintf("get_latest_counter(%s, %s, %s)", svcType, svcID, path)
	lc, err := r.h.GetLatestCounter(r.ctx, svcType, svcID, path)
	if !r.ok(latestWhat, err) {
		return
	}
	latest, _ := lc[path].([]any)
	if r.check(wellFormedSample(latest, arity), "%s = %v, want [t, value] or [t, sum, count]", latestWhat, lc) {
		r.check(latest[0].(float64) >= last[0].(float64), "%s = %v is older than the series' last sample %v", latestWhat, latest, last)
	}
	monotonic := typ&module.PerfCounterCounter != 0
	if avg {
		sum, count, err := r.h.GetLatestAvg(r.ctx, svcType, svcID, path)
		if r.ok("get_latest_avg("+path+")", err) {
			r.check(count >= asUint(last[2]) && (sum >= asUint(last[1]) || !monotonic),
				"get_latest_avg(%s, %s, %s) = (%d, %d), older than the series' last sample %v", svcType, svcID, path, sum, count, last)
		}
		return
	}
	v, err := r.h.GetLatest(r.ctx, svcType, svcID, path)
	if r.ok("get_latest("+path+")", err) && monotonic {
		r.check(v >= asUint(last[1]), "get_latest(%s, %s, %s) = %d, below the series' last sample %v", svcType, svcID, path, v, last)
	}
	_, _, err = r.h.GetLatestAvg(r.ctx, svcType, svcID, path)
	r.fails("get_latest_avg of a counter that is not an average", err, -int(syscall.EINVAL), "is not an average")
}

// wellFormedSample reports whether s is [float timestamp, integers...] of
// arity elements.
func wellFormedSample(s []any, arity int) bool {
	if len(s) != arity {
		return false
	}
	if t, ok := s[0].(float64); !ok || t <= 0 {
		return false
	}
	for _, v := range s[1:] {
		switch v.(type) {
		case int64, uint64:
		default:
			return false
		}
	}
	return true
}

// asUint is a sample's integer as the daemon's uint64.
func asUint(v any) uint64 {
	switch n := v.(type) {
	case int64:
		return uint64(n)
	case uint64:
		return n
	}
	return 0
}

// wantAllPerfCounters checks get_all_perf_counters: the daemons of the
// services asked for, each counter its schema entry of at least the
// priority asked for with a value (and a count for an average); the
// first OSD's counters are its schema's.
func (r *runner) wantAllPerfCounters(osds []string) {
	services := []string{"mds", "mon", "osd", "rbd-mirror", "rgw", "tcmu-runner"}
	check := func(what string, all map[string]any, prio int, services []string) {
		for daemon, v := range all {
			typ, _, _ := strings.Cut(daemon, ".")
			r.check(slices.Contains(services, typ), "%s lists %s, not one of %v", what, daemon, services)
			counters, _ := v.(map[string]any)
			for path, e := range counters {
				info, _ := e.(map[string]any)
				p, _ := numberOf([]any{info["priority"]})
				tp, _ := numberOf([]any{info["type"]})
				_, hasValue := info["value"]
				_, hasCount := info["count"]
				_, hasDesc := info["description"].(string)
				isAvg := int64(tp)&module.PerfCounterLongRunAvg != 0
				r.check(int(p) >= prio && hasValue && hasDesc && hasCount == isAvg,
					"%s: %s %s = %v, want its schema (priority >= %d) with a value, and a count for an average", what, daemon, path, info, prio)
			}
		}
	}
	all, err := r.h.GetAllPerfCounters(r.ctx, module.PrioUseful, nil)
	if r.ok("get_all_perf_counters()", err) {
		check("get_all_perf_counters()", all, module.PrioUseful, services)
		if len(osds) > 0 {
			daemon := "osd." + osds[0]
			schema, err := r.h.GetPerfSchema(r.ctx, "osd", osds[0])
			if r.ok("get_perf_schema(osd, "+osds[0]+")", err) {
				want := []string{}
				sc, _ := schema[daemon].(map[string]any)
				for path, e := range sc {
					info, _ := e.(map[string]any)
					if p, _ := numberOf([]any{info["priority"]}); p >= module.PrioUseful {
						want = append(want, path)
					}
				}
				got, _ := all[daemon].(map[string]any)
				slices.Sort(want)
				r.equal("get_all_perf_counters() counters of "+daemon, sortedKeys(got), want)
			}
		}
	}
	crit, err := r.h.GetAllPerfCounters(r.ctx, module.PrioCritical, []string{"osd"})
	if r.ok("get_all_perf_counters(PRIO_CRITICAL, [osd])", err) {
		check("get_all_perf_counters(PRIO_CRITICAL, [osd])", crit, module.PrioCritical, []string{"osd"})
	}
	self, err := r.h.GetAllPerfCounters(r.ctx, module.PrioUseful, []string{"mgr"})
	if r.ok("get_all_perf_counters(services=[mgr])", err) {
		check("get_all_perf_counters(services=[mgr])", self, module.PrioUseful, []string{"mgr"})
		_, listed := self["mgr."+r.h.MgrID()]
		r.check(listed, "get_all_perf_counters(services=[mgr]) does not list this mgr: %v", sortedKeys(self))
	}
}
