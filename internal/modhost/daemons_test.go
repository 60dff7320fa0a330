package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// pacificCluster answers the monitor and OSD commands the daemon questions
// use the way a Pacific cluster (one mon "a", osd.0, mgr "x") does,
// argument checks included: replies captured from the loopback cluster.
type pacificCluster struct{}

func (c *pacificCluster) FSID() string            { return "fsid" }
func (c *pacificCluster) HaveMonConnection() bool { return true }
func (c *pacificCluster) Get(_ context.Context, name string) (any, error) {
	if name == "service_map" {
		return map[string]any{"services": map[string]any{"rgw": map[string]any{"daemons": map[string]any{
			"summary": "", "gw1": map[string]any{"metadata": map[string]any{"hostname": "h2", "num_handles": 1.0}},
		}}}}, nil
	}
	return nil, nil
}

func (c *pacificCluster) Command(_ context.Context, t module.Target, cmd map[string]any, _ []byte) objectformat.Result {
	prefix, _ := cmd["prefix"].(string)
	ok := func(v any) objectformat.Result { out, _ := json.Marshal(v); return objectformat.Result{Stdout: out} }
	fail := func(errno syscall.Errno, msg string) objectformat.Result {
		return objectformat.Failed(-int(errno), msg)
	}
	osd := map[string]any{"id": 0.0, "hostname": "h1", "ceph_version": "ceph version 16.2.15", "osd_objectstore": "memstore"}
	switch {
	case t.Type == "mon" && prefix == "osd metadata":
		id, present := cmd["id"]
		switch n, isInt := id.(int); {
		case !present:
			return ok([]any{osd})
		case !isInt:
			return fail(syscall.EINVAL, "bad or missing field 'id'")
		case n != 0:
			return fail(syscall.ENOENT, fmt.Sprintf("osd.%d does not exist", n))
		}
		return ok(osd)
	case t.Type == "mon" && prefix == "mgr metadata":
		x := map[string]any{"name": "x", "hostname": "h1", "ceph_version": "ceph version 16.2.15"}
		switch who, _ := cmd["who"].(string); who {
		case "": // "id" is not an argument of mgr metadata: all of them
			return ok([]any{x})
		case "x":
			return ok(x)
		default:
			return fail(syscall.ENOENT, "mgr."+who+" does not exist")
		}
	case t.Type == "mon" && prefix == "mon metadata":
		a := map[string]any{"name": "a", "hostname": "h1"}
		switch id, _ := cmd["id"].(string); id {
		case "":
			return ok([]any{a})
		case "a":
			delete(a, "name") // as the real one: no name for a single mon
			return ok(a)
		default:
			return fail(syscall.ENOENT, "requested mon not found")
		}
	case t.Type == "mon" && prefix == "mds metadata":
		if who, _ := cmd["who"].(string); who != "" {
			return fail(syscall.EINVAL, "MDS named '"+who+"' does not exist, or is not up")
		}
		return ok([]any{map[string]any{"name": "m", "hostname": "h3"}})
	case t.Type == "osd" && (prefix == "perf schema" || prefix == "perf dump"):
		if t.ID != "0" {
			return fail(syscall.ENOENT, "osd dne")
		}
		if prefix == "perf schema" {
			return ok(map[string]any{
				"osd": map[string]any{"op_r": map[string]any{"type": 10.0, "metric_type": "counter", "value_type": "integer",
					"description": "Client read operations", "nick": "", "priority": 5.0, "units": "none"}},
				"objecter": map[string]any{
					"op_active":     map[string]any{"type": 2.0, "description": "Operations active", "nick": "actv", "priority": 7.0, "units": "none"},
					"op_send_bytes": map[string]any{"type": 10.0, "description": "Sent data", "nick": "", "priority": 5.0, "units": "bytes"},
					"osdop_stat":    map[string]any{"type": 10.0, "description": "Stat operations", "nick": "", "priority": 0.0, "units": "none"},
				},
			})
		}
		return ok(map[string]any{"osd": map[string]any{"op_r": 5.0, "op_r_latency": map[string]any{"avgcount": 4.0, "sum": 0.5, "avgtime": 0.125}},
			"throttle-a.b": map[string]any{"val": 2.0}})
	case t.Type == "mgr":
		return fail(syscall.EINVAL, "No handler found for '"+prefix+"'")
	}
	return fail(syscall.EINVAL, "command not known")
}

// clusterBackend is a MemoryBackend with another Cluster.
type clusterBackend struct {
	*backend.MemoryBackend
	cl backend.Cluster
}

func (b *clusterBackend) Cluster() backend.Cluster { return b.cl }

func TestDaemonQuestionsOnACluster(t *testing.T) {
	cl := &pacificCluster{}
	b := &clusterBackend{MemoryBackend: backend.NewMemoryBackend(), cl: cl}
	reg := NewRegistry()
	require.NoError(t, reg.Register(plainInfo("t")))
	m, err := NewManager(Config{MgrID: "gt", Version: "gomgr test", Registry: reg, Backend: b, DaemonInfo: func(kind string) map[string]any {
		switch kind {
		case "metadata":
			return map[string]any{"id": "gt", "hostname": "h1", "pid": 42}
		case "perf_counters":
			return map[string]any{"mgr": map[string]any{"commands": int64(3)}}
		}
		return map[string]any{}
	}})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	h := modbridge.NewHandle(&handle{name: "t", m: m, log: m.cfg.Log}).(*module.Handle)
	ctx := context.Background()

	for _, tc := range []struct {
		svcType, svcID string
		want           map[string]any
	}{
		{"osd", "0", map[string]any{"hostname": "h1", "ceph_version": "ceph version 16.2.15", "osd_objectstore": "memstore"}},
		// Only the canonical id names an OSD (Python looks the name up as
		// a string): review finding 13d.
		{"osd", "osd.0", nil},
		{"osd", "00", nil},
		{"osd", "+0", nil},
		{"osd", " 0", nil},
		{"osd", "0 ", nil},
		{"osd", "-0", nil},
		{"osd", "7", nil},
		{"osd", "x", nil},
		{"osd", "", nil},
		{"mgr", "x", map[string]any{"hostname": "h1", "ceph_version": "ceph version 16.2.15"}},
		{"mgr", "gt", map[string]any{"id": "gt", "hostname": "h1", "pid": "42"}},
		{"mgr", "nosuch", nil},
		{"mgr", "", nil},
		{"mon", "a", map[string]any{"hostname": "h1"}},
		{"mon", "b", nil},
		{"mds", "m", nil},
		{"rgw", "gw1", map[string]any{"hostname": "h2", "num_handles": "1"}},
		{"rgw", "gw2", nil},
	} {
		md, err := h.GetMetadata(ctx, tc.svcType, tc.svcID)
		require.NoError(t, err, "get_metadata(%s, %s)", tc.svcType, tc.svcID)
		require.Equal(t, tc.want, md, "get_metadata(%s, %s)", tc.svcType, tc.svcID)
		st, err := h.GetDaemonStatus(ctx, tc.svcType, tc.svcID)
		require.NoError(t, err)
		if tc.want == nil {
			require.Nil(t, st, "get_daemon_status(%s, %s)", tc.svcType, tc.svcID)
		} else {
			require.NotNil(t, st, "get_daemon_status(%s, %s)", tc.svcType, tc.svcID)
		}
	}

	schema, err := h.GetPerfSchema(ctx, "osd", "0")
	require.NoError(t, err)
	// Python's shape: keyed by daemon, then by counter path; Ceph's unit
	// numbers; no empty nick; below mgr_stats_threshold left out.
	require.Equal(t, map[string]any{"osd.0": map[string]any{
		"osd.op_r":               map[string]any{"description": "Client read operations", "type": int64(10), "priority": int64(5), "units": int64(1)},
		"objecter.op_active":     map[string]any{"description": "Operations active", "nick": "actv", "type": int64(2), "priority": int64(7), "units": int64(1)},
		"objecter.op_send_bytes": map[string]any{"description": "Sent data", "type": int64(10), "priority": int64(5), "units": int64(0)},
	}}, schema)
	schema, err = h.GetPerfSchema(ctx, "osd", "7")
	require.NoError(t, err)
	require.Empty(t, schema, "an unknown OSD has no counters")
	_, err = h.GetPerfSchema(ctx, "mon", "a")
	require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err), "%v", err)
	require.ErrorContains(t, err, "cannot read the performance counters of mon.a")

	for _, tc := range []struct {
		svcType, svcID, path string
		want                 any
	}{
		{"osd", "0", "osd.op_r", int64(5)},                     // integers stay integers, as in Python
		{"osd", "0", "osd.op_r_latency", []any{0.5, int64(4)}}, // an average: [t, sum, count]
		{"osd", "0", "throttle-a.b.val", int64(2)},
		{"mgr", "gt", "mgr.commands", int64(3)},
		{"osd", "0", "osd.nosuch", nil},
		{"osd", "7", "osd.op_r", nil},
		{"osd", "0", "nodot", nil},
	} {
		c, err := h.GetCounter(ctx, tc.svcType, tc.svcID, tc.path)
		require.NoError(t, err)
		series := c[tc.path].([]any)
		if tc.want == nil {
			require.Empty(t, series, tc.path)
			continue
		}
		require.Len(t, series, 1, tc.path)
		sample := series[0].([]any)
		if want, ok := tc.want.([]any); ok {
			require.Equal(t, want, sample[1:], tc.path)
			continue
		}
		require.Len(t, sample, 2, tc.path)
		require.Equal(t, tc.want, sample[1], tc.path)
	}
	_, err = h.GetCounter(ctx, "mgr", "x", "mgr.x")
	require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err))

	servers, err := h.ListServers(ctx)
	require.NoError(t, err)
	var got []string
	for _, s := range servers {
		for _, svc := range s["services"].([]any) {
			sm := svc.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s.%s", s["hostname"], sm["type"], sm["id"]))
		}
	}
	require.Subset(t, got, []string{"h1 mon.a", "h1 osd.0", "h1 mgr.x", "h3 mds.m"})
	require.NotEmpty(t, hostnameOf(servers, "gt"), "this daemon is listed: %v", got)
}

// hostnameOf finds the host of mgr.id in list_servers' answer.
func hostnameOf(servers []map[string]any, id string) string {
	for _, s := range servers {
		for _, svc := range s["services"].([]any) {
			if sm := svc.(map[string]any); sm["type"] == "mgr" && sm["id"] == id {
				return s["hostname"].(string)
			}
		}
	}
	return ""
}
