package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// The synthetic clusters of the prometheus scrape comparison (issue 14):
// for N OSDs, everything Pacific's prometheus module and gomgr's read in
// a collection (get() names, list_servers, get_metadata, the perf
// schemas and latest counter values, the daemons' health metrics),
// generated from a seed and written once to a directory both sides load:
// python/promscrape.py (Pacific's module.py against a stand-in mgr) and
// cmd/promscrape (gomgr's module against a stand-in backend, promhost.go).

// PerfSchemas is the perf counter schemas of the synthetic daemons,
// relative to the repository's top: those a Pacific 16.2.15 OSD
// (memstore), monitor and MDS of the loopback cluster report to the mgr
// (priority useful and above, what mgr_stats_threshold lets through),
// captured with `ceph tell <daemon> perf schema`.
const PerfSchemas = "internal/bench/testdata/pacific-perf-schemas.json"

// The files of a synthetic cluster's directory.
const (
	SynthGetFile     = "get.json"         // {name: what get(name) returns; health and mon_status decoded}
	SynthServersFile = "servers.json"     // list_servers
	SynthMetaFile    = "metadata.json"    // {type: {id: get_metadata(type, id)}}
	SynthSchemaFile  = "perf_schema.json" // {type: {path: schema}}: every daemon of a type has its type's
	SynthValuesFile  = "perf_values.json" // {daemon: [latest value, or [sum, count], per path of its schema in sorted order]}
	SynthHealthFile  = "daemon_health.json"
)

// SynthVersion is every synthetic daemon's ceph_version.
const SynthVersion = "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"

// SynthTimestamp is the time stamp of every latest counter sample.
const SynthTimestamp = 1764672000.0

// Synth is a synthetic cluster, as decoded JSON holds it.
type Synth struct {
	OSDs    int
	Get     map[string]any
	Servers []any
	Meta    map[string]map[string]any
	Schema  map[string]map[string]any
	Values  map[string][]any
	Health  map[string]any
}

// SynthSeed is the seed of the benchmark's synthetic clusters.
const SynthSeed = 14

// SynthHosts is how many OSDs a host carries.
const SynthHosts = 10

// synthPools is the number of pools of a cluster of n OSDs.
func synthPools(n int) int { return 4 + n/250 }

// GenerateSynth builds the synthetic cluster of n OSDs from seed (the
// same n and seed, the same cluster): n/10 hosts of 10 OSDs (1% of them
// down and out), 3 monitors, 2 mgrs, a CephFS with an active and a
// standby MDS, 4 + n/250 pools of 32 PGs an OSD... with the perf
// schemas of PerfSchemas (read from top, the repository's top).
func GenerateSynth(top string, n int, seed uint64) (*Synth, error) {
	if n < 1 {
		return nil, fmt.Errorf("a synthetic cluster needs at least one OSD, not %d", n)
	}
	raw, err := os.ReadFile(filepath.Join(top, PerfSchemas))
	if err != nil {
		return nil, fmt.Errorf("perf schemas: %w", err)
	}
	var schemas map[string]map[string]any
	if err := json.Unmarshal(raw, &schemas); err != nil {
		return nil, fmt.Errorf("perf schemas %s: %w", PerfSchemas, err)
	}
	for _, t := range []string{"osd", "mon", "mds"} {
		if len(schemas[t]) == 0 {
			return nil, fmt.Errorf("perf schemas %s: no %s schema", PerfSchemas, t)
		}
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	s := &Synth{OSDs: n, Get: map[string]any{}, Meta: map[string]map[string]any{"osd": {}, "mon": {}, "mgr": {}, "mds": {}},
		Schema: schemas, Values: map[string][]any{}, Health: map[string]any{}}
	hosts := (n + SynthHosts - 1) / SynthHosts
	hostName := func(h int) string { return fmt.Sprintf("node%05d", h) }
	hostIP := func(h int) string { return fmt.Sprintf("10.%d.%d.%d", 1+h/65536, h/256%256, h%256) }
	services := make([][]any, hosts)
	svc := func(h int, typ, id string) {
		services[h] = append(services[h], map[string]any{"type": typ, "id": id, "ceph_version": SynthVersion})
	}

	// Monitors, mgrs, MDSs on the first hosts.
	mons := []string{"a", "b", "c"}
	var monList []any
	for i, id := range mons {
		h := i % hosts
		addr := hostIP(h) + ":6789/0"
		monList = append(monList, map[string]any{"rank": i, "name": id, "public_addr": addr, "addr": addr,
			"public_addrs": map[string]any{"addrvec": []any{map[string]any{"type": "v2", "addr": hostIP(h) + ":3300", "nonce": 0},
				map[string]any{"type": "v1", "addr": hostIP(h) + ":6789", "nonce": 0}}}, "priority": 0, "weight": 0})
		svc(h, "mon", id)
		s.Meta["mon"][id] = daemonMeta(hostName(h), hostIP(h), map[string]any{"addrs": "[v2:" + hostIP(h) + ":3300/0,v1:" + addr + "]", "compression_algorithms": "none, snappy, zlib, zstd, lz4"})
		s.Values["mon."+id] = synthValues(r, schemas["mon"])
		s.Health["mon."+id] = []any{map[string]any{"type": "SLOW_OPS", "value": 0}}
	}
	s.Get["mon_status"] = map[string]any{"name": "a", "rank": 0, "state": "leader", "election_epoch": 12, "quorum": []any{0, 1, 2},
		"quorum_age": 86400, "features": map[string]any{"required_mon": []any{"kraken", "luminous", "mimic", "osdmap-prune", "nautilus", "octopus", "pacific", "elector-pinging"}},
		"outside_quorum": []any{}, "extra_probe_peers": []any{},
		"monmap": map[string]any{"epoch": 3, "fsid": "3b8c8f4e-6a1d-4a55-9d6c-5e2b1c7e9a10", "min_mon_release_name": "pacific", "mons": monList}}
	for i, id := range []string{"x", "y"} {
		h := (i + 1) % hosts
		svc(h, "mgr", id)
		s.Meta["mgr"][id] = daemonMeta(hostName(h), hostIP(h), nil)
	}
	s.Get["mgr_map"] = synthMgrMap()
	mdsIDs := []string{"a", "b"}
	for i, id := range mdsIDs {
		h := (i + 2) % hosts
		svc(h, "mds", id)
		s.Meta["mds"][id] = daemonMeta(hostName(h), hostIP(h), map[string]any{"addr": hostIP(h) + ":6801/1000"})
		s.Values["mds."+id] = synthValues(r, schemas["mds"])
	}

	// OSDs: 10 a host; every hundredth down and out.
	var osds, devices, osdStats []any
	byOSD := map[string]any{}
	pools := synthPools(n)
	pgsPerOSD := 32
	for i := 0; i < n; i++ {
		id := strconv.Itoa(i)
		h := i / SynthHosts
		up, in := 1, 1
		if i%100 == 99 {
			up, in = 0, 0
		}
		port := 6800 + 2*(i%SynthHosts)
		pub := fmt.Sprintf("%s:%d/%d", hostIP(h), port, 1000+i)
		clu := fmt.Sprintf("192.168.%d.%d:%d/%d", h/256%256, h%256, port+1, 1000+i)
		osds = append(osds, map[string]any{"osd": i, "uuid": fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i), "up": up, "in": in,
			"weight": float64(in), "primary_affinity": 1.0, "last_clean_begin": 0, "last_clean_end": 0, "up_from": 10 + i%7, "up_thru": 20 + i%5,
			"down_at": 0, "lost_at": 0, "public_addr": pub, "cluster_addr": clu, "heartbeat_back_addr": clu, "heartbeat_front_addr": pub,
			"state": []any{"exists", map[int]string{0: "down", 1: "up"}[up]}})
		class := "hdd"
		if i%4 == 3 {
			class = "ssd"
		}
		devices = append(devices, map[string]any{"id": i, "name": "osd." + id, "class": class})
		osdStats = append(osdStats, map[string]any{"osd": i, "up_from": 10 + i%7, "seq": 42949673000 + i, "num_pgs": pgsPerOSD,
			"kb": 3907018752, "kb_used": 1000000 + r.IntN(1000000000), "kb_avail": 2000000000,
			"hb_peers": []any{(i + 1) % n, (i + 2) % n}, "snap_trim_queue_len": 0, "num_snap_trimming": 0,
			"perf_stat": map[string]any{"commit_latency_ms": float64(r.IntN(40)), "apply_latency_ms": float64(r.IntN(40)),
				"commit_latency_ns": 0, "apply_latency_ns": 0}})
		byOSD[id] = map[string]any{"active+clean": pgsPerOSD}
		svc(h, "osd", id)
		dev := "sd" + string(rune('b'+i%SynthHosts))
		s.Meta["osd"][id] = daemonMeta(hostName(h), hostIP(h), map[string]any{
			"back_addr": "[v2:" + clu + ",v1:" + clu + "]", "back_iface": "eth1", "front_addr": "[v2:" + pub + ",v1:" + pub + "]", "front_iface": "eth0",
			"hb_back_addr": clu, "hb_front_addr": pub, "osd_data": "/var/lib/ceph/osd/ceph-" + id, "osd_objectstore": "bluestore",
			"bluestore_bdev_dev_node": "/dev/" + dev, "bluestore_bdev_type": map[bool]string{true: "ssd", false: "hdd"}[class == "ssd"],
			"bluestore_bdev_size": "4000787030016", "bluefs": "1", "bluefs_dedicated_db": "0", "bluefs_dedicated_wal": "0",
			"bluefs_single_shared_device": "1", "devices": dev, "device_ids": dev + "=ATA_ST4000NM0035_" + fmt.Sprintf("ZC1%05d", i),
			"default_device_class": class, "rotational": map[bool]string{true: "0", false: "1"}[class == "ssd"], "journal_rotational": "1",
			"osd_fsid": fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i)})
		s.Values["osd."+id] = synthValues(r, schemas["osd"])
		s.Health["osd."+id] = []any{map[string]any{"type": "SLOW_OPS", "value": 0}, map[string]any{"type": "PENDING_CREATING_PGS", "value": 0}}
	}
	for h := 0; h < hosts; h++ {
		s.Servers = append(s.Servers, map[string]any{"hostname": hostName(h), "services": services[h], "ceph_version": SynthVersion})
	}

	// Pools: the first replicated rbd, then CephFS's two, then a mix of
	// replicated and erasure-coded ones.
	var poolList, dfPools, poolStats, dumpStats []any
	byPool := map[string]any{}
	pgsTotal := n * pgsPerOSD / 3
	var totalStored int64
	for p := 1; p <= pools; p++ {
		name := fmt.Sprintf("pool%d", p)
		app := map[string]any{"rbd": map[string]any{}}
		switch p {
		case 1:
			name = "rbd"
		case 2:
			name, app = "cephfs.cephfs.meta", map[string]any{"cephfs": map[string]any{"metadata": "cephfs"}}
		case 3:
			name, app = "cephfs.cephfs.data", map[string]any{"cephfs": map[string]any{"data": "cephfs"}}
		}
		typ, size, profile := 1, 3, ""
		if p > 3 && p%3 == 0 {
			typ, size, profile = 3, 6, "ec42"
		}
		opts := map[string]any{}
		if p%5 == 4 {
			opts["compression_mode"] = "aggressive"
		}
		pgNum := max(8, pgsTotal/pools)
		poolList = append(poolList, map[string]any{"pool": p, "pool_name": name, "type": typ, "size": size, "min_size": size - 1,
			"crush_rule": map[bool]int{true: 1, false: 0}[typ == 3], "pg_num": pgNum, "pg_placement_num": pgNum, "erasure_code_profile": profile,
			"options": opts, "application_metadata": app, "flags_names": "hashpspool"})
		stored := int64(r.IntN(1 << 40))
		totalStored += stored
		objects := stored / 4194304
		dfPools = append(dfPools, map[string]any{"name": name, "id": p, "stats": map[string]any{
			"stored": stored, "stored_data": stored, "stored_omap": 0, "objects": objects, "kb_used": stored * int64(size) / 1024,
			"bytes_used": stored * int64(size), "data_bytes_used": stored * int64(size), "omap_bytes_used": 0,
			"percent_used": float64(r.IntN(1000)) / 1000, "max_avail": int64(1) << 44, "quota_objects": 0, "quota_bytes": 0,
			"dirty": 0, "rd": r.IntN(1 << 30), "rd_bytes": int64(r.IntN(1 << 40)), "wr": r.IntN(1 << 30), "wr_bytes": int64(r.IntN(1 << 40)),
			"compress_bytes_used": 0, "compress_under_bytes": 0, "stored_raw": stored * int64(size), "avail_raw": int64(size) << 44}})
		poolStats = append(poolStats, map[string]any{"pool_name": name, "pool_id": p, "recovery": map[string]any{},
			"recovery_rate": map[string]any{"recovering_objects_per_sec": r.IntN(100), "recovering_bytes_per_sec": r.IntN(1 << 20),
				"recovering_keys_per_sec": 0, "num_objects_recovered": r.IntN(1000), "num_bytes_recovered": r.IntN(1 << 30), "num_keys_recovered": 0},
			"client_io_rate": map[string]any{"read_bytes_sec": r.IntN(1 << 24), "write_bytes_sec": r.IntN(1 << 24), "read_op_per_sec": r.IntN(1000), "write_op_per_sec": r.IntN(1000)}})
		states := map[string]any{"active+clean": pgNum - 3, "active+clean+scrubbing": 1, "active+clean+scrubbing+deep": 1, "active+undersized+degraded": 1}
		byPool[strconv.Itoa(p)] = states
		dumpStats = append(dumpStats, map[string]any{"poolid": p, "num_pg": pgNum, "stat_sum": map[string]any{"num_bytes": stored, "num_objects": objects,
			"num_object_copies": objects * int64(size), "num_objects_degraded": r.IntN(10), "num_objects_misplaced": 0, "num_objects_unfound": 0,
			"num_objects_repaired": r.IntN(3), "num_read": r.IntN(1 << 30), "num_write": r.IntN(1 << 30)}})
	}
	flags := "sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit"
	if n >= 1000 {
		flags += ",noscrub"
	}
	s.Get["osd_map"] = map[string]any{"epoch": 1000 + n, "fsid": "3b8c8f4e-6a1d-4a55-9d6c-5e2b1c7e9a10", "flags": flags, "flags_num": 5799936,
		"crush_version": 7, "full_ratio": 0.95, "backfillfull_ratio": 0.9, "nearfull_ratio": 0.85, "require_osd_release": "pacific",
		"max_osd": n, "pools": poolList, "osds": osds, "osd_xinfo": []any{}, "pg_upmap": []any{}, "pg_upmap_items": []any{},
		"pg_temp": []any{}, "primary_temp": []any{}, "blocklist": map[string]any{},
		"erasure_code_profiles": map[string]any{"default": map[string]any{"k": "2", "m": "2", "plugin": "jerasure", "technique": "reed_sol_van"},
			"ec42": map[string]any{"k": "4", "m": "2", "plugin": "jerasure", "technique": "reed_sol_van", "crush-failure-domain": "host"}}}
	s.Get["osd_map_crush"] = map[string]any{"devices": devices, "types": []any{map[string]any{"type_id": 0, "name": "osd"}, map[string]any{"type_id": 1, "name": "host"}},
		"buckets": []any{}, "rules": []any{}, "tunables": map[string]any{"profile": "jewel"}, "choose_args": map[string]any{}}
	rawBytes := int64(n) * 4000787030016
	s.Get["df"] = map[string]any{"stats": map[string]any{"total_bytes": rawBytes, "total_avail_bytes": rawBytes - 3*totalStored, "total_used_bytes": 3 * totalStored,
		"total_used_raw_bytes": 3*totalStored + int64(n)<<30, "total_used_raw_ratio": float64(3*totalStored) / float64(rawBytes), "num_osds": n, "num_per_pool_osds": n,
		"num_per_pool_omap_osds": n}, "stats_by_class": map[string]any{}, "pools": dfPools}
	s.Get["osd_pool_stats"] = map[string]any{"pool_stats": poolStats}
	s.Get["osd_stats"] = map[string]any{"osd_stats": osdStats, "pool_stats": []any{}}
	s.Get["pg_summary"] = map[string]any{"by_osd": byOSD, "by_pool": byPool, "all": map[string]any{"active+clean": pgsTotal},
		"pg_stats_sum": map[string]any{"stat_sum": map[string]any{"num_objects_degraded": 12, "num_objects_misplaced": 3, "num_objects_unfound": 0,
			"num_objects": totalStored / 4194304, "num_bytes": totalStored}}}
	s.Get["pg_dump"] = map[string]any{"pg_ready": true, "pool_stats": dumpStats}
	down := n / 100
	checks := map[string]any{
		"SLOW_OPS": map[string]any{"severity": "HEALTH_WARN", "summary": map[string]any{"message": "12 slow ops, oldest one blocked for 31 sec, daemons [osd.3,osd.7] have slow ops.", "count": 12}, "muted": false}}
	if down > 0 {
		checks["OSD_DOWN"] = map[string]any{"severity": "HEALTH_WARN", "summary": map[string]any{"message": fmt.Sprintf("%d osds down", down), "count": down}, "muted": false}
	}
	s.Get["health"] = map[string]any{"status": "HEALTH_WARN", "checks": checks, "mutes": []any{}}
	s.Get["fs_map"] = map[string]any{"epoch": 9, "default_fscid": 1, "feature_flags": map[string]any{"enable_multiple": true, "ever_enabled_multiple": false},
		"standbys": []any{map[string]any{"gid": 4200, "name": "b", "rank": -1, "incarnation": 0, "state": "up:standby", "state_seq": 1,
			"addr": hostIP(3%hosts) + ":6801/1001", "join_fscid": -1, "export_targets": []any{}, "features": 4540138297136906239}},
		"filesystems": []any{map[string]any{"id": 1, "mdsmap": map[string]any{"epoch": 8, "fs_name": "cephfs", "metadata_pool": 2, "data_pools": []any{3},
			"max_mds": 1, "in": []any{0}, "up": map[string]any{"mds_0": 4100}, "failed": []any{}, "damaged": []any{}, "stopped": []any{},
			"info": map[string]any{"gid_4100": map[string]any{"gid": 4100, "name": "a", "rank": 0, "incarnation": 5, "state": "up:active", "state_seq": 3,
				"addr": hostIP(2%hosts) + ":6801/1000", "join_fscid": -1, "export_targets": []any{}, "features": 4540138297136906239}}}}}}
	return s, nil
}

// daemonMeta is a daemon's metadata: the fields every daemon reports,
// with extra ones.
func daemonMeta(host, ip string, extra map[string]any) map[string]any {
	m := map[string]any{"arch": "x86_64", "ceph_release": "pacific", "ceph_version": SynthVersion,
		"ceph_version_short": "16.2.15", "cpu": "AMD EPYC 7B13 64-Core Processor", "distro": "debian", "distro_description": "Debian GNU/Linux 12 (bookworm)",
		"distro_version": "12", "hostname": host, "kernel_description": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)",
		"kernel_version": "6.1.0-27-amd64", "mem_swap_kb": "0", "mem_total_kb": "263858404", "os": "Linux", "container_hostname": host,
		"addr": ip}
	maps.Copy(m, extra)
	return m
}

// synthMgrMap is the mgr map: x active, y standby, Pacific's modules.
func synthMgrMap() map[string]any {
	var avail []any
	for _, name := range []string{"alerts", "balancer", "cephadm", "crash", "dashboard", "devicehealth", "diskprediction_local",
		"influx", "insights", "iostat", "k8sevents", "localpool", "mds_autoscaler", "mirroring", "nfs", "orchestrator", "osd_perf_query",
		"osd_support", "pg_autoscaler", "progress", "prometheus", "rbd_support", "restful", "rook", "selftest", "snap_schedule", "stats",
		"status", "telegraf", "telemetry", "test_orchestrator", "volumes", "zabbix"} {
		avail = append(avail, map[string]any{"name": name, "can_run": name != "k8sevents" && name != "rook", "error_string": "", "module_options": map[string]any{}})
	}
	return map[string]any{"epoch": 30, "active_gid": 4111, "active_name": "x", "active_addrs": map[string]any{}, "available": true,
		"standbys":          []any{map[string]any{"gid": 4122, "name": "y", "available_modules": []any{}}},
		"modules":           []any{"iostat", "nfs", "prometheus", "restful"},
		"available_modules": avail,
		"always_on_modules": map[string]any{"pacific": []any{"balancer", "crash", "devicehealth", "orchestrator", "pg_autoscaler", "progress",
			"rbd_support", "status", "telemetry", "volumes"}, "octopus": []any{"balancer", "crash"}},
		"services": map[string]any{"prometheus": "http://10.1.0.1:9283/"}}
}

// synthValues is one daemon's latest counter values, in schema's sorted
// path order: a long-running average's [sum, count], a time counter's
// nanoseconds, other counters' and gauges' values.
func synthValues(r *rand.Rand, schema map[string]any) []any {
	paths := slices.Sorted(maps.Keys(schema))
	out := make([]any, len(paths))
	for i, p := range paths {
		info, _ := schema[p].(map[string]any)
		t, _ := info["type"].(float64)
		typ := int(t)
		scale := 1 << 30
		if typ&1 != 0 { // time: nanoseconds
			scale = 1 << 40
		}
		if typ&4 != 0 { // long-running average
			count := r.IntN(1 << 24)
			out[i] = []any{int64(count) * int64(1+r.IntN(scale>>20)), count}
			continue
		}
		out[i] = r.IntN(scale)
	}
	return out
}

// Write writes the cluster's files into dir (which must exist).
func (s *Synth) Write(dir string) error {
	for name, v := range map[string]any{SynthGetFile: s.Get, SynthServersFile: s.Servers, SynthMetaFile: s.Meta,
		SynthSchemaFile: s.Schema, SynthValuesFile: s.Values, SynthHealthFile: s.Health} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("synthetic cluster %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("synthetic cluster: %w", err)
		}
	}
	return nil
}

// SynthFromSnapshot is the cluster pybench's `pybench snapshot` command
// read from a real mgr (its JSON reply): what both prometheus modules
// read of that cluster, in a Synth's form.
func SynthFromSnapshot(reply []byte) (*Synth, error) {
	var snap struct {
		Get     map[string]any            `json:"get"`
		Servers []any                     `json:"servers"`
		Meta    map[string]map[string]any `json:"meta"`
		Schema  map[string]map[string]any `json:"schema"`
		Values  map[string][]any          `json:"values"`
		Health  map[string]any            `json:"health"`
	}
	if err := json.Unmarshal(reply, &snap); err != nil {
		return nil, fmt.Errorf("pybench snapshot: %w", err)
	}
	if len(snap.Meta["osd"]) == 0 || snap.Get["osd_map"] == nil || len(snap.Servers) == 0 {
		return nil, fmt.Errorf("pybench snapshot: no OSDs")
	}
	return &Synth{OSDs: len(snap.Meta["osd"]), Get: snap.Get, Servers: snap.Servers, Meta: snap.Meta, Schema: snap.Schema, Values: snap.Values, Health: snap.Health}, nil
}

// LoadSynth reads a synthetic cluster's files from dir, as decoded JSON
// (numbers float64).
func LoadSynth(dir string) (*Synth, error) {
	s := &Synth{}
	for name, v := range map[string]any{SynthGetFile: &s.Get, SynthServersFile: &s.Servers, SynthMetaFile: &s.Meta,
		SynthSchemaFile: &s.Schema, SynthValuesFile: &s.Values, SynthHealthFile: &s.Health} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("synthetic cluster: %w", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("synthetic cluster %s: %w", name, err)
		}
	}
	s.OSDs = len(s.Meta["osd"])
	if s.OSDs == 0 || s.Get["osd_map"] == nil || len(s.Servers) == 0 {
		return nil, fmt.Errorf("synthetic cluster in %s: no OSDs", dir)
	}
	return s, nil
}
