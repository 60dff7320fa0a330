package embedded

import (
	"context"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// cluster answers cluster-state questions from the embedded state.
type cluster struct{ b *Backend }

func (c cluster) FSID() string            { return c.b.fsid }
func (c cluster) HaveMonConnection() bool { return false }

// Get returns empty, well-formed skeletons of the cluster maps, each marked
// "gomgr_embedded": true, so modules can read them without special cases
// and can tell they describe no real cluster. "config" is the local
// configuration database.
func (c cluster) Get(_ context.Context, name string) (any, error) {
	mark := func(m map[string]any) map[string]any {
		m["gomgr_embedded"] = true
		return m
	}
	switch name {
	case "osd_map":
		return mark(map[string]any{"epoch": 0, "fsid": c.b.fsid, "osds": []any{}, "pools": []any{}, "pg_upmap": []any{}}), nil
	case "osd_map_tree":
		return mark(map[string]any{"nodes": []any{}, "stray": []any{}}), nil
	case "osd_map_crush":
		return mark(map[string]any{"devices": []any{}, "buckets": []any{}, "rules": []any{}}), nil
	case "mon_map":
		return mark(map[string]any{"epoch": 0, "fsid": c.b.fsid, "mons": []any{}}), nil
	case "fs_map":
		return mark(map[string]any{"epoch": 0, "filesystems": []any{}, "standbys": []any{}}), nil
	case "df":
		return mark(map[string]any{"stats": map[string]any{"total_bytes": 0, "total_used_bytes": 0, "total_avail_bytes": 0}, "pools": []any{}}), nil
	case "pg_summary":
		return mark(map[string]any{"by_osd": map[string]any{}, "by_pool": map[string]any{}, "all": map[string]any{}, "pg_stats_sum": map[string]any{}}), nil
	case "pg_dump", "pg_stats":
		return mark(map[string]any{"pg_stats": []any{}, "pool_stats": []any{}, "osd_stats": []any{}}), nil
	case "osd_stats":
		return mark(map[string]any{"osd_stats": []any{}}), nil
	case "osd_metadata", "mds_metadata":
		return map[string]any{}, nil
	case "mon_status":
		return mark(map[string]any{"name": "", "state": "none", "quorum": []any{}}), nil
	case "io_rate":
		return mark(map[string]any{"pg_stats_delta": map[string]any{}}), nil
	case "config":
		return c.b.config.List(""), nil
	}
	return nil, nil
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
