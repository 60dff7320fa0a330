package modhost

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// perfClusterBackend is a cluster whose backend collects the daemons'
// counters (as the attached one does), from a History the test fills.
type perfClusterBackend struct {
	*clusterBackend
	hist perfstate.History
}

func (b *perfClusterBackend) PerfSchema(svcType, svcID string) map[string]any {
	return b.hist.Schema(svcType, svcID)
}

func (b *perfClusterBackend) CounterSeries(svcType, svcID, path string, latest bool) map[string]any {
	if latest {
		return b.hist.Latest(svcType+"."+svcID, path)
	}
	return b.hist.Series(svcType+"."+svcID, path)
}

// perfManager starts a Manager (mgr "gt", with its own counters
// mgr.commands and mgr.latency, sampled every second) on b.
func perfManager(t *testing.T, b backend.Backend) *module.Handle {
	t.Helper()
	reg := NewRegistry()
	require.NoError(t, reg.Register(plainInfo("t")))
	var commands atomic.Int64
	m, err := NewManager(Config{MgrID: "gt", Version: "gomgr test", Registry: reg, Backend: b,
		CephOptions: map[string]string{"mgr_stats_period": "1"},
		DaemonInfo: func(kind string) map[string]any {
			switch kind {
			case "perf_schema":
				return map[string]any{"mgr": map[string]any{
					"commands": map[string]any{"type": 10, "description": "commands", "nick": "", "priority": 5, "units": "none"},
					"latency":  map[string]any{"type": 5, "description": "latency", "nick": "lat", "priority": 8, "units": "none"},
					"debug":    map[string]any{"type": 2, "description": "debug", "priority": 0, "units": "none"},
				}}
			case "perf_counters":
				n := commands.Add(1)
				return map[string]any{"mgr": map[string]any{"commands": n, "latency": map[string]any{"avgcount": n, "sum": 0.5}, "debug": 1}}
			}
			return map[string]any{}
		}})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	return modbridge.NewHandle(&handle{name: "t", m: m, log: m.cfg.Log}).(*module.Handle)
}

// typedPerfClusterBackend also hands the collected counters out typed
// (backend.TypedCounterSource, as clusterbackend does).
type typedPerfClusterBackend struct{ *perfClusterBackend }

func (b typedPerfClusterBackend) LatestCounters(dst []module.PerfCounter, daemon string, prioLimit int) []module.PerfCounter {
	return b.hist.Counters(dst, daemon, prioLimit)
}

// The answers are the same whether the collector hands its counters out
// typed or in Python's shapes only.
func TestPerfCountersOutsideARealMgr(t *testing.T) {
	t.Run("python-shaped collector", func(t *testing.T) { testPerfCountersOutsideARealMgr(t, false) })
	t.Run("typed collector", func(t *testing.T) { testPerfCountersOutsideARealMgr(t, true) })
}

func testPerfCountersOutsideARealMgr(t *testing.T, typed bool) {
	b := &perfClusterBackend{clusterBackend: &clusterBackend{MemoryBackend: backend.NewMemoryBackend(), cl: &pacificCluster{}}}
	var be backend.Backend = b
	if typed {
		be = typedPerfClusterBackend{b}
	}
	osdTypes := map[string]perfstate.Type{
		"osd.op_r":       {Description: "Client read operations", Type: 10, Priority: 5, Units: perfstate.UnitNone},
		"osd.op_latency": {Description: "Latency", Nick: "l", Type: 5, Priority: 9, Units: perfstate.UnitNone},
		"osd.op_w":       {Description: "Client writes", Type: 10, Priority: 5, Units: perfstate.UnitNone},
	}
	t0 := time.Unix(2000, 0)
	for i := range 3 {
		b.hist.Update("osd.0", osdTypes, map[string]perfstate.Value{
			"osd.op_r": {V: uint64(10 + i)}, "osd.op_latency": {V: uint64(1000 * i), Count: uint64(i)}, "osd.op_w": {V: 1 << 63}}, t0.Add(time.Duration(i)*5*time.Second))
	}
	h := perfManager(t, be)
	ctx := context.Background()

	// This daemon's own counters: a sample every mgr_stats_period.
	require.Eventually(t, func() bool {
		c, err := h.GetCounter(ctx, "mgr", "gt", "mgr.commands")
		require.NoError(t, err)
		return len(c["mgr.commands"].([]any)) >= 2
	}, 10*time.Second, 100*time.Millisecond)
	self, err := h.GetPerfSchema(ctx, "mgr", "gt")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"mgr.gt": map[string]any{
		"mgr.commands": map[string]any{"description": "commands", "type": int64(10), "priority": int64(5), "units": int64(1)},
		"mgr.latency":  map[string]any{"description": "latency", "nick": "lat", "type": int64(5), "priority": int64(8), "units": int64(1)},
	}}, self)
	lat, err := h.GetLatestCounter(ctx, "mgr", "gt", "mgr.latency")
	require.NoError(t, err)
	require.Len(t, lat["mgr.latency"], 3)
	require.Equal(t, int64(500_000_000), lat["mgr.latency"].([]any)[1], "a time average's sum in nanoseconds")

	for _, tc := range []struct {
		svcType, svcID, path string
		series, latest       any
	}{
		{"osd", "0", "osd.op_r", []any{[]any{2000.0, int64(10)}, []any{2005.0, int64(11)}, []any{2010.0, int64(12)}}, []any{2010.0, int64(12)}},
		{"osd", "0", "osd.op_latency", []any{[]any{2000.0, int64(0), int64(0)}, []any{2005.0, int64(1000), int64(1)}, []any{2010.0, int64(2000), int64(2)}},
			[]any{2010.0, int64(2000), int64(2)}},
		{"osd", "0", "osd.nosuch", []any{}, []any{}},
		{"osd", "7", "osd.op_r", []any{}, []any{}},
		{"mon", "a", "mon.num_sessions", []any{}, []any{}}, // collected, but not yet there
	} {
		c, err := h.GetCounter(ctx, tc.svcType, tc.svcID, tc.path)
		require.NoError(t, err)
		require.Equal(t, map[string]any{tc.path: tc.series}, c, "get_counter(%s, %s, %s)", tc.svcType, tc.svcID, tc.path)
		c, err = h.GetLatestCounter(ctx, tc.svcType, tc.svcID, tc.path)
		require.NoError(t, err)
		require.Equal(t, map[string]any{tc.path: tc.latest}, c, "get_latest_counter(%s, %s, %s)", tc.svcType, tc.svcID, tc.path)
	}
	for _, tc := range []struct {
		path       string
		want       uint64
		sum, count uint64
		avgErr     bool
	}{
		{"osd.op_r", 12, 0, 0, true},
		{"osd.op_w", 1 << 63, 0, 0, true}, // above int64, as the daemon's uint64
		{"osd.op_latency", 2000, 2000, 2, false},
		{"osd.nosuch", 0, 0, 0, false}, // no sample: 0 and (0, 0), as Python's
	} {
		v, err := h.GetLatest(ctx, "osd", "0", tc.path)
		require.NoError(t, err)
		require.Equal(t, tc.want, v, "get_latest %s", tc.path)
		s, c, err := h.GetLatestAvg(ctx, "osd", "0", tc.path)
		if tc.avgErr {
			require.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err), "get_latest_avg of %s: %v", tc.path, err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, [2]uint64{tc.sum, tc.count}, [2]uint64{s, c}, "get_latest_avg %s", tc.path)
	}

	// Daemons the backend cannot collect are an error, not an empty answer.
	for _, d := range [][2]string{{"mgr", "x"}, {"rgw", "gw1"}} {
		_, err := h.GetPerfSchema(ctx, d[0], d[1])
		require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err), "%v", err)
		_, err = h.GetCounter(ctx, d[0], d[1], "x.y")
		require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err), "%v", err)
	}
	mds, err := h.GetPerfSchema(ctx, "mds", "m")
	require.NoError(t, err)
	require.Empty(t, mds, "an MDS is collected: none yet")
	all, err := h.GetPerfSchema(ctx, "", "")
	require.NoError(t, err)
	require.Equal(t, []string{"mgr.gt", "osd.0"}, sortedKeys(all))

	// get_all_perf_counters: list_servers' daemons (osd.0, mon.a, mgr.x,
	// mds.m and this one) of the services asked for.
	for _, tc := range []struct {
		prio     int
		services []string
		want     map[string]any
	}{
		{module.PrioUseful, nil, map[string]any{"osd.0": map[string]any{
			"osd.op_r":       map[string]any{"description": "Client read operations", "type": int64(10), "priority": int64(5), "units": int64(1), "value": int64(12)},
			"osd.op_latency": map[string]any{"description": "Latency", "nick": "l", "type": int64(5), "priority": int64(9), "units": int64(1), "value": int64(2000), "count": int64(2)},
			"osd.op_w":       map[string]any{"description": "Client writes", "type": int64(10), "priority": int64(5), "units": int64(1), "value": uint64(1 << 63)},
		}}},
		{module.PrioInteresting, []string{"osd", "mds"}, map[string]any{"osd.0": map[string]any{
			"osd.op_latency": map[string]any{"description": "Latency", "nick": "l", "type": int64(5), "priority": int64(9), "units": int64(1), "value": int64(2000), "count": int64(2)},
		}}},
		{module.PrioCritical, nil, map[string]any{}},
		{module.PrioInteresting, []string{"mgr"}, nil}, // checked below: this daemon's, moving
	} {
		got, err := h.GetAllPerfCounters(ctx, tc.prio, tc.services)
		require.NoError(t, err)
		if tc.want == nil {
			require.Equal(t, []string{"mgr.gt"}, sortedKeys(got))
			lat := got["mgr.gt"].(map[string]any)
			require.Equal(t, []string{"mgr.latency"}, sortedKeys(lat))
			require.Equal(t, int64(500_000_000), lat["mgr.latency"].(map[string]any)["value"])
			continue
		}
		require.Equal(t, tc.want, got, "get_all_perf_counters(%d, %v)", tc.prio, tc.services)
		// The typed answer is the same, daemons and counters sorted.
		typed, err := h.PerfCounters(ctx, tc.prio, tc.services)
		require.NoError(t, err)
		require.Equal(t, tc.want, module.PerfCountersToPython(typed), "PerfCounters(%d, %v)", tc.prio, tc.services)
		for _, d := range typed {
			require.True(t, slices.IsSortedFunc(d.Counters, func(a, b module.PerfCounter) int { return strings.Compare(a.Path, b.Path) }), d.Daemon)
		}
	}
}
