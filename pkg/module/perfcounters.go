package module

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// PerfCounterInfo is one counter as a daemon declares it (an entry of
// get_perf_schema). The host hands out the same *PerfCounterInfo for a
// counter call after call while the daemon's schema does not change, so
// a module may key caches on it (daemons declaring the same counter may
// share one); it must not be modified.
type PerfCounterInfo struct {
	Path        string // e.g. "osd.op_r"
	Description string
	Nick        string
	Type        int // PerfCounter* bits
	Priority    int // Prio*
	Units       int // PerfUnit*
}

// PerfCounter is a counter's latest reading: Value (a time counter's in
// nanoseconds; a long-running average's sum) and, for a long-running
// average, Count. Both are 0 when the daemon has reported no sample.
type PerfCounter struct {
	*PerfCounterInfo
	Value, Count uint64
}

// DaemonPerf is one daemon's counters, sorted by path.
type DaemonPerf struct {
	Daemon   string // "<type>.<id>", e.g. "osd.0"
	Counters []PerfCounter
}

// PerfCounters returns what GetAllPerfCounters does (the same daemons,
// counters, priorities and values) typed rather than in Python's shape:
// the daemons sorted by name, each with its counters sorted by path; the
// schema entries are shared (see PerfCounterInfo), not built a call. It
// is the cheaper call for a module that reads every counter of a large
// cluster (the prometheus module). Bridged, the module's shim reads the
// real mgr's latest values as get_all_perf_counters does, and sends each
// daemon's counters (descriptions included) once, then their values
// alone.
func (h *Handle) PerfCounters(ctx context.Context, prioLimit int, services []string) ([]DaemonPerf, error) {
	return h.rt.PerfCounters(ctx, prioLimit, services)
}

// PerfCountersFromPython converts get_all_perf_counters' Python shape
// ({daemon: {path: {description, nick, type, priority, units, value,
// count}}}) to PerfCounters'. Every call builds new PerfCounterInfos.
// A value that is not an unsigned integer is an -EIO error.
func PerfCountersFromPython(all map[string]any) ([]DaemonPerf, error) {
	out := make([]DaemonPerf, 0, len(all))
	for daemon, v := range all {
		counters, ok := v.(map[string]any)
		if !ok {
			return nil, perfShapeError(daemon, "", v)
		}
		d := DaemonPerf{Daemon: daemon, Counters: make([]PerfCounter, 0, len(counters))}
		infos := make([]PerfCounterInfo, len(counters))
		i := 0
		for path, c := range counters {
			entry, ok := c.(map[string]any)
			if !ok {
				return nil, perfShapeError(daemon, path, c)
			}
			info := &infos[i]
			i++
			info.Path = path
			info.Description, _ = entry["description"].(string)
			info.Nick, _ = entry["nick"].(string)
			for _, f := range [...]struct {
				key string
				dst *int
			}{{"type", &info.Type}, {"priority", &info.Priority}, {"units", &info.Units}} {
				if n, ok := jsonval.Int(entry[f.key]); ok {
					*f.dst = int(n)
				} else if entry[f.key] != nil {
					return nil, perfShapeError(daemon, path, entry)
				}
			}
			pc := PerfCounter{PerfCounterInfo: info}
			var err error
			if entry["value"] != nil {
				if pc.Value, err = counterValue(daemon+" "+path, entry["value"]); err != nil {
					return nil, err
				}
			}
			if entry["count"] != nil {
				if pc.Count, err = counterValue(daemon+" "+path, entry["count"]); err != nil {
					return nil, err
				}
			}
			d.Counters = append(d.Counters, pc)
		}
		slices.SortFunc(d.Counters, func(a, b PerfCounter) int { return strings.Compare(a.Path, b.Path) })
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DaemonPerf) int { return strings.Compare(a.Daemon, b.Daemon) })
	return out, nil
}

func perfShapeError(daemon, path string, v any) error {
	return objectformat.NewErrorResponseCode(fmt.Sprintf("get_all_perf_counters: %s %s: a bad entry %v", daemon, path, v), -int(syscall.EIO))
}

// PerfCountersToPython is PerfCounters' answer in get_all_perf_counters'
// shape (values as int64 where they fit, else uint64; "nick" only when
// set; "count" for a long-running average).
func PerfCountersToPython(daemons []DaemonPerf) map[string]any {
	out := make(map[string]any, len(daemons))
	for _, d := range daemons {
		counters := make(map[string]any, len(d.Counters))
		for _, c := range d.Counters {
			e := map[string]any{"description": c.Description, "type": int64(c.Type), "priority": int64(c.Priority),
				"units": int64(c.Units), "value": number(c.Value)}
			if c.Nick != "" {
				e["nick"] = c.Nick
			}
			if c.Type&PerfCounterLongRunAvg != 0 {
				e["count"] = number(c.Count)
			}
			counters[c.Path] = e
		}
		out[d.Daemon] = counters
	}
	return out
}

// number is v as internal/jsonval decodes an unsigned integer.
func number(v uint64) any {
	if v <= math.MaxInt64 {
		return int64(v)
	}
	return v
}
