package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/jsonval"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// This file answers the questions Python modules ask about daemons
// (get_metadata, get_daemon_status, list_servers; the perf counters are
// in perf.go): from a backend that has the state daemons report to a
// real mgr (backend.DaemonState: the bridge), else for this daemon from
// Config.DaemonInfo, for the others from the cluster when one is
// attached. Python's mgr answers them from the state daemons report to
// it; gomgr asks the monitors instead, with the same result shapes: a
// daemon that does not exist gives None (nil) or an empty result, never
// an error.

// isSelf reports whether svcType/svcID names this daemon.
func (m *Manager) isSelf(svcType, svcID string) bool {
	return svcType == "mgr" && svcID == m.cfg.MgrID && m.cfg.DaemonInfo != nil
}

// daemonInfo answers get_metadata ("metadata"), get_daemon_status
// ("status") and get_perf_schema ("perf_schema").
func (m *Manager) daemonInfo(ctx context.Context, kind, svcType, svcID string) (map[string]any, error) {
	if ds, ok := m.cfg.Backend.(backend.DaemonState); ok && !m.isSelf(svcType, svcID) {
		return ds.DaemonInfo(ctx, kind, svcType, svcID)
	}
	if kind == "perf_schema" {
		return m.perfSchema(svcType, svcID)
	}
	if m.isSelf(svcType, svcID) {
		v := m.cfg.DaemonInfo(kind)
		if kind == "metadata" && v != nil {
			v = stringValues(v)
		}
		return v, nil
	}
	if !m.cfg.Backend.Cluster().HaveMonConnection() {
		return nil, nil
	}
	switch kind {
	case "metadata":
		return m.clusterMetadata(ctx, svcType, svcID)
	case "status":
		md, err := m.clusterMetadata(ctx, svcType, svcID)
		if err != nil || md == nil {
			return nil, err
		}
		if d := m.serviceDaemon(ctx, svcType, svcID); d != nil {
			if st, ok := d["task_status"].(map[string]any); ok {
				return stringValues(st), nil
			}
		}
		return map[string]any{}, nil
	}
	return nil, nil
}

// metadataCommand is the monitor command that returns one daemon's
// metadata, as the Pacific monitors take it: `osd metadata` wants an
// integer id, `mon metadata` a name in "id", `mgr metadata` and `mds
// metadata` a name in "who". ok is false for other daemon types and for
// ids that cannot name a daemon (an empty id would list every daemon; an
// OSD id that is not canonical decimal names none).
func metadataCommand(svcType, svcID string) (cmd map[string]any, ok bool) {
	if svcID == "" {
		return nil, false
	}
	cmd = map[string]any{"prefix": svcType + " metadata", "format": "json"}
	switch svcType {
	case "osd":
		// Python's mgr looks daemons up by their name as a string, so only
		// an OSD's canonical decimal id names it: "00", "+0", " 0" and
		// "osd.0" give None there.
		id, err := strconv.Atoi(svcID)
		if err != nil || id < 0 || strconv.Itoa(id) != svcID {
			return nil, false
		}
		cmd["id"] = id
	case "mon":
		cmd["id"] = svcID
	case "mgr", "mds":
		cmd["who"] = svcID
	default:
		return nil, false
	}
	return cmd, true
}

// clusterMetadata returns a daemon's metadata as Python's get_metadata
// does: string values, the hostname included, the id/name key left out;
// nil for a daemon the cluster does not know. Daemons other than mon,
// osd, mgr and mds (rgw, rbd-mirror, ...) are looked up in the service map.
func (m *Manager) clusterMetadata(ctx context.Context, svcType, svcID string) (map[string]any, error) {
	cmd, ok := metadataCommand(svcType, svcID)
	if !ok {
		switch svcType {
		case "mon", "osd", "mgr", "mds":
			return nil, nil
		}
		d := m.serviceDaemon(ctx, svcType, svcID)
		if d == nil {
			return nil, nil
		}
		md, _ := d["metadata"].(map[string]any)
		return stringValues(md), nil
	}
	res := m.cfg.Backend.Cluster().Command(ctx, module.Target{Type: "mon"}, cmd, nil)
	switch {
	case res.Retval == -int(syscall.ENOENT):
		return nil, nil
	case res.Retval == -int(syscall.EINVAL) && svcType == "mds" && strings.Contains(res.Stderr, "does not exist"):
		return nil, nil // "MDS named 'x' does not exist, or is not up"
	}
	md, err := decodeResult(res)
	if err != nil {
		return nil, fmt.Errorf("get_metadata(%s, %s): %w", svcType, svcID, err)
	}
	delete(md, "id")
	delete(md, "name")
	return stringValues(md), nil
}

// serviceDaemon returns a daemon's entry in the service map (nil if it
// has none).
func (m *Manager) serviceDaemon(ctx context.Context, svcType, svcID string) map[string]any {
	v, err := m.cfg.Backend.Cluster().Get(ctx, "service_map")
	if err != nil {
		return nil
	}
	sm, _ := v.(map[string]any)
	svcs, _ := sm["services"].(map[string]any)
	svc, _ := svcs[svcType].(map[string]any)
	daemons, _ := svc["daemons"].(map[string]any)
	d, _ := daemons[svcID].(map[string]any)
	return d
}

// listServers answers list_servers: the hosts with their daemons (this
// one, and the cluster's mons, OSDs, mgrs and MDSs from their metadata).
func (m *Manager) listServers(ctx context.Context) ([]map[string]any, error) {
	if ds, ok := m.cfg.Backend.(backend.DaemonState); ok {
		return ds.ListServers(ctx)
	}
	host, _ := os.Hostname()
	servers := map[string][]any{host: {map[string]any{"type": "mgr", "id": m.cfg.MgrID}}}
	versions := map[string]string{host: m.cfg.Version}
	cl := m.cfg.Backend.Cluster()
	if cl.HaveMonConnection() {
		for _, t := range []string{"mon", "osd", "mgr", "mds"} {
			res := cl.Command(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": t + " metadata", "format": "json"}, nil)
			var list []map[string]any
			if res.Retval != 0 || json.Unmarshal(res.Stdout, &list) != nil {
				continue
			}
			for _, md := range list {
				h, _ := md["hostname"].(string)
				id := jsonText(md["id"])
				if n, ok := md["name"]; ok && t != "osd" {
					id = jsonText(n)
				}
				if t == "mgr" && id == m.cfg.MgrID {
					continue
				}
				servers[h] = append(servers[h], map[string]any{"type": t, "id": id})
				if v, ok := md["ceph_version"].(string); ok && versions[h] == "" {
					versions[h] = v
				}
			}
		}
	}
	var out []map[string]any
	for _, h := range sortedKeys(servers) {
		out = append(out, map[string]any{"hostname": h, "services": servers[h], "ceph_version": versions[h]})
	}
	return out, nil
}

// stringValues returns md with every value as a string, as Python's
// get_metadata gives them (numbers without an exponent, others as JSON).
func stringValues(md map[string]any) map[string]any {
	out := make(map[string]any, len(md))
	for k, v := range md {
		out[k] = jsonText(v)
	}
	return out
}

// jsonText writes a decoded JSON value as text.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool, int, int64, int32, uint, uint64, uint32:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func decodeResult(res objectformat.Result) (map[string]any, error) {
	if res.Retval != 0 {
		return nil, res.Err()
	}
	v, err := jsonval.DecodeObject(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	return v, nil
}
