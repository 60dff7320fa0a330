package perfstate

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A `perf schema` and `perf histogram schema` as an OSD writes them (cut
// down).
const (
	osdSchema = `{"osd": {
	  "op_r": {"type": 10, "metric_type": "counter", "value_type": "integer", "description": "Client read operations", "nick": "", "priority": 5, "units": "none"},
	  "op_latency": {"type": 5, "metric_type": "gauge", "value_type": "real-integer-pair", "description": "Latency of client operations", "nick": "l", "priority": 9, "units": "none"},
	  "op_in_bytes": {"type": 10, "description": "Client data written", "nick": "wr", "priority": 8, "units": "bytes"},
	  "op_size": {"type": 6, "description": "Average op size", "nick": "", "priority": 8, "units": "bytes"},
	  "stat_bytes": {"type": 2, "description": "OSD size", "nick": "size", "priority": 5, "units": "bytes"},
	  "op_before_queue_op_lat": {"type": 5, "description": "queue latency", "nick": "", "priority": 2, "units": "none"},
	  "uptime": {"type": 1, "description": "time up", "nick": "", "priority": 5, "units": "none"}
	},
	"throttle-osd_client_bytes": {"val": {"type": 2, "description": "Currently available throttle", "nick": "", "priority": 0, "units": "none"}}}`
	osdHistSchema = `{"osd": {"op_r_latency_out_bytes_histogram": {"type": 26, "description": "Histogram of operation latency", "nick": "", "priority": 5, "units": "none"}}}`
	osdDump       = `{"osd": {"op_r": 7, "op_latency": {"avgcount": 3, "sum": 1.000000250, "avgtime": 0.333333416},
	  "op_in_bytes": 4096, "op_size": {"avgcount": 2, "sum": 8192}, "stat_bytes": -1, "op_before_queue_op_lat": {"avgcount": 1, "sum": 0.5, "avgtime": 0.5},
	  "uptime": 12.5},
	"throttle-osd_client_bytes": {"val": 0}}`
)

func TestParseSchemaAndDump(t *testing.T) {
	types, err := ParseSchema(5, []byte(osdSchema), []byte(osdHistSchema))
	require.NoError(t, err)
	require.Equal(t, map[string]Type{
		"osd.op_r":                             {Description: "Client read operations", Type: 10, Priority: 5, Units: UnitNone},
		"osd.op_latency":                       {Description: "Latency of client operations", Nick: "l", Type: 5, Priority: 9, Units: UnitNone},
		"osd.op_in_bytes":                      {Description: "Client data written", Nick: "wr", Type: 10, Priority: 8, Units: UnitBytes},
		"osd.op_size":                          {Description: "Average op size", Type: 6, Priority: 8, Units: UnitBytes},
		"osd.stat_bytes":                       {Description: "OSD size", Nick: "size", Type: 2, Priority: 5, Units: UnitBytes},
		"osd.uptime":                           {Description: "time up", Type: 1, Priority: 5, Units: UnitNone},
		"osd.op_r_latency_out_bytes_histogram": {Description: "Histogram of operation latency", Type: 26, Priority: 5, Units: UnitNone},
	}, types, "priorities below the threshold are left out, units are unit_t numbers")

	values, err := ParseDump([]byte(osdDump), types)
	require.NoError(t, err)
	require.Equal(t, map[string]Value{
		"osd.op_r":                             {V: 7},
		"osd.op_latency":                       {V: 1_000_000_250, Count: 3}, // nanoseconds, exactly
		"osd.op_in_bytes":                      {V: 4096},
		"osd.op_size":                          {V: 8192, Count: 2},
		"osd.stat_bytes":                       {V: math.MaxUint64}, // a gauge below zero wraps as the daemon's uint64
		"osd.uptime":                           {V: 12_500_000_000},
		"osd.op_r_latency_out_bytes_histogram": {},
	}, values)
}

func TestPaths(t *testing.T) {
	schema, err := Paths([]byte(osdSchema))
	require.NoError(t, err)
	require.Len(t, schema, 8, "every priority: %v", schema)
	dump, err := Paths([]byte(osdDump))
	require.NoError(t, err)
	require.Equal(t, schema, dump)
	_, err = Paths([]byte(`[1]`))
	require.Error(t, err)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, schema, dump string
	}{
		{"schema not JSON", `{`, ``},
		{"unknown units", `{"s": {"c": {"type": 2, "priority": 5, "units": "furlongs"}}}`, ``},
		{"dump not JSON", `{"s": {"c": {"type": 2, "priority": 5}}}`, `[`},
		{"value not a number", `{"s": {"c": {"type": 2, "priority": 5}}}`, `{"s": {"c": "x"}}`},
		{"too many decimals", `{"s": {"c": {"type": 1, "priority": 5}}}`, `{"s": {"c": 1.0000000001}}`},
		{"average without count", `{"s": {"c": {"type": 6, "priority": 5}}}`, `{"s": {"c": {"sum": 1}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			types, err := ParseSchema(5, []byte(tc.schema))
			if tc.dump == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			_, err = ParseDump([]byte(tc.dump), types)
			require.Error(t, err)
		})
	}
}

func TestHistory(t *testing.T) {
	types, err := ParseSchema(5, []byte(osdSchema))
	require.NoError(t, err)
	var h History
	t0 := time.Unix(1000, 0)
	for i := range HistoryLen + 3 {
		h.Update("osd.0", types, map[string]Value{"osd.op_r": {V: uint64(i)}, "osd.op_latency": {V: uint64(10 * i), Count: uint64(i)}},
			t0.Add(time.Duration(i)*5*time.Second))
	}
	h.Update("mon.a", map[string]Type{"mon.num_sessions": {Type: 2, Priority: 5, Units: UnitNone}}, map[string]Value{"mon.num_sessions": {V: 2}}, t0)

	series := h.Series("osd.0", "osd.op_r")["osd.op_r"].([]any)
	require.Len(t, series, HistoryLen, "the history is bounded")
	require.Equal(t, []any{1015.0, int64(3)}, series[0], "the oldest samples went first")
	require.Equal(t, []any{1110.0, int64(HistoryLen + 2)}, series[HistoryLen-1])
	avg := h.Series("osd.0", "osd.op_latency")["osd.op_latency"].([]any)
	require.Equal(t, []any{1110.0, int64(10 * (HistoryLen + 2)), int64(HistoryLen + 2)}, avg[HistoryLen-1], "averages are [t, sum, count]")

	for _, tc := range []struct {
		daemon, path string
		want         any
	}{
		{"osd.0", "osd.op_r", []any{1110.0, int64(HistoryLen + 2)}},
		{"osd.0", "osd.op_latency", []any{1110.0, int64(10 * (HistoryLen + 2)), int64(HistoryLen + 2)}},
		{"osd.0", "osd.stat_bytes", []any{}}, // declared, never read
		{"osd.0", "osd.nosuch", []any{}},
		{"osd.9", "osd.op_r", []any{}},
	} {
		require.Equal(t, map[string]any{tc.path: tc.want}, h.Latest(tc.daemon, tc.path), "%s %s", tc.daemon, tc.path)
	}
	require.Equal(t, map[string]any{"osd.nosuch": []any{}}, h.Series("osd.0", "osd.nosuch"))

	monSchema := map[string]any{"mon.num_sessions": map[string]any{"description": "", "type": int64(2), "priority": int64(5), "units": int64(1)}}
	osdSchema := map[string]any{
		"osd.op_r":       map[string]any{"description": "Client read operations", "type": int64(10), "priority": int64(5), "units": int64(1)},
		"osd.op_latency": map[string]any{"description": "Latency of client operations", "nick": "l", "type": int64(5), "priority": int64(9), "units": int64(1)},
	}
	for _, tc := range []struct {
		svcType, svcID string
		want           map[string]any
	}{
		{"osd", "0", map[string]any{"osd.0": osdSchema}},
		{"osd", "", map[string]any{"osd.0": osdSchema}},
		{"", "", map[string]any{"osd.0": osdSchema, "mon.a": monSchema}},
		{"osd", "1", map[string]any{}},
		{"mds", "", map[string]any{}},
	} {
		require.Equal(t, tc.want, h.Schema(tc.svcType, tc.svcID), "get_perf_schema(%q, %q)", tc.svcType, tc.svcID)
	}
	require.Equal(t, []string{"mon.a", "osd.0"}, h.Daemons())

	// A counter that turns into an average starts a new history.
	avgType := map[string]Type{"osd.op_r": {Type: 6, Priority: 5}}
	h.Update("osd.0", avgType, map[string]Value{"osd.op_r": {V: 5, Count: 1}}, t0)
	require.Equal(t, map[string]any{"osd.op_r": []any{[]any{1000.0, int64(5), int64(1)}}}, h.Series("osd.0", "osd.op_r"))

	h.Forget("osd.0")
	require.Equal(t, map[string]any{}, h.Schema("osd", "0"))
	require.Equal(t, map[string]any{"osd.op_r": []any{}}, h.Latest("osd.0", "osd.op_r"))
}

func TestNumber(t *testing.T) {
	require.Equal(t, int64(math.MaxInt64), Number(math.MaxInt64))
	require.Equal(t, uint64(math.MaxInt64+1), Number(math.MaxInt64+1))
}

// Counters: the latest samples typed, sorted, filtered by priority, the
// infos shared until a counter's type changes.
func TestHistoryCounters(t *testing.T) {
	var h History
	require.Empty(t, h.Counters(nil, "osd.0", 0))
	types := map[string]Type{
		"osd.op_w":       {Description: "writes", Type: TypeU64 | TypeCounter, Priority: 5, Units: UnitNone},
		"osd.op_latency": {Description: "latency", Nick: "l", Type: TypeTime | TypeLongRunAvg, Priority: 8},
		"osd.op_r":       {Description: "reads", Type: TypeU64 | TypeCounter, Priority: 2},
	}
	h.Update("osd.0", types, map[string]Value{"osd.op_w": {V: 3}, "osd.op_latency": {V: 40, Count: 2}, "osd.op_r": {V: 9}}, time.Unix(1, 0))
	first := h.Counters(nil, "osd.0", 5)
	require.Len(t, first, 2)
	require.Equal(t, "osd.op_latency", first[0].Path)
	require.Equal(t, "l", first[0].Nick)
	require.Equal(t, [2]uint64{40, 2}, [2]uint64{first[0].Value, first[0].Count})
	require.Equal(t, "osd.op_w", first[1].Path)
	require.Equal(t, uint64(3), first[1].Value)
	require.Len(t, h.Counters(nil, "osd.0", 0), 3)

	// A new sample: new values, the same infos; appended to dst.
	h.Update("osd.0", types, map[string]Value{"osd.op_w": {V: 7}}, time.Unix(2, 0))
	firstW := first[1].PerfCounterInfo
	second := h.Counters(first[:1:1], "osd.0", 5)
	require.Len(t, second, 3)
	require.Same(t, firstW, second[2].PerfCounterInfo)
	require.Equal(t, uint64(7), second[2].Value)

	// A changed description: a new info; the old one is left as it was.
	types["osd.op_w"] = Type{Description: "client writes", Type: TypeU64 | TypeCounter, Priority: 5}
	h.Update("osd.0", types, map[string]Value{"osd.op_w": {V: 8}, "osd.new": {V: 1}}, time.Unix(3, 0))
	third := h.Counters(nil, "osd.0", 5)
	require.Len(t, third, 2)
	require.NotSame(t, firstW, third[1].PerfCounterInfo)
	require.Equal(t, "writes", firstW.Description)
	require.Equal(t, "client writes", third[1].Description)
	// A counter added later is listed in order.
	types["osd.a"] = Type{Description: "a", Type: TypeU64, Priority: 9}
	h.Update("osd.0", types, map[string]Value{"osd.a": {V: 5}}, time.Unix(4, 0))
	fourth := h.Counters(nil, "osd.0", 5)
	require.Equal(t, []string{"osd.a", "osd.op_latency", "osd.op_w"}, []string{fourth[0].Path, fourth[1].Path, fourth[2].Path})
}

// TestHistorySharedInfos: daemons declaring the same counter share its
// info; a changed or forgotten one no longer holds it, and infos no
// daemon uses are dropped.
func TestHistorySharedInfos(t *testing.T) {
	var h History
	types := map[string]Type{
		"osd.op_w": {Description: "writes", Type: TypeU64 | TypeCounter, Priority: 5},
		"osd.op_r": {Description: "reads", Type: TypeU64 | TypeCounter, Priority: 5},
	}
	for i, d := range []string{"osd.0", "osd.1", "osd.2"} {
		h.Update(d, types, map[string]Value{"osd.op_w": {V: uint64(i)}, "osd.op_r": {V: uint64(10 + i)}}, time.Unix(1, 0))
	}
	a, b := h.Counters(nil, "osd.0", 0), h.Counters(nil, "osd.2", 0)
	require.Same(t, a[0].PerfCounterInfo, b[0].PerfCounterInfo)
	require.Same(t, a[1].PerfCounterInfo, b[1].PerfCounterInfo)
	require.Equal(t, []uint64{10, 0}, []uint64{a[0].Value, a[1].Value})
	require.Equal(t, []uint64{12, 2}, []uint64{b[0].Value, b[1].Value})
	require.Len(t, h.infos, 2)

	// osd.1 changes a description: its own info, the others keep theirs.
	changed := map[string]Type{"osd.op_w": {Description: "client writes", Type: TypeU64 | TypeCounter, Priority: 5}, "osd.op_r": types["osd.op_r"]}
	h.Update("osd.1", changed, map[string]Value{"osd.op_w": {V: 5}, "osd.op_r": {V: 6}}, time.Unix(2, 0))
	c := h.Counters(nil, "osd.1", 0)
	require.Equal(t, "client writes", c[1].Description)
	require.Equal(t, uint64(5), c[1].Value)
	require.Same(t, a[0].PerfCounterInfo, c[0].PerfCounterInfo)
	require.Equal(t, "writes", h.Counters(nil, "osd.0", 0)[1].Description)
	require.Len(t, h.infos, 3)

	h.Forget("osd.1")
	require.Len(t, h.infos, 2, "the changed info went with the only daemon using it")
	h.Forget("osd.0")
	h.Forget("osd.2")
	require.Empty(t, h.infos)
}
