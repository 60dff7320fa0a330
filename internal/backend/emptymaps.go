package backend

import (
	"net"
	"strings"
)

// EmptyClusterMap is what Python's get(name) gives for a cluster with no
// daemons, for backends without one (the embedded store, MemoryBackend):
// empty, well-formed skeletons of the cluster maps, with the top-level
// members Python's get(name) has, each map marked "gomgr_embedded": true,
// so modules can read them without special cases and can tell they
// describe no real cluster. Names the real mgr accepts by prefix answer as
// there: any other "osd_map..." or "config..." name and "device <id>" give
// an empty dict. It is nil for names the real mgr does not know, and for
// "health" and "mgr_map", which the module runtime answers ("config" and
// "config_options" too: see internal/modhost).
func EmptyClusterMap(name, fsid string) any {
	mark := func(m map[string]any) map[string]any {
		m["gomgr_embedded"] = true
		return m
	}
	list := func(k string) map[string]any { return map[string]any{k: []any{}} }
	switch name {
	case "osd_map":
		return mark(map[string]any{
			"epoch": 0, "fsid": fsid, "flags": "", "crush_version": 0, "max_osd": 0, "pool_max": -1,
			"osds": []any{}, "osd_xinfo": []any{}, "pools": []any{}, "pg_upmap": []any{}, "pg_upmap_items": []any{},
			"pg_temp": []any{}, "primary_temp": []any{}, "blocklist": map[string]any{}, "erasure_code_profiles": map[string]any{},
		})
	case "osd_map_tree":
		return mark(map[string]any{"nodes": []any{}, "stray": []any{}})
	case "osd_map_crush":
		return mark(map[string]any{"devices": []any{}, "types": []any{}, "buckets": []any{}, "rules": []any{}, "tunables": map[string]any{}, "choose_args": map[string]any{}})
	case "osdmap_crush_map_text":
		return "" // as Pacific: see internal/clusterbackend
	case "mon_map":
		return mark(map[string]any{"epoch": 0, "fsid": fsid, "mons": []any{}, "features": map[string]any{"persistent": []any{}, "optional": []any{}}})
	case "fs_map":
		return mark(map[string]any{
			"epoch": 0, "default_fscid": -1, "filesystems": []any{}, "standbys": []any{},
			"feature_flags": map[string]any{"enable_multiple": false, "ever_enabled_multiple": false},
			"compat":        map[string]any{"compat": map[string]any{}, "ro_compat": map[string]any{}, "incompat": map[string]any{}},
		})
	case "service_map":
		return mark(map[string]any{"epoch": 0, "services": map[string]any{}})
	case "df":
		return mark(map[string]any{
			"stats": map[string]any{"total_bytes": 0, "total_used_bytes": 0, "total_avail_bytes": 0, "total_used_raw_bytes": 0,
				"total_used_raw_ratio": 0.0, "num_osds": 0, "num_per_pool_osds": 0, "num_per_pool_omap_osds": 0},
			"stats_by_class": map[string]any{}, "pools": []any{},
		})
	case "pg_summary":
		return mark(map[string]any{"by_osd": map[string]any{}, "by_pool": map[string]any{}, "all": map[string]any{}, "pg_stats_sum": map[string]any{}})
	case "pg_status":
		return mark(map[string]any{"pgs_by_state": []any{}, "pgs_by_pool_state": []any{}, "num_pgs": 0, "num_pools": 0,
			"num_objects": 0, "data_bytes": 0, "bytes_used": 0, "bytes_avail": 0, "bytes_total": 0})
	case "pg_dump":
		return mark(map[string]any{"version": 0, "last_osdmap_epoch": 0, "last_pg_scan": 0, "pg_stats_sum": map[string]any{},
			"osd_stats_sum": map[string]any{}, "pg_stats_delta": map[string]any{}, "pg_stats": []any{}, "pool_stats": []any{},
			"osd_stats": []any{}, "pool_statfs": []any{}})
	case "pg_stats":
		return mark(list("pg_stats"))
	case "pool_stats", "osd_pool_stats":
		return mark(list("pool_stats"))
	case "osd_stats":
		return mark(list("osd_stats"))
	case "osd_ping_times":
		return mark(list("osd_ping_times"))
	case "pg_ready":
		return map[string]any{"pg_ready": false} // no PG statistics without OSDs
	case "devices":
		return list("devices")
	case "modified_config_options":
		return list("options")
	case "osd_metadata", "mds_metadata":
		return map[string]any{}
	case "mon_status":
		return mark(map[string]any{"name": "", "rank": -1, "state": "none", "election_epoch": 0, "quorum": []any{},
			"outside_quorum": []any{}, "extra_probe_peers": []any{}, "monmap": map[string]any{"epoch": 0, "fsid": fsid, "mons": []any{}}})
	case "io_rate":
		return mark(map[string]any{"pg_stats_delta": map[string]any{}})
	case "mgr_ips":
		return map[string]any{"ips": []any{localIP()}}
	}
	switch {
	case len(name) > len("device ") && strings.HasPrefix(name, "device "),
		strings.HasPrefix(name, "osd_map"), strings.HasPrefix(name, "config"):
		return map[string]any{}
	}
	return nil
}

// localIP is the host's first global unicast address (where a module's
// server is reachable from elsewhere), else 127.0.0.1.
func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
