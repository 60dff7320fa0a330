package clusterbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/jsonval"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// A dependency names a part of `status` whose change invalidates cached
// maps and fires a notification.
const (
	depOSDMap     = "osdmap"
	depMonMap     = "monmap"
	depQuorum     = "quorum"
	depFSMap      = "fsmap"
	depMgrMap     = "mgrmap"
	depServiceMap = "servicemap"
	depHealth     = "health"
	depPGMap      = "pgmap"
)

// notifyOf maps a dependency to the notification modules receive when it
// changes.
var notifyOf = map[string]module.NotifyType{
	depOSDMap: module.NotifyOSDMap,
	depMonMap: module.NotifyMonMap,
	depFSMap:  module.NotifyFSMap,
	depMgrMap: module.NotifyMgrMap,
	depHealth: module.NotifyHealth,
	depPGMap:  module.NotifyPGSummary,
}

// mapSpec says how to fetch one name of Cluster.Get.
type mapSpec struct {
	dep   string
	fetch func(ctx context.Context, b *Backend) ([]byte, error)
}

// monJSON fetches a mon command's JSON output, optionally reshaped.
func monJSON(prefix string, args map[string]any, shape func(any) any) func(context.Context, *Backend) ([]byte, error) {
	return func(ctx context.Context, b *Backend) ([]byte, error) {
		v, err := b.monValue(ctx, prefix, args)
		if err != nil {
			return nil, err
		}
		if shape != nil {
			v = shape(v)
		}
		return json.Marshal(v)
	}
}

// mapSpecs are the names Cluster.Get knows, with the monitor commands that
// answer them. Maps are re-fetched when their dependency changes in
// `status` (an epoch, or the health / pg summary sections).
var mapSpecs = map[string]mapSpec{
	"osd_map":        {depOSDMap, monJSON("osd dump", nil, nil)},
	"osd_map_tree":   {depOSDMap, monJSON("osd tree", nil, nil)},
	"osd_map_crush":  {depOSDMap, monJSON("osd crush dump", nil, nil)},
	"osd_metadata":   {depOSDMap, monJSON("osd metadata", nil, keyBy("id"))},
	"mon_map":        {depMonMap, monJSON("mon dump", nil, dropKey("quorum"))},
	"mon_status":     {depQuorum, fetchMonStatus},
	"fs_map":         {depFSMap, monJSON("fs dump", nil, nil)},
	"mds_metadata":   {depFSMap, monJSON("mds metadata", nil, keyBy("name"))},
	"mgr_map":        {depMgrMap, monJSON("mgr dump", nil, nil)},
	"service_map":    {depServiceMap, monJSON("service dump", nil, nil)},
	"health":         {depHealth, monJSON("health", map[string]any{"detail": "detail"}, nil)},
	"df":             {depPGMap, monJSON("df", map[string]any{"detail": "detail"}, nil)},
	"pg_summary":     {depPGMap, fetchPGSummary},
	"pg_status":      {depPGMap, fetchPGStatus},
	"pg_dump":        {depPGMap, monJSON("pg dump", nil, pipe(field("pg_map"), withoutPingTimes))},
	"pg_stats":       {depPGMap, monJSON("pg dump", map[string]any{"dumpcontents": []string{"pgs"}}, dropPGReady)},
	"osd_stats":      {depPGMap, monJSON("pg dump", map[string]any{"dumpcontents": []string{"osds"}}, pipe(dropPGReady, withoutPingTimes))},
	"osd_pool_stats": {depPGMap, monJSON("osd pool stats", nil, wrap("pool_stats"))},
	"io_rate":        {depPGMap, fetchIORate},
	"pool_stats":     {depPGMap, monJSON("pg dump", map[string]any{"dumpcontents": []string{"pools"}}, dropPGReady)},
	"pg_ready":       {depPGMap, monJSON("pg dump", map[string]any{"dumpcontents": []string{"summary"}}, onlyKey("pg_ready"))},
	"osd_ping_times": {depPGMap, monJSON("pg dump", map[string]any{"dumpcontents": []string{"osds"}}, pingTimes)},
	"devices":        {depNone, fetchDevices},
	"mgr_ips":        {depMonMap, fetchMgrIPs},

	"modified_config_options": {depNone, fetchModifiedConfigOptions},
}

// keyBy turns a list of objects into a map keyed by one of their fields
// (Python's get('osd_metadata') is keyed by OSD id).
func keyBy(k string) func(any) any {
	return func(v any) any {
		list, ok := v.([]any)
		if !ok {
			return v
		}
		out := map[string]any{}
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				out[jsonKey(m[k])] = m
				// The mon adds the key to each entry; the mgr's
				// metadata (Python's) has it only as the map's key.
				delete(m, k)
			}
		}
		return out
	}
}

func jsonKey(v any) string {
	if i, ok := jsonval.Int(v); ok {
		return strconv.FormatInt(i, 10)
	}
	return fmt.Sprint(v)
}

// field unwraps one member of an object (`pg dump` wraps its answer in
// {"pg_ready": ..., "pg_map": {...}}).
func field(k string) func(any) any {
	return func(v any) any {
		if m, ok := v.(map[string]any); ok {
			if f, ok := m[k]; ok {
				return f
			}
		}
		return v
	}
}

func dropPGReady(v any) any {
	if m, ok := v.(map[string]any); ok {
		delete(m, "pg_ready")
	}
	return v
}

func wrap(k string) func(any) any { return func(v any) any { return map[string]any{k: v} } }

// fetchPGSummary builds Python's pg_summary: PG state counts by OSD (acting
// set), by pool and overall, and the cluster-wide PG statistics sum.
func fetchPGSummary(ctx context.Context, b *Backend) ([]byte, error) {
	brief, err := b.monValue(ctx, "pg dump", map[string]any{"dumpcontents": []string{"pgs_brief"}})
	if err != nil {
		return nil, err
	}
	summary, err := b.monValue(ctx, "pg dump", map[string]any{"dumpcontents": []string{"summary"}})
	if err != nil {
		return nil, err
	}
	byOSD, byPool, all := map[string]any{}, map[string]any{}, map[string]int{}
	count := func(m map[string]any, k, state string) {
		c, _ := m[k].(map[string]int)
		if c == nil {
			c = map[string]int{}
			m[k] = c
		}
		c[state]++
	}
	stats, _ := field("pg_stats")(brief).([]any)
	for _, e := range stats {
		pg, _ := e.(map[string]any)
		state, _ := pg["state"].(string)
		pgid, _ := pg["pgid"].(string)
		pool, _, _ := strings.Cut(pgid, ".")
		count(byPool, pool, state)
		all[state]++
		acting, _ := pg["acting"].([]any)
		for _, osd := range acting {
			count(byOSD, jsonKey(osd), state)
		}
	}
	pgMap, _ := field("pg_map")(summary).(map[string]any)
	return json.Marshal(map[string]any{"by_osd": byOSD, "by_pool": byPool, "all": all, "pg_stats_sum": pgMap["pg_stats_sum"]})
}

// fetchIORate is Python's io_rate: the PG statistics delta.
func fetchIORate(ctx context.Context, b *Backend) ([]byte, error) {
	summary, err := b.monValue(ctx, "pg dump", map[string]any{"dumpcontents": []string{"summary"}})
	if err != nil {
		return nil, err
	}
	pgMap, _ := field("pg_map")(summary).(map[string]any)
	return json.Marshal(map[string]any{"pg_stats_delta": pgMap["pg_stats_delta"]})
}

// cacheEntry is a fetched map: its JSON and the dependency version it was
// fetched at.
type cacheEntry struct {
	ver  string
	data []byte
	at   time.Time
}

// unversionedTTL bounds how long a map whose dependency has no version yet
// is served from the cache.
const unversionedTTL = time.Second

// cluster implements backend.Cluster.
type cluster struct {
	b *Backend

	mu       sync.Mutex
	cache    map[string]cacheEntry
	fetching map[string]*sync.Mutex
}

func newCluster(b *Backend) *cluster {
	return &cluster{b: b, cache: map[string]cacheEntry{}, fetching: map[string]*sync.Mutex{}}
}

func (c *cluster) FSID() string            { return c.b.fsid }
func (c *cluster) HaveMonConnection() bool { return c.b.connected.Load() }

// lookup returns the cached entry for name if it is still current.
func (c *cluster) lookup(name, dep string) (cacheEntry, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[name]
	if !ok {
		return e, false, false
	}
	ver := c.b.version(dep)
	fresh := e.ver == ver && (ver != "" || time.Since(e.at) < unversionedTTL)
	return e, true, fresh
}

// Get returns the named map as decoded JSON (a fresh copy on every call, so
// modules may modify it). Maps are cached and fetched again only when their
// dependency changed; without a monitor connection the last copy is
// served.
func (c *cluster) Get(ctx context.Context, name string) (any, error) {
	if name == "config" {
		return c.b.config.List(""), nil
	}
	spec, ok := mapSpecs[name]
	if !ok {
		v, _, err := c.quirkValue(ctx, name)
		return v, err
	}
	data, err := c.get(ctx, name, spec)
	if err != nil {
		return nil, err
	}
	v, err := jsonval.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("get %s: decode: %w", name, err)
	}
	return v, nil
}

func (c *cluster) get(ctx context.Context, name string, spec mapSpec) ([]byte, error) {
	e, have, fresh := c.lookup(name, spec.dep)
	if fresh {
		return e.data, nil
	}
	if !c.HaveMonConnection() {
		if have {
			return e.data, nil
		}
		return nil, &CommandError{Op: "get " + name, Retval: -int(syscall.ENOTCONN), Status: "no monitor connection, and " + name + " was never fetched"}
	}
	c.mu.Lock()
	fm := c.fetching[name]
	if fm == nil {
		fm = &sync.Mutex{}
		c.fetching[name] = fm
	}
	c.mu.Unlock()
	fm.Lock()
	defer fm.Unlock()
	if e, have, fresh = c.lookup(name, spec.dep); fresh {
		return e.data, nil // fetched by a concurrent caller
	}
	ver := c.b.version(spec.dep)
	data, err := spec.fetch(ctx, c.b)
	if err != nil {
		if have {
			c.b.log.Debug("serving a cached map after a failed fetch", "name", name, "err", err)
			return e.data, nil
		}
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	c.mu.Lock()
	c.cache[name] = cacheEntry{ver: ver, data: data, at: time.Now()}
	c.mu.Unlock()
	return data, nil
}

// named sends a command to the monitor or MDS t names (a non-empty id):
// at once -ENOTCONN without monitors (a told monitor would wait out the
// mount timeout, libcephfs for an MDS map without limit), -EOPNOTSUPP if
// the connection cannot reach one.
func (c *cluster) named(ctx context.Context, t module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if !c.b.connected.Load() {
		return objectformat.Failed(-int(syscall.ENOTCONN), fmt.Sprintf("cannot send '%v' to %s.%s: no monitor connection", cmd["prefix"], t.Type, t.ID))
	}
	var send func(name string, cmd, inbuf []byte) ([]byte, string, error)
	lacks := "this connection reaches any monitor only"
	if t.Type == "mds" {
		lacks = "this connection has no MDS client"
		if mc, ok := c.b.conn.(cephconn.MDSCommander); ok {
			send = func(name string, cmd, inbuf []byte) ([]byte, string, error) {
				out, status, err := mc.MDSCommand(name, cmd, inbuf)
				if err != nil && status == "" && cephconn.Errno(err) == -int(syscall.ENOENT) {
					status = fmt.Sprintf("no MDS daemon found by name, rank or GID '%s'", name)
				}
				return out, status, err
			}
		}
	} else if mt, ok := c.b.conn.(cephconn.MonTargeter); ok {
		send = mt.MonTargetCommand
	}
	if send == nil {
		return objectformat.Failed(-int(syscall.EOPNOTSUPP), fmt.Sprintf("cannot send '%v' to %s.%s: %s", cmd["prefix"], t.Type, t.ID, lacks))
	}
	return command(ctx, func(cmd, inbuf []byte) ([]byte, string, error) { return send(t.ID, cmd, inbuf) }, cmd, inbuf)
}

// Command sends a command to a daemon, as Python's send_command does:
// "mon" (any monitor when the id is "", else the monitor of that name, as
// `ceph tell mon.<id>`), "mgr" (the active mgr), "osd" (osd.<id>), "mds"
// (the MDS the id names: a name, a rank or a GID, as `ceph tell mds.<id>`)
// or "pg" (the primary of pgid <id>; "pgid" is added to the command if
// missing, as the OSD expects it there too). A failure keeps the
// cluster's errno and status text.
func (c *cluster) Command(ctx context.Context, t module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	conn := c.b.conn
	switch t.Type {
	case "mon":
		if t.ID == "" {
			return command(ctx, conn.MonCommand, cmd, inbuf)
		}
		return c.named(ctx, t, cmd, inbuf)
	case "mds":
		if t.ID == "" { // as libcephfs answers it
			return objectformat.Failed(-int(syscall.ENOENT), "an mds command needs an MDS name, rank or GID")
		}
		return c.named(ctx, t, cmd, inbuf)
	case "mgr":
		return command(ctx, conn.MgrCommand, cmd, inbuf)
	case "osd":
		id, err := strconv.Atoi(strings.TrimPrefix(t.ID, "osd."))
		if err != nil || id < 0 {
			return objectformat.Failed(-int(syscall.EINVAL), fmt.Sprintf("invalid osd id '%s'", t.ID))
		}
		return command(ctx, func(cmd, inbuf []byte) ([]byte, string, error) { return conn.OsdCommand(id, cmd, inbuf) }, cmd, inbuf)
	case "pg":
		if t.ID == "" {
			return objectformat.Failed(-int(syscall.EINVAL), "a pg command needs a pgid")
		}
		if _, ok := cmd["pgid"]; !ok { // the OSD reads the pgid from the command too
			cmd = maps.Clone(cmd)
			cmd["pgid"] = t.ID
		}
		return command(ctx, func(cmd, inbuf []byte) ([]byte, string, error) { return conn.PGCommand(t.ID, cmd, inbuf) }, cmd, inbuf)
	}
	return objectformat.Failed(-int(syscall.EOPNOTSUPP), fmt.Sprintf("cannot send '%v' to %s: only mon, mgr, osd, mds and pg commands are supported", cmd["prefix"], t.Type))
}
