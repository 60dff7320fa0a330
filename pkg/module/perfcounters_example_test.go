package module_test

import (
	"context"
	"fmt"

	"github.com/gomgr/gomgr/pkg/module"
)

// A module that reads every counter of the cluster on each pass (an
// exporter) asks for them typed: one slice a daemon, the counters sorted
// by path, the schema entries shared between calls.
func ExampleHandle_PerfCounters() {
	var h *module.Handle // the module's, from its constructor
	report := func(ctx context.Context) error {
		daemons, err := h.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
		if err != nil {
			return err
		}
		for _, d := range daemons {
			for _, c := range d.Counters {
				v := float64(c.Value)
				if c.Type&module.PerfCounterTime != 0 {
					v /= 1e9 // nanoseconds
				}
				if c.Type&module.PerfCounterLongRunAvg != 0 && c.Count > 0 {
					v /= float64(c.Count) // the average
				}
				fmt.Println(d.Daemon, c.Path, v)
			}
		}
		return nil
	}
	_ = report
}

// get_all_perf_counters' Python shape converts to the typed one and back.
func ExamplePerfCountersFromPython() {
	typed, err := module.PerfCountersFromPython(map[string]any{
		"osd.1": map[string]any{
			"osd.op_r":         map[string]any{"description": "Client read operations", "type": 10, "priority": 8, "units": 1, "value": 7},
			"osd.op_r_latency": map[string]any{"description": "Read latency", "type": 5, "priority": 8, "units": 1, "value": 3e9, "count": 2},
		},
		"osd.0": map[string]any{
			"osd.op_r": map[string]any{"description": "Client read operations", "type": 10, "priority": 8, "units": 1, "value": 4},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range typed {
		for _, c := range d.Counters {
			fmt.Println(d.Daemon, c.Path, c.Type, c.Value, c.Count)
		}
	}
	fmt.Println(module.PerfCountersToPython(typed)["osd.0"])
	// Output:
	// osd.0 osd.op_r 10 4 0
	// osd.1 osd.op_r 10 7 0
	// osd.1 osd.op_r_latency 5 3000000000 2
	// map[osd.op_r:map[description:Client read operations priority:8 type:10 units:1 value:4]]
}
