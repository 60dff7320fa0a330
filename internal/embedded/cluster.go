package embedded

import (
	"context"
	"net"
	"strings"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// cluster answers cluster-state questions from the embedded state.
type cluster struct{ b *Backend }

func (c cluster) FSID() string            { return c.b.fsid }
func (c cluster) HaveMonConnection() bool { return false }

// Get returns empty, well-formed skeletons of the cluster maps, with the
// top-level members Python's get(name) has for a cluster with no daemons,
// each map marked "gomgr_embedded": true, so modules can read them without
// special cases and can tell they describe no real cluster. Names the
// real mgr accepts by prefix answer as there: any other "osd_map..." or
// "config..." name and "device <id>" give an empty dict. "config",
// "config_options", "health" and "mgr_map" are the module runtime's (see
// internal/modhost).
func (c cluster) Get(_ context.Context, name string) (any, error) {
	mark := func(m map[string]any) map[string]any {
		m["gomgr_embedded"] = true
		return m
	}
	list := func(k string) map[string]any { return map[string]any{k: []any{}} }
	switch name {
	case "osd_map":
		return mark(map[string]any{
			"epoch": 0, "fsid": c.b.fsid, "flags": "", "crush_version": 0, "max_osd": 0, "pool_max": -1,
			"osds": []any{}, "osd_xinfo": []any{}, "pools": []any{}, "pg_upmap": []any{}, "pg_upmap_items": []any{},
			"pg_temp": []any{}, "primary_temp": []any{}, "blocklist": map[string]any{}, "erasure_code_profiles": map[string]any{},
		}), nil
	case "osd_map_tree":
		return mark(map[string]any{"nodes": []any{}, "stray": []any{}}), nil
	case "osd_map_crush":
		return mark(map[string]any{"devices": []any{}, "types": []any{}, "buckets": []any{}, "rules": []any{}, "tunables": map[string]any{}, "choose_args": map[string]any{}}), nil
	case "osdmap_crush_map_text":
		return "", nil // as Pacific: see internal/clusterbackend
	case "mon_map":
		return mark(map[string]any{"epoch": 0, "fsid": c.b.fsid, "mons": []any{}, "features": map[string]any{"persistent": []any{}, "optional": []any{}}}), nil
	case "fs_map":
		return mark(map[string]any{
			"epoch": 0, "default_fscid": -1, "filesystems": []any{}, "standbys": []any{},
			"feature_flags": map[string]any{"enable_multiple": false, "ever_enabled_multiple": false},
			"compat":        map[string]any{"compat": map[string]any{}, "ro_compat": map[string]any{}, "incompat": map[string]any{}},
		}), nil
	case "service_map":
		return mark(map[string]any{"epoch": 0, "services": map[string]any{}}), nil
	case "df":
		return mark(map[string]any{
			"stats": map[string]any{"total_bytes": 0, "total_used_bytes": 0, "total_avail_bytes": 0, "total_used_raw_bytes": 0,
				"total_used_raw_ratio": 0.0, "num_osds": 0, "num_per_pool_osds": 0, "num_per_pool_omap_osds": 0},
			"stats_by_class": map[string]any{}, "pools": []any{},
		}), nil
	case "pg_summary":
		return mark(map[string]any{"by_osd": map[string]any{}, "by_pool": map[string]any{}, "all": map[string]any{}, "pg_stats_sum": map[string]any{}}), nil
	case "pg_status":
		return mark(map[string]any{"pgs_by_state": []any{}, "pgs_by_pool_state": []any{}, "num_pgs": 0, "num_pools": 0,
			"num_objects": 0, "data_bytes": 0, "bytes_used": 0, "bytes_avail": 0, "bytes_total": 0}), nil
	case "pg_dump":
		return mark(map[string]any{"version": 0, "last_osdmap_epoch": 0, "last_pg_scan": 0, "pg_stats_sum": map[string]any{},
			"osd_stats_sum": map[string]any{}, "pg_stats_delta": map[string]any{}, "pg_stats": []any{}, "pool_stats": []any{},
			"osd_stats": []any{}, "pool_statfs": []any{}}), nil
	case "pg_stats":
		return mark(list("pg_stats")), nil
	case "pool_stats", "osd_pool_stats":
		return mark(list("pool_stats")), nil
	case "osd_stats":
		return mark(list("osd_stats")), nil
	case "osd_ping_times":
		return mark(list("osd_ping_times")), nil
	case "pg_ready":
		return map[string]any{"pg_ready": false}, nil // no PG statistics without OSDs
	case "devices":
		return list("devices"), nil
	case "modified_config_options":
		return list("options"), nil
	case "osd_metadata", "mds_metadata":
		return map[string]any{}, nil
	case "mon_status":
		return mark(map[string]any{"name": "", "rank": -1, "state": "none", "election_epoch": 0, "quorum": []any{},
			"outside_quorum": []any{}, "extra_probe_peers": []any{}, "monmap": map[string]any{"epoch": 0, "fsid": c.b.fsid, "mons": []any{}}}), nil
	case "io_rate":
		return mark(map[string]any{"pg_stats_delta": map[string]any{}}), nil
	case "mgr_ips":
		return map[string]any{"ips": []any{localIP()}}, nil
	}
	switch {
	case len(name) > len("device ") && strings.HasPrefix(name, "device "),
		strings.HasPrefix(name, "osd_map"), strings.HasPrefix(name, "config"):
		return map[string]any{}, nil
	}
	return nil, nil
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

// corrupt is the -EIO error for a monitor command that reads one key
// whose stored value fails its checksum.
func (c cluster) corrupt(cmd map[string]any) error {
	str := func(k string) string { s, _ := cmd[k].(string); return s }
	switch cmd["prefix"] {
	case "config-key get", "config-key exists":
		return c.b.kv.Corrupt(str("key"))
	case "config get":
		return c.b.config.Corrupt(str("key"))
	}
	return nil
}

// Command runs the monitor commands that make sense without monitors
// (config and config-key on the local database, see
// backend.LocalMonCommand) and fails all others with -ENOTCONN. Reading a
// key whose stored value fails its checksum fails with -EIO.
func (c cluster) Command(ctx context.Context, target module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if target.Type == "mon" {
		if err := c.corrupt(cmd); err != nil {
			return objectformat.ResultOf(err)
		}
		if res, ok := backend.LocalMonCommand(ctx, c.b.config, c.b.kv, cmd, inbuf); ok {
			return res
		}
	}
	return backend.NoMonitor(target, cmd)
}
