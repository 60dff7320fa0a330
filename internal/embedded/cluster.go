package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"syscall"

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

// Command runs the monitor commands that make sense without monitors
// (config and config-key on the local database) and fails all others with
// -ENOTCONN.
func (c cluster) Command(ctx context.Context, target module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	prefix, _ := cmd["prefix"].(string)
	str := func(k string) string { s, _ := cmd[k].(string); return s }
	if target.Type == "mon" {
		switch prefix {
		case "config-key get":
			v, ok := c.b.kv.Get(str("key"))
			if !ok {
				return objectformat.Failed(-int(syscall.ENOENT), fmt.Sprintf("error obtaining '%s': (2) No such file or directory", str("key")))
			}
			return objectformat.OK(v)
		case "config-key set", "config-key put":
			val := str("val")
			if len(inbuf) > 0 {
				val = string(inbuf)
			}
			if err := c.b.kv.Set(ctx, str("key"), val); err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.Result{Stderr: "set " + str("key")}
		case "config-key rm", "config-key del":
			if err := c.b.kv.Delete(ctx, str("key")); err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.Result{Stderr: "key deleted"}
		case "config-key exists":
			if _, ok := c.b.kv.Get(str("key")); !ok {
				return objectformat.Failed(-int(syscall.ENOENT), fmt.Sprintf("key '%s' doesn't exist", str("key")))
			}
			return objectformat.Result{Stderr: fmt.Sprintf("key '%s' exists", str("key"))}
		case "config-key ls", "config-key list":
			keys := make([]string, 0)
			for k := range c.b.kv.List("") {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b, _ := json.MarshalIndent(keys, "", "    ")
			return objectformat.Result{Stdout: b}
		case "config get":
			if v, ok := c.b.config.Get(str("key")); ok && strings.HasPrefix(str("who"), "mgr") {
				return objectformat.OK(v + "\n")
			}
			return objectformat.Failed(-int(syscall.ENOENT), "")
		case "config set":
			if err := c.b.config.Set(ctx, str("name"), str("value")); err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.Result{}
		case "config rm":
			if err := c.b.config.Delete(ctx, str("name")); err != nil {
				return objectformat.ResultOf(err)
			}
			return objectformat.Result{}
		}
	}
	return objectformat.Failed(-int(syscall.ENOTCONN), fmt.Sprintf(
		"no monitor connection: '%s' for %s needs a Ceph cluster, and this daemon runs on its embedded state (start it with -c ceph.conf to attach one)",
		prefix, targetName(target)))
}

func targetName(t module.Target) string {
	if t.ID == "" {
		return t.Type
	}
	return t.Type + "." + t.ID
}
