package module_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/module"
)

// The author's constants are the runtime's (and Ceph's) values.
func TestPerfConstantsAreTheRuntimes(t *testing.T) {
	require.Equal(t,
		[]int{perfstate.TypeTime, perfstate.TypeU64, perfstate.TypeLongRunAvg, perfstate.TypeCounter, perfstate.TypeHistogram,
			perfstate.UnitBytes, perfstate.UnitNone, perfstate.HistoryLen, perfstate.DefaultThreshold},
		[]int{module.PerfCounterTime, module.PerfCounterU64, module.PerfCounterLongRunAvg, module.PerfCounterCounter, module.PerfCounterHistogram,
			module.PerfUnitBytes, module.PerfUnitNone, module.PerfHistoryLen, module.PrioUseful})
}

// A bad entry or value is an error naming the daemon and counter, not a
// panic or a silent zero.
func TestPerfCountersFromPythonErrors(t *testing.T) {
	for _, all := range []map[string]any{
		{"osd.0": "x"},
		{"osd.0": map[string]any{"osd.op_r": 1}},
		{"osd.0": map[string]any{"osd.op_r": map[string]any{"type": "counter", "value": 1}}},
		{"osd.0": map[string]any{"osd.op_r": map[string]any{"type": 10, "value": -1}}},
		{"osd.0": map[string]any{"osd.op_r": map[string]any{"type": 10, "value": 1.5}}},
		{"osd.0": map[string]any{"osd.op_r": map[string]any{"type": 5, "value": 1, "count": "2"}}},
	} {
		_, err := module.PerfCountersFromPython(all)
		require.ErrorContains(t, err, "osd.0", "%v", all)
	}
	typed, err := module.PerfCountersFromPython(map[string]any{"osd.0": map[string]any{"osd.op_w": map[string]any{"type": int64(10), "value": uint64(1 << 63)}}})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<63), typed[0].Counters[0].Value)
	require.Equal(t, uint64(1<<63), module.PerfCountersToPython(typed)["osd.0"].(map[string]any)["osd.op_w"].(map[string]any)["value"])
}
