package prometheus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
)

// healthNumber is Pacific's health_status_to_number.
func healthNumber(status string) (float64, error) {
	switch status {
	case "HEALTH_OK":
		return 0, nil
	case "HEALTH_WARN":
		return 1, nil
	case "HEALTH_ERR":
		return 2, nil
	}
	return 0, fmt.Errorf("unknown status %q", status)
}

// collect is one collection, Pacific's collect: the samples (gather),
// then their text, held whole (for the cache).
func (m *Module) collect(ctx context.Context) ([]byte, error) {
	s, start, err := m.gather(ctx)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(s.sizeHint.text + s.sizeHint.text/8)
	if err := m.write(&out, s, start); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// gather is a collection's samples: every collector in Pacific's order
// (timed under Pacific's method names, but for those Pacific does not
// time), then the collection durations; and when it started.
func (m *Module) gather(ctx context.Context) (*scrape, time.Time, error) {
	m.durMu.Lock()
	s := newScrapeSized(m.lastSize)
	m.durMu.Unlock()
	s.memo = &m.memo
	start := time.Now()
	if err := s.prefetch(ctx, m.mgr, scrapeGets(m.mgr.ReleaseName())); err != nil {
		return nil, start, err
	}
	for _, c := range []struct {
		method string
		fn     func(context.Context, *scrape) error
	}{
		{"get_health", m.getHealth},
		{"get_df", m.getDF},
		{"get_pool_stats", m.getPoolStats},
		{"get_fs", m.getFS},
		{"get_osd_stats", m.getOSDStats},
		{"get_quorum_status", m.getQuorumStatus},
		{"get_mgr_status", m.getMgrStatus},
		{"get_metadata_and_osd_status", m.getMetadataAndOSDStatus},
		{"get_pg_status", m.getPGStatus},
		{"", m.getPoolRepairedObjects},
		{"get_num_objects", m.getNumObjects},
		{"", m.getDaemonHealthMetrics},
	} {
		var err error
		if c.method == "" { // Pacific does not time these
			err = c.fn(ctx, s)
		} else {
			err = m.timed(ctx, s, c.method, c.fn)
		}
		if err != nil {
			return nil, start, err
		}
	}
	// Pacific does not time this part.
	if err := m.getPerfCounters(ctx, s); err != nil {
		return nil, start, err
	}
	if err := m.getRBDStats(ctx, s); err != nil {
		return nil, start, err
	}
	// As Pacific's, the durations are those of the collections before
	// this one's end: collect itself appears from the second on.
	m.durMu.Lock()
	for method, sum := range m.durSum {
		s.set("prometheus_collect_duration_seconds_sum", sum, method)
		s.set("prometheus_collect_duration_seconds_count", m.durCount[method], method)
	}
	m.durMu.Unlock()
	return s, start, nil
}

// write writes a gathered collection's text to w. Its time counts in
// the collection's, as in Pacific's collect, which returns the text;
// the next collection is sized by this one.
func (m *Module) write(w io.Writer, s *scrape, start time.Time) error {
	n, err := s.writeTo(w)
	m.durMu.Lock()
	m.lastSize = s.hint(int(n))
	m.durSum["collect"] += time.Since(start).Seconds()
	m.durCount["collect"]++
	m.durMu.Unlock()
	return err
}

func (m *Module) getHealth(ctx context.Context, s *scrape) error {
	health, err := s.getJSON(ctx, m.mgr, "health")
	if err != nil {
		return err
	}
	if err := m.healthSamples(s, health); err != nil {
		return err
	}
	if err := m.history.save(ctx, m.mgr); err != nil {
		// As a failed set_store would not fail Pacific's scrape
		// either; the next change saves it again.
		m.logError("failed to store the health check history", "err", err)
	}
	return nil
}

// healthSamples is getHealth's part after get("health"): the status, the
// SLOW_OPS count and the history of the checks seen (health_detail).
func (m *Module) healthSamples(s *scrape, health map[string]any) error {
	status, _ := health["status"].(string)
	if status == "" {
		return fmt.Errorf("the health has no status")
	}
	n, err := healthNumber(status)
	if err != nil {
		return err
	}
	s.set("health_status", n)
	checks := asMap(health["checks"])
	if c, ok := checks["SLOW_OPS"]; ok {
		// "42 slow ops, oldest one blocked for 12 sec, ..."
		msg := asString(asMap(asMap(c)["summary"])["message"])
		word, _, _ := strings.Cut(msg, " ")
		if v, err := strconv.ParseUint(word, 10, 64); err == nil {
			s.set("healthcheck_slow_ops", float64(v))
		} else {
			m.logError("healthcheck SLOW_OPS message format is incompatible and has been dropped")
		}
	} else {
		s.set("healthcheck_slow_ops", 0)
	}
	m.history.check(checks)
	m.history.detail(func(name, severity string, active bool) {
		v := 0.0
		if active {
			v = 1
		}
		s.set("health_detail", v, name, severity)
	})
	return nil
}

func (m *Module) getDF(ctx context.Context, s *scrape) error {
	df, err := s.getMap(ctx, m.mgr, "df")
	if err != nil {
		return err
	}
	stats := asMap(df["stats"])
	for _, stat := range dfCluster {
		if v, ok := stats[stat]; ok {
			s.set("cluster_"+stat, asFloat(v))
		}
	}
	fams := familiesOf("pool_", dfPool)
	for _, p := range asList(df["pools"]) {
		pool := asMap(p)
		id := []string{asString(pool["id"])}
		ps := asMap(pool["stats"])
		for i, stat := range dfPool {
			if v, ok := ps[stat]; ok {
				s.add(fams[i], asFloat(v), id)
			}
		}
	}
	return nil
}

func (m *Module) getPoolStats(ctx context.Context, s *scrape) error {
	ps, err := s.getMap(ctx, m.mgr, "osd_pool_stats")
	if err != nil {
		return err
	}
	fams := familiesOf("pool_", osdPoolStats)
	for _, p := range asList(ps["pool_stats"]) {
		pool := asMap(p)
		rate := asMap(pool["recovery_rate"])
		id := []string{asString(pool["pool_id"])}
		for i, stat := range osdPoolStats {
			s.add(fams[i], asFloat(rate[stat]), id)
		}
	}
	return nil
}

func (m *Module) getOSDStats(ctx context.Context, s *scrape) error {
	st, err := s.getMap(ctx, m.mgr, "osd_stats")
	if err != nil {
		return err
	}
	fams := familiesOf("osd_", osdStats)
	for _, o := range asList(st["osd_stats"]) {
		osd := asMap(o)
		perf := asMap(osd["perf_stat"])
		daemon := []string{"osd." + asString(osd["osd"])}
		for i, stat := range osdStats {
			s.add(fams[i], asFloat(perf[stat]), daemon)
		}
	}
	return nil
}

// addrHost is Pacific's addr.rsplit(':', 1)[0].
func addrHost(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func (m *Module) getQuorumStatus(ctx context.Context, s *scrape) error {
	ms, err := s.getJSON(ctx, m.mgr, "mon_status")
	if err != nil {
		return err
	}
	servers, err := s.serviceList(ctx, m.mgr)
	if err != nil {
		return err
	}
	quorum := map[string]bool{}
	for _, r := range asList(ms["quorum"]) {
		quorum[asString(r)] = true
	}
	for _, mo := range asList(asMap(ms["monmap"])["mons"]) {
		mon := asMap(mo)
		id, rank := asString(mon["name"]), asString(mon["rank"])
		svc := servers[serviceKey{id, "mon"}]
		s.set("mon_metadata", 1, "mon."+id, svc.host, addrHost(asString(mon["public_addr"])), rank, svc.version)
		in := 0.0
		if quorum[rank] {
			in = 1
		}
		s.set("mon_quorum_status", in, "mon."+id)
	}
	return nil
}

// mgrStatusFields are the parts of the mgr map getMgrStatus reads (of
// its 100 KB, most is the description of every module's options).
func mgrStatusFields(release string) module.Fields {
	return module.Fields{
		"active_name":       nil,
		"standbys":          {"name": nil},
		"always_on_modules": {release: nil},
		"modules":           nil,
		"available_modules": {"name": nil, "can_run": nil},
	}
}

func (m *Module) getMgrStatus(ctx context.Context, s *scrape) error {
	mm, err := s.getMapFields(ctx, m.mgr, "mgr_map", mgrStatusFields(m.mgr.ReleaseName()))
	if err != nil {
		return err
	}
	servers, err := s.serviceList(ctx, m.mgr)
	if err != nil {
		return err
	}
	mgrStatusSamples(s, mm, servers, m.mgr.ReleaseName())
	return nil
}

// mgrStatusSamples is getMgrStatus's part after its get()s.
func mgrStatusSamples(s *scrape, mm map[string]any, servers map[serviceKey]service, release string) {
	active := asString(mm["active_name"])
	var mgrs []string
	for _, sb := range asList(mm["standbys"]) {
		mgrs = append(mgrs, asString(asMap(sb)["name"]))
	}
	mgrs = append(mgrs, active)
	for _, name := range mgrs {
		svc := servers[serviceKey{name, "mgr"}]
		state := 0.0
		if name == active {
			state = 1
		}
		s.set("mgr_metadata", 1, "mgr."+name, svc.host, svc.version)
		s.set("mgr_status", state, "mgr."+name)
	}
	alwaysOn := map[string]bool{}
	for _, n := range asList(asMap(mm["always_on_modules"])[release]) {
		alwaysOn[asString(n)] = true
	}
	enabled := map[string]bool{}
	for _, n := range asList(mm["modules"]) {
		enabled[asString(n)] = true
	}
	for _, am := range asList(mm["available_modules"]) {
		mod := asMap(am)
		name := asString(mod["name"])
		state := 0.0
		switch {
		case alwaysOn[name]:
			state = 2
		case enabled[name]:
			state = 1
		}
		canRun := 0.0
		if b, _ := mod["can_run"].(bool); b {
			canRun = 1
		}
		s.set("mgr_module_status", state, name)
		s.set("mgr_module_can_run", canRun, name)
	}
}

func (m *Module) getMetadataAndOSDStatus(ctx context.Context, s *scrape) error {
	om, err := s.getMap(ctx, m.mgr, "osd_map")
	if err != nil {
		return err
	}
	flags := map[string]bool{}
	for _, f := range strings.Split(asString(om["flags"]), ",") {
		flags[f] = true
	}
	for _, f := range osdFlags {
		v := 0.0
		if flags[f] {
			v = 1
		}
		s.set("osd_flag_"+f, v)
	}
	crush, err := s.getMap(ctx, m.mgr, "osd_map_crush")
	if err != nil {
		return err
	}
	classes := map[string]string{}
	for _, d := range asList(crush["devices"]) {
		dev := asMap(d)
		classes[asString(dev["id"])] = asString(dev["class"])
	}
	servers, err := s.serviceList(ctx, m.mgr)
	if err != nil {
		return err
	}
	// Every OSD's metadata in one get (Pacific asks get_metadata an OSD:
	// inside a real mgr a round trip each through the bridge, attached a
	// monitor command each); an OSD it lacks is asked for alone.
	all, err := s.getMap(ctx, m.mgr, "osd_metadata")
	if err != nil {
		all = nil
	}
	if err := m.osdSamples(s, om, classes, servers, func(id string) (map[string]any, error) {
		if md, ok := all[id].(map[string]any); ok {
			return md, nil
		}
		return m.mgr.GetMetadata(ctx, "osd", id)
	}); err != nil {
		return err
	}
	return serviceSamples(s, servers, func(typ, id string) (map[string]any, error) {
		return m.mgr.GetMetadata(ctx, typ, id)
	})
}

// osdSamples is getMetadataAndOSDStatus' part after its get()s: OSD
// metadata, status and disk occupation, pool metadata; metadata reads
// one OSD's.
func (m *Module) osdSamples(s *scrape, om map[string]any, classes map[string]string, servers map[serviceKey]service,
	metadata func(id string) (map[string]any, error)) error {
	// In the order of their daemon names, the order of the text: the
	// writer then finds each OSD family's samples sorted (stable: an
	// OSD listed twice keeps its last entry, as Pacific's dict does).
	type osdEntry struct {
		id  string
		osd map[string]any
	}
	osds := asList(om["osds"])
	entries := make([]osdEntry, 0, len(osds))
	for _, o := range osds {
		osd := asMap(o)
		entries = append(entries, osdEntry{asString(osd["osd"]), osd})
	}
	slices.SortStableFunc(entries, func(a, b osdEntry) int { return strings.Compare(a.id, b.id) })
	statusFams := familiesOf("osd_", osdStatus[:])
	metadataFam, occupationFam := families["osd_metadata"], families["disk_occupation"]
	for _, e := range entries {
		osd, id := e.osd, e.id
		pAddr, cAddr := addrHost(asString(osd["public_addr"])), addrHost(asString(osd["cluster_addr"]))
		if pAddr == "-" || cAddr == "-" {
			m.logInfo("Missing address metadata for osd, skipping occupation and metadata records for this osd", "osd", id)
			continue
		}
		class, ok := classes[id]
		if !ok {
			m.logInfo("OSD is missing from CRUSH map, skipping output", "osd", id)
			continue
		}
		meta, err := metadata(id)
		if err != nil {
			return fmt.Errorf("osd.%s metadata: %w", id, err)
		}
		if meta == nil {
			continue
		}
		svc := servers[serviceKey{id, "osd"}]
		daemon := "osd." + id
		s.add(metadataFam, 1, []string{asString(meta["back_iface"]), daemon, cAddr, class,
			asString(meta["front_iface"]), svc.host, asString(meta["osd_objectstore"]), pAddr, svc.version})
		daemonLabel := []string{daemon}
		for i, st := range osdStatus {
			s.add(statusFams[i], asFloat(osd[st]), daemonLabel)
		}
		if !diskOccupation(s, occupationFam, daemon, meta) {
			m.logInfo("Missing dev node metadata for osd, skipping occupation record for this osd", "osd", id)
		}
	}
	diskOccupationHuman(s)
	profiles := asMap(om["erasure_code_profiles"])
	for _, p := range asList(om["pools"]) {
		pool := asMap(p)
		typ, desc := "unknown", "unknown"
		switch asFloat(pool["type"]) {
		case 1:
			typ, desc = "replicated", "replica:"+asString(pool["size"])
		case 3:
			typ, desc = "erasure", "ec:unknown"
			if prof := asMap(profiles[asString(pool["erasure_code_profile"])]); len(prof) > 0 {
				desc = "ec:" + asString(prof["k"]) + "+" + asString(prof["m"])
			}
		}
		comp := "none"
		if opts, ok := pool["options"].(map[string]any); ok {
			if c, ok := opts["compression_mode"]; ok {
				comp = asString(c)
			}
		}
		s.set("pool_metadata", 1, asString(pool["pool"]), asString(pool["pool_name"]), typ, desc, comp)
	}
	return nil
}

// pgCounted are the states getPGStatus counts (mgr_module.PG_STATES),
// then "total"; pgCountedAt is their positions and pgFamilies their
// families.
var (
	pgCounted   = append(slices.Clone(pgStates), "total")
	pgCountedAt = func() map[string]int {
		at := make(map[string]int, len(pgCounted))
		for i, st := range pgCounted {
			at[st] = i
		}
		return at
	}()
	pgFamilies = familiesOf("pg_", pgCounted)
)

func (m *Module) getPGStatus(ctx context.Context, s *scrape) error {
	sum, err := s.getMap(ctx, m.mgr, "pg_summary")
	if err != nil {
		return err
	}
	total := pgCountedAt["total"]
	num := make([]float64, len(pgCounted))
	var unknown []string
	for pool, byState := range asMap(sum["by_pool"]) {
		clear(num)
		unknown = unknown[:0]
		for name, c := range asMap(byState) {
			n := asFloat(c)
			for st := range strings.SplitSeq(name, "+") {
				if i, ok := pgCountedAt[st]; ok {
					num[i] += n
				} else if !slices.Contains(unknown, st) {
					unknown = append(unknown, st)
				}
			}
			num[total] += n
		}
		for _, st := range unknown {
			m.logWarn("skipping pg in unknown state " + st)
		}
		labels := []string{pool}
		for i, f := range pgFamilies {
			if i == total && len(asMap(byState)) == 0 {
				continue // as Pacific's: no state counted, no total
			}
			s.add(f, num[i], labels)
		}
	}
	return nil
}

func (m *Module) getNumObjects(ctx context.Context, s *scrape) error {
	sum, err := s.getMap(ctx, m.mgr, "pg_summary")
	if err != nil {
		return err
	}
	stat := asMap(asMap(sum["pg_stats_sum"])["stat_sum"])
	for _, o := range numObjects {
		if v, ok := stat["num_objects_"+o]; ok {
			s.set("num_objects_"+o, asFloat(v))
		}
	}
	return nil
}
