package clusterbackend

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/module"
)

// This file collects the perf counters of the cluster's OSDs, monitors
// and MDSs, as the real mgr receives them in its daemons' reports: every
// mgr_stats_period each daemon's `perf dump` (its `perf schema` and `perf
// histogram schema` when first seen, when its dump has a counter the
// schema has not, and every schemaRefresh) goes
// into a perfstate.History, the counters of at least mgr_stats_threshold
// priority. OSDs are asked while the OSD map has them up; a daemon that
// leaves the OSD, mon or FS map is forgotten (the real mgr culls its
// state then too), one that is down keeps its history. Monitors and MDSs
// are asked by name (the connection must reach them: cephconn.MonTargeter,
// cephconn.MDSCommander). librados reaches the active mgr only without
// naming it, so no mgr's counters are collected.

// schemaRefresh is how often a daemon's schema is read again (its
// counters can change when it restarts).
const schemaRefresh = time.Minute

// perfCollector is the Backend's collected counters.
type perfCollector struct {
	hist perfstate.History
	// schemas are the daemons' declared counters, by daemon name (only
	// perfLoop uses them).
	schemas map[string]*daemonSchema
}

type daemonSchema struct {
	types     map[string]perfstate.Type
	all       map[string]bool // every counter of the schema, any priority
	threshold int64
	read      time.Time
}

var _ backend.PerfCounters = (*Backend)(nil)

// PerfSchema implements backend.PerfCounters.
func (b *Backend) PerfSchema(svcType, svcID string) map[string]any {
	return b.perf.hist.Schema(svcType, svcID)
}

// CounterSeries implements backend.PerfCounters.
func (b *Backend) CounterSeries(svcType, svcID, path string, latest bool) map[string]any {
	if latest {
		return b.perf.hist.Latest(svcType+"."+svcID, path)
	}
	return b.perf.hist.Series(svcType+"."+svcID, path)
}

var _ backend.TypedCounterSource = (*Backend)(nil)

// LatestCounters implements backend.TypedCounterSource.
func (b *Backend) LatestCounters(dst []module.PerfCounter, daemon string, prioLimit int) []module.PerfCounter {
	return b.perf.hist.Counters(dst, daemon, prioLimit)
}

// statsSource is this daemon's Ceph option values (mgr_stats_period and
// mgr_stats_threshold): the configuration database, then ceph.conf, then
// Ceph's defaults.
func (b *Backend) statsSource() cephopts.Source {
	return cephopts.Source{Daemon: cephopts.Daemon{Type: "mgr", ID: b.opts.ID, Host: b.opts.Hostname},
		Central: b.config.Get, Conf: b.opts.Conf}
}

// perfLoop collects the counters until Close.
func (b *Backend) perfLoop() {
	defer close(b.perfDone)
	ctx, cancel := b.stopContext()
	defer cancel()
	for {
		if b.connected.Load() {
			b.collectPerf(ctx)
		}
		period := b.opts.PerfPeriod
		if period == 0 {
			period = time.Duration(b.statsSource().Int("mgr_stats_period", 5)) * time.Second
		}
		if period <= 0 {
			period = 5 * time.Second
		}
		select {
		case <-b.stop:
			return
		case <-time.After(period):
		}
	}
}

// perfDaemon is a daemon whose counters are collected.
type perfDaemon struct {
	name   string
	target module.Target
}

// perfDaemons lists the daemons to collect (the up OSDs, the monitors
// and the MDSs) and those the maps have (to keep their history).
func (b *Backend) perfDaemons(ctx context.Context) (ask []perfDaemon, known map[string]bool, err error) {
	known = map[string]bool{}
	add := func(typ, id string, up bool) {
		name := typ + "." + id
		known[name] = true
		if up {
			ask = append(ask, perfDaemon{name: name, target: module.Target{Type: typ, ID: id}})
		}
	}
	osdMap, err := b.cluster.Get(ctx, "osd_map")
	if err != nil {
		return nil, nil, fmt.Errorf("the OSD map: %w", err)
	}
	osds, _ := asMap(osdMap)["osds"].([]any)
	for _, e := range osds {
		o := asMap(e)
		if id, ok := jsonval.Int(o["osd"]); ok {
			up, _ := jsonval.Int(o["up"])
			add("osd", strconv.FormatInt(id, 10), up == 1)
		}
	}
	monMap, err := b.cluster.Get(ctx, "mon_map")
	if err != nil {
		return nil, nil, fmt.Errorf("the mon map: %w", err)
	}
	mons, _ := asMap(monMap)["mons"].([]any)
	for _, e := range mons {
		if mon, _ := asMap(e)["name"].(string); mon != "" {
			add("mon", mon, true)
		}
	}
	fsMap, err := b.cluster.Get(ctx, "fs_map")
	if err != nil {
		b.log.Debug("perf counters: the FS map", "err", err)
		for _, name := range b.perf.hist.Daemons() { // keep the MDSs' history meanwhile
			if strings.HasPrefix(name, "mds.") {
				known[name] = true
			}
		}
		return ask, known, nil
	}
	for _, name := range mdsNames(fsMap) {
		add("mds", name, true)
	}
	return ask, known, nil
}

// mdsNames are the names of the MDSs of an FS map (`fs dump`): those of
// each file system's MDS map and the standbys.
func mdsNames(fsMap any) []string {
	var names []string
	addInfo := func(info any) {
		if name, _ := asMap(info)["name"].(string); name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	filesystems, _ := asMap(fsMap)["filesystems"].([]any)
	for _, f := range filesystems {
		for _, info := range asMap(asMap(asMap(f)["mdsmap"])["info"]) {
			addInfo(info)
		}
	}
	standbys, _ := asMap(fsMap)["standbys"].([]any)
	for _, info := range standbys {
		addInfo(info)
	}
	slices.Sort(names)
	return names
}

// collectPerf runs one round: every daemon's counters, one after
// another, each command within OpTimeout.
func (b *Backend) collectPerf(ctx context.Context) {
	daemons, known, err := b.perfDaemons(ctx)
	if err != nil {
		b.log.Debug("perf counters: list the daemons", "err", err)
		return
	}
	for _, name := range b.perf.hist.Daemons() {
		if !known[name] {
			b.perf.hist.Forget(name)
		}
	}
	for name := range b.perf.schemas {
		if !known[name] {
			delete(b.perf.schemas, name)
		}
	}
	threshold := b.statsSource().Int("mgr_stats_threshold", perfstate.DefaultThreshold)
	for _, d := range daemons {
		if ctx.Err() != nil {
			return
		}
		if err := b.collectDaemon(ctx, d, threshold); err != nil {
			b.log.Debug("perf counters", "daemon", d.name, "err", err)
		}
	}
}

// collectDaemon records one report of a daemon.
func (b *Backend) collectDaemon(ctx context.Context, d perfDaemon, threshold int64) error {
	ask := func(prefix string) ([]byte, error) {
		cctx, cancel := context.WithTimeout(ctx, b.opts.OpTimeout)
		defer cancel()
		res := b.cluster.Command(cctx, d.target, map[string]any{"prefix": prefix, "format": "json"}, nil)
		if res.Retval != 0 {
			return nil, fmt.Errorf("%s: %w", prefix, res.Err())
		}
		return res.Stdout, nil
	}
	s := b.perf.schemas[d.name]
	if s == nil || s.threshold != threshold || time.Since(s.read) >= schemaRefresh {
		schema, err := ask("perf schema")
		if err != nil {
			return err
		}
		outputs := [][]byte{schema}
		if hist, err := ask("perf histogram schema"); err == nil {
			outputs = append(outputs, hist)
		}
		types, err := perfstate.ParseSchema(threshold, outputs...)
		if err != nil {
			return err
		}
		all, err := perfstate.Paths(schema)
		if err != nil {
			return err
		}
		s = &daemonSchema{types: types, all: all, threshold: threshold, read: time.Now()}
		if b.perf.schemas == nil {
			b.perf.schemas = map[string]*daemonSchema{}
		}
		b.perf.schemas[d.name] = s
	}
	dump, err := ask("perf dump")
	if err != nil {
		return err
	}
	values, err := perfstate.ParseDump(dump, s.types)
	if err != nil {
		return err
	}
	b.perf.hist.Update(d.name, s.types, values, time.Now())
	// A counter the schema does not have: the daemon added some (an MDS
	// that became active), which it declares to a mgr in its next report;
	// read the schema again next round.
	if paths, err := perfstate.Paths(dump); err == nil {
		for p := range paths {
			if !s.all[p] {
				s.read = time.Time{}
				break
			}
		}
	}
	return nil
}
