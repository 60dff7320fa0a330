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
