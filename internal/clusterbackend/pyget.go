package clusterbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/jsonval"
)

// This file holds the Get names whose Python shape is not one monitor
// command's output as it is: the real mgr builds them from the state the
// daemons report to it, and gomgr rebuilds them from the monitors (and,
// where only the real mgr has the state, from its commands).

// depNone marks a name with no dependency in `status`: it is fetched again
// once its cached copy is older than unversionedTTL.
const depNone = ""

// pipe applies shapes in order.
func pipe(shapes ...func(any) any) func(any) any {
	return func(v any) any {
		for _, s := range shapes {
			v = s(v)
		}
		return v
	}
}

// dropKey removes one member of an object (`mon dump` adds "quorum", which
// the mgr's mon map does not have).
func dropKey(k string) func(any) any {
	return func(v any) any {
		if m, ok := v.(map[string]any); ok {
			delete(m, k)
		}
		return v
	}
}

// onlyKey keeps one member of an object.
func onlyKey(k string) func(any) any {
	return func(v any) any {
		m, _ := v.(map[string]any)
		return map[string]any{k: m[k]}
	}
}

// osdStatsList returns the osd_stats list of a `pg dump` answer (or of
// its pg_map).
func osdStatsList(v any) []any {
	m, _ := v.(map[string]any)
	list, _ := m["osd_stats"].([]any)
	return list
}

// withoutPingTimes drops the network ping times from each OSD's stats: the
// monitors' `pg dump` has them, the mgr's (dump_osd_stats without the
// network part) does not; they are get("osd_ping_times").
func withoutPingTimes(v any) any {
	for _, e := range osdStatsList(v) {
		if m, ok := e.(map[string]any); ok {
			delete(m, "network_ping_times")
		}
	}
	return v
}

// pingTimes is Python's osd_ping_times: each OSD's network ping times.
func pingTimes(v any) any {
	out := []any{}
	for _, e := range osdStatsList(v) {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		times := m["network_ping_times"]
		if times == nil {
			times = []any{}
		}
		out = append(out, map[string]any{"osd": m["osd"], "network_ping_times": times})
	}
	return map[string]any{"osd_ping_times": out}
}

// fetchMonStatus is Python's mon_status: the `mon_status` of the quorum's
// leader (a command each monitor answers for itself), or `quorum_status`
// where the connection cannot address one monitor.
func fetchMonStatus(ctx context.Context, b *Backend) ([]byte, error) {
	qs, err := b.monValue(ctx, "quorum_status", nil)
	if err != nil {
		return nil, err
	}
	t, ok := b.conn.(cephconn.MonTargeter)
	leader, _ := asMap(qs)["quorum_leader_name"].(string)
	if !ok || leader == "" {
		return json.Marshal(qs)
	}
	res := command(ctx, func(cmd, inbuf []byte) ([]byte, string, error) {
		return t.MonTargetCommand(leader, cmd, inbuf)
	}, map[string]any{"prefix": "mon_status", "format": "json"}, nil)
	if err := resultError("mon_status", res); err != nil {
		return nil, err
	}
	if _, err := jsonval.Decode(res.Stdout); err != nil {
		return nil, fmt.Errorf("mon_status: decode: %w", err)
	}
	return res.Stdout, nil
}

// fetchPGStatus is Python's pg_status, the mgr's PG summary: the pgmap
// section of `status` (the same summary, from the monitors) with the PG
// states counted by pool, which `status` leaves out.
func fetchPGStatus(ctx context.Context, b *Backend) ([]byte, error) {
	st, err := b.monValue(ctx, "status", nil)
	if err != nil {
		return nil, err
	}
	summary := asMap(asMap(st)["pgmap"])
	if summary == nil {
		summary = map[string]any{}
	}
	brief, err := b.monValue(ctx, "pg dump", map[string]any{"dumpcontents": []string{"pgs_brief"}})
	if err != nil {
		return nil, err
	}
	byPool := map[int64]map[string]int{}
	stats, _ := field("pg_stats")(brief).([]any)
	for _, e := range stats {
		pg, _ := e.(map[string]any)
		state, _ := pg["state"].(string)
		pgid, _ := pg["pgid"].(string)
		pool, _, _ := strings.Cut(pgid, ".")
		id, err := strconv.ParseInt(pool, 10, 64)
		if err != nil {
			continue
		}
		if byPool[id] == nil {
			byPool[id] = map[string]int{}
		}
		byPool[id][state]++
	}
	pools := []any{}
	for _, id := range slices.Sorted(maps.Keys(byPool)) {
		counts := []any{}
		for _, state := range slices.Sorted(maps.Keys(byPool[id])) {
			counts = append(counts, map[string]any{"state_name": state, "count": byPool[id][state]})
		}
		pools = append(pools, map[string]any{"pool_id": id, "pg_state_counts": counts})
	}
	summary["pgs_by_pool_state"] = pools
	return json.Marshal(summary)
}

// fetchDevices is Python's devices: the devices the real mgr tracks (the
// daemons report them to it), from its `device ls`.
func fetchDevices(ctx context.Context, b *Backend) ([]byte, error) {
	res := command(ctx, b.conn.MgrCommand, map[string]any{"prefix": "device ls", "format": "json"}, nil)
	if err := resultError("device ls", res); err != nil {
		return nil, err
	}
	list, err := jsonval.Decode(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("device ls: decode: %w", err)
	}
	if list == nil {
		list = []any{}
	}
	return json.Marshal(map[string]any{"devices": list})
}

// device is Python's get("device <devid>"): the device, or {} when the
// real mgr does not know it.
func (c *cluster) device(ctx context.Context, devid string) (any, error) {
	if !c.HaveMonConnection() {
		return nil, &CommandError{Op: "get device " + devid, Retval: -int(syscall.ENOTCONN), Status: "no monitor connection"}
	}
	res := command(ctx, c.b.conn.MgrCommand, map[string]any{"prefix": "device info", "devid": devid, "format": "json"}, nil)
	if res.Retval == -int(syscall.ENOENT) {
		return map[string]any{}, nil
	}
	if err := resultError("device info", res); err != nil {
		return nil, err
	}
	v, err := jsonval.Decode(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("device info: decode: %w", err)
	}
	return v, nil
}

// fetchMgrIPs is Python's mgr_ips for this daemon: the local address it
// reaches the monitors from (where modules bind their servers; the real
// mgr lists the addresses it is bound to).
func fetchMgrIPs(ctx context.Context, b *Backend) ([]byte, error) {
	mm, err := b.monValue(ctx, "mon dump", nil)
	if err != nil {
		return nil, err
	}
	ips := []any{}
	mons := asList(asMap(mm)["mons"])
	for _, m := range mons {
		addr := monAddr(m)
		if addr == "" {
			continue
		}
		if ip := localIPFor(addr); ip != "" {
			ips = append(ips, ip)
			break
		}
	}
	return json.Marshal(map[string]any{"ips": ips})
}

// monAddr returns one "ip:port" of a mon map entry.
func monAddr(m any) string {
	mon := asMap(m)
	for _, a := range asList(asMap(mon["public_addrs"])["addrvec"]) {
		if s, _ := asMap(a)["addr"].(string); s != "" {
			return s
		}
	}
	s, _ := mon["addr"].(string)
	s, _, _ = strings.Cut(s, "/")
	return s
}

// localIPFor returns the local address the kernel would use to reach addr
// (a UDP "connection" sends nothing).
func localIPFor(addr string) string {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	return ""
}

// fetchModifiedConfigOptions is Python's modified_config_options: the
// names of the options the cluster's daemons report set, in the real mgr's
// `config show` of each daemon.
func fetchModifiedConfigOptions(ctx context.Context, b *Backend) ([]byte, error) {
	daemons, err := clusterDaemons(ctx, b)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, d := range daemons {
		res := command(ctx, b.conn.MgrCommand, map[string]any{"prefix": "config show", "who": d, "format": "json"}, nil)
		if res.Retval != 0 {
			continue // a daemon that never reported to the mgr
		}
		var entries []struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(res.Stdout, &entries) != nil {
			continue
		}
		for _, e := range entries {
			names[e.Name] = true
		}
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	return json.Marshal(map[string]any{"options": list})
}

// clusterDaemons names the mons, OSDs, mgrs and MDSs of the cluster's
// maps ("osd.0", "mon.a", ...).
func clusterDaemons(ctx context.Context, b *Backend) ([]string, error) {
	var out []string
	mons, err := b.monValue(ctx, "mon dump", nil)
	if err != nil {
		return nil, err
	}
	for _, m := range asList(asMap(mons)["mons"]) {
		if n, _ := asMap(m)["name"].(string); n != "" {
			out = append(out, "mon."+n)
		}
	}
	osds, err := b.monValue(ctx, "osd ls", nil)
	if err != nil {
		return nil, err
	}
	for _, id := range asList(osds) {
		if i, ok := jsonval.Int(id); ok {
			out = append(out, "osd."+strconv.FormatInt(i, 10))
		}
	}
	mgrs, err := b.monValue(ctx, "mgr dump", nil)
	if err != nil {
		return nil, err
	}
	if n, _ := asMap(mgrs)["active_name"].(string); n != "" {
		out = append(out, "mgr."+n)
	}
	for _, s := range asList(asMap(mgrs)["standbys"]) {
		if n, _ := asMap(s)["name"].(string); n != "" {
			out = append(out, "mgr."+n)
		}
	}
	fs, err := b.monValue(ctx, "fs dump", nil)
	if err != nil {
		return nil, err
	}
	for _, s := range asList(asMap(fs)["standbys"]) {
		if n, _ := asMap(s)["name"].(string); n != "" {
			out = append(out, "mds."+n)
		}
	}
	for _, f := range asList(asMap(fs)["filesystems"]) {
		for _, info := range asMap(asMap(asMap(f)["mdsmap"])["info"]) {
			if n, _ := asMap(info)["name"].(string); n != "" {
				out = append(out, "mds."+n)
			}
		}
	}
	return out, nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

// quirkValue answers the names the real mgr's get() accepts by prefix, as
// it does: "device <devid>", any other "osd_map..." or "config..." name
// (an empty dict), and "osdmap_crush_map_text". ok is false for names it
// does not answer (None).
func (c *cluster) quirkValue(ctx context.Context, name string) (v any, ok bool, err error) {
	switch {
	case name == "osdmap_crush_map_text":
		// Pacific returns the binary CRUSH map as a C string, cut at its
		// first NUL byte, which its encoding starts with: always "".
		// get("osd_map_crush") is the map.
		return "", true, nil
	case len(name) > len("device ") && strings.HasPrefix(name, "device "):
		v, err := c.device(ctx, name[len("device "):])
		return v, true, err
	case strings.HasPrefix(name, "osd_map"), strings.HasPrefix(name, "config"):
		return map[string]any{}, true, nil
	}
	return nil, false, nil
}
