package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// This file answers Python's perf counter calls (get_perf_schema,
// get_counter, get_latest_counter, get_all_perf_counters). Inside a real
// mgr (backend.DaemonState) they are that mgr's. Otherwise this daemon's
// own counters (Config.DaemonInfo) are sampled every mgr_stats_period
// into a history of its own, as the real mgr keeps the counters its
// daemons report (internal/perfstate), and those of the cluster's daemons
// come from a backend that collects them (backend.PerfCounters: attached).

// defaultStatsPeriod is Ceph's default mgr_stats_period, used when the
// option cannot be read.
const defaultStatsPeriod = 5 * time.Second

// selfName is this daemon's name in perf answers.
func (m *Manager) selfName() string { return "mgr." + m.cfg.MgrID }

// sampleSelf records this daemon's own counters every mgr_stats_period
// until the Manager closes (Start runs it, after a first sample, when
// there is a DaemonInfo).
func (m *Manager) sampleSelf() {
	defer m.bg.Done()
	for {
		period := time.Duration(m.cephSource().Int("mgr_stats_period", int64(defaultStatsPeriod/time.Second))) * time.Second
		if period <= 0 {
			period = defaultStatsPeriod
		}
		select {
		case <-m.bgCtx.Done():
			return
		case <-time.After(period):
		}
		m.sampleSelfOnce()
	}
}

// sampleSelfOnce takes one sample of this daemon's counters.
func (m *Manager) sampleSelfOnce() {
	schema, err := json.Marshal(m.cfg.DaemonInfo("perf_schema"))
	if err != nil {
		m.cfg.Log.Warn("this daemon's perf schema", "err", err)
		return
	}
	types, err := perfstate.ParseSchema(m.cephSource().Int("mgr_stats_threshold", perfstate.DefaultThreshold), schema)
	if err != nil {
		m.cfg.Log.Warn("this daemon's perf schema", "err", err)
		return
	}
	dump, err := json.Marshal(m.cfg.DaemonInfo("perf_counters"))
	if err != nil {
		m.cfg.Log.Warn("this daemon's perf counters", "err", err)
		return
	}
	values, err := perfstate.ParseDump(dump, types)
	if err != nil {
		m.cfg.Log.Warn("this daemon's perf counters", "err", err)
		return
	}
	m.selfPerf.Update(m.selfName(), types, values, time.Now())
}

// unreadable reports, for a backend that collects the cluster's counters,
// the daemons it cannot collect: an error naming the daemon, or nil.
func (m *Manager) unreadable(pc backend.PerfCounters, svcType, svcID string) error {
	if pc == nil || svcType == "" || svcID == "" || m.isSelf(svcType, svcID) {
		return nil
	}
	switch svcType {
	case "osd", "mon", "mds":
		return nil
	}
	return objectformat.NewErrorResponseCode(fmt.Sprintf(
		"cannot read the performance counters of %s.%s: gomgr reads those of OSDs, monitors, MDSs and this daemon only", svcType, svcID), -int(syscall.EOPNOTSUPP))
}

// perfCollector is the backend's collector of the cluster's counters, or
// nil.
func (m *Manager) perfCollector() backend.PerfCounters {
	pc, _ := m.cfg.Backend.(backend.PerfCounters)
	return pc
}

// perfSchema answers get_perf_schema outside a real mgr: this daemon's
// and the collected daemons' schemas; svcType or svcID "" select any.
func (m *Manager) perfSchema(svcType, svcID string) (map[string]any, error) {
	pc := m.perfCollector()
	if err := m.unreadable(pc, svcType, svcID); err != nil {
		return nil, err
	}
	out := m.selfPerf.Schema(svcType, svcID)
	if pc != nil {
		for k, v := range pc.PerfSchema(svcType, svcID) {
			if k != m.selfName() {
				out[k] = v
			}
		}
	}
	return out, nil
}

// counter answers get_counter (latest false: the stored series, oldest
// first) and get_latest_counter (latest: the newest sample), {path: []}
// when the daemon or the counter is unknown.
func (m *Manager) counter(ctx context.Context, svcType, svcID, path string, latest bool) (map[string]any, error) {
	if ds, ok := m.cfg.Backend.(backend.DaemonState); ok && !m.isSelf(svcType, svcID) {
		if latest {
			return ds.LatestCounter(ctx, svcType, svcID, path)
		}
		return ds.Counter(ctx, svcType, svcID, path)
	}
	pc := m.perfCollector()
	switch {
	case m.isSelf(svcType, svcID):
		if latest {
			return m.selfPerf.Latest(m.selfName(), path), nil
		}
		return m.selfPerf.Series(m.selfName(), path), nil
	case pc != nil:
		if err := m.unreadable(pc, svcType, svcID); err != nil {
			return nil, err
		}
		return pc.CounterSeries(svcType, svcID, path, latest), nil
	}
	return map[string]any{path: []any{}}, nil
}

// pythonPerfServices are the daemon types Python's get_all_perf_counters
// reads by default.
var pythonPerfServices = []string{"mds", "mon", "osd", "rbd-mirror", "rgw", "tcmu-runner"}

// allPerfCounters answers get_all_perf_counters(prio_limit, services) as
// Python computes it: for each daemon list_servers lists whose type is in
// services, its schema's counters of at least prioLimit priority, each
// with its latest "value" (and "count" for an average: value is then the
// sum). Daemons without counters are left out. Inside a real mgr it is
// that mgr's; otherwise it is perfCounters' answer in Python's shape.
func (m *Manager) allPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error) {
	if services == nil {
		services = pythonPerfServices
	}
	if ds, ok := m.cfg.Backend.(backend.DaemonState); ok {
		return ds.AllPerfCounters(ctx, prioLimit, services)
	}
	daemons, err := m.perfCounters(ctx, prioLimit, services)
	if err != nil {
		return nil, err
	}
	return module.PerfCountersToPython(daemons), nil
}

// perfCounters answers module.Handle.PerfCounters: get_all_perf_counters'
// daemons and counters, typed. Inside a real mgr it is the backend's
// (backend.TypedPerfCounters) or that mgr's get_all_perf_counters
// converted; otherwise this daemon's history and the collector's
// (backend.TypedCounterSource, or its Python-shaped answers converted).
func (m *Manager) perfCounters(ctx context.Context, prioLimit int, services []string) ([]module.DaemonPerf, error) {
	if services == nil {
		services = pythonPerfServices
	}
	if tp, ok := m.cfg.Backend.(backend.TypedPerfCounters); ok {
		return tp.PerfCounters(ctx, prioLimit, services)
	}
	if ds, ok := m.cfg.Backend.(backend.DaemonState); ok {
		all, err := ds.AllPerfCounters(ctx, prioLimit, services)
		if err != nil {
			return nil, err
		}
		return module.PerfCountersFromPython(all)
	}
	servers, err := m.listServers(ctx)
	if err != nil {
		return nil, err
	}
	pc := m.perfCollector()
	typed, _ := pc.(backend.TypedCounterSource)
	var out []module.DaemonPerf
	seen := map[string]bool{}
	for _, s := range servers {
		svcs, _ := s["services"].([]any)
		for _, e := range svcs {
			svc, _ := e.(map[string]any)
			typ, _ := svc["type"].(string)
			id := jsonText(svc["id"])
			name := typ + "." + id
			if !slices.Contains(services, typ) || m.unreadable(pc, typ, id) != nil || seen[name] {
				continue
			}
			seen[name] = true
			var counters []module.PerfCounter
			switch {
			case m.isSelf(typ, id):
				counters = m.selfPerf.Counters(nil, m.selfName(), prioLimit)
			case typed != nil:
				counters = typed.LatestCounters(nil, name, prioLimit)
			default:
				if counters, err = m.untypedCounters(ctx, typ, id, prioLimit); err != nil {
					return nil, err
				}
			}
			if len(counters) > 0 {
				out = append(out, module.DaemonPerf{Daemon: name, Counters: counters})
			}
		}
	}
	slices.SortFunc(out, func(a, b module.DaemonPerf) int { return strings.Compare(a.Daemon, b.Daemon) })
	return out, nil
}

// untypedCounters is a daemon's counters of at least prioLimit priority
// from its Python-shaped schema and latest samples (a collector without
// TypedCounterSource).
func (m *Manager) untypedCounters(ctx context.Context, typ, id string, prioLimit int) ([]module.PerfCounter, error) {
	name := typ + "." + id
	schema, err := m.perfSchema(typ, id)
	if err != nil {
		return nil, err
	}
	counters, _ := schema[name].(map[string]any)
	entries := map[string]any{}
	for path, v := range counters {
		info, _ := v.(map[string]any)
		if prio, _ := jsonval.Int(info["priority"]); prio < int64(prioLimit) {
			continue
		}
		c, err := m.counter(ctx, typ, id, path, true)
		if err != nil {
			return nil, err
		}
		entry := maps.Clone(info)
		sample, _ := c[path].([]any)
		tp, _ := jsonval.Int(info["type"])
		switch {
		case tp&perfstate.TypeLongRunAvg != 0 && len(sample) == 3:
			entry["value"], entry["count"] = sample[1], sample[2]
		case len(sample) >= 2:
			entry["value"] = sample[1]
		}
		entries[path] = entry
	}
	if len(entries) == 0 {
		return nil, nil
	}
	daemons, err := module.PerfCountersFromPython(map[string]any{name: entries})
	if err != nil {
		return nil, err
	}
	return daemons[0].Counters, nil
}
