package module

import (
	"context"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Perf counter priorities (Python's MgrModule.PRIO_*): a daemon reports to
// the mgr the counters of at least mgr_stats_threshold (PrioUseful by
// default); GetAllPerfCounters filters by one.
const (
	PrioCritical      = 10
	PrioInteresting   = 8
	PrioUseful        = 5
	PrioUninteresting = 2
	PrioDebugOnly     = 0
)

// Perf counter type bits, the "type" of a GetPerfSchema entry (Python's
// MgrModule.PERFCOUNTER_*).
const (
	PerfCounterTime       = 1
	PerfCounterU64        = 2
	PerfCounterLongRunAvg = 4
	PerfCounterCounter    = 8
	PerfCounterHistogram  = 0x10
)

// Perf counter units, the "units" of a GetPerfSchema entry (Python's
// MgrModule.BYTES and NONE).
const (
	PerfUnitBytes = 0
	PerfUnitNone  = 1
)

// PerfHistoryLen is how many samples of a counter GetCounter returns at
// most, as the real mgr keeps.
const PerfHistoryLen = 20

// GetLatestCounter returns the newest sample of a daemon's counter, as
// Python's get_latest_counter: {path: [timestamp, value]}, or [timestamp,
// sum, count] for a long-running average; {path: []} when there is none.
// It comes from where GetCounter's series does.
func (h *Handle) GetLatestCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	return h.rt.LatestCounter(ctx, svcType, svcID, path)
}

// GetLatest returns the newest value of a daemon's counter, 0 when it has
// none (Python's get_latest). For a long-running average it is the sum;
// use GetLatestAvg.
func (h *Handle) GetLatest(ctx context.Context, svcType, svcID, path string) (uint64, error) {
	sample, err := h.latestSample(ctx, svcType, svcID, path)
	if err != nil || len(sample) == 0 {
		return 0, err
	}
	return counterValue(path, sample[1])
}

// GetLatestAvg returns the newest (sum, count) of a daemon's long-running
// average, (0, 0) when it has none (Python's get_latest_avg). A counter
// that is not an average is an -EINVAL error.
func (h *Handle) GetLatestAvg(ctx context.Context, svcType, svcID, path string) (sum, count uint64, err error) {
	sample, err := h.latestSample(ctx, svcType, svcID, path)
	if err != nil || len(sample) == 0 {
		return 0, 0, err
	}
	if len(sample) != 3 {
		return 0, 0, objectformat.NewErrorResponseCode(fmt.Sprintf("get_latest_avg: %s.%s %s is not an average", svcType, svcID, path), -int(syscall.EINVAL))
	}
	if sum, err = counterValue(path, sample[1]); err != nil {
		return 0, 0, err
	}
	count, err = counterValue(path, sample[2])
	return sum, count, err
}

// latestSample is GetLatestCounter's sample: [t, v], [t, sum, count] or
// empty.
func (h *Handle) latestSample(ctx context.Context, svcType, svcID, path string) ([]any, error) {
	c, err := h.rt.LatestCounter(ctx, svcType, svcID, path)
	if err != nil {
		return nil, err
	}
	sample, ok := c[path].([]any)
	if !ok || (len(sample) != 0 && len(sample) != 2 && len(sample) != 3) {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("get_latest_counter(%s, %s, %s): a bad sample %v", svcType, svcID, path, c[path]), -int(syscall.EIO))
	}
	return sample, nil
}

// counterValue is a sample's number as the daemon's uint64.
func counterValue(path string, v any) (uint64, error) {
	switch n := v.(type) {
	case int64:
		return uint64(n), nil
	case uint64:
		return n, nil
	case int:
		if n >= 0 {
			return uint64(n), nil
		}
	case float64:
		if n >= 0 && n == float64(uint64(n)) {
			return uint64(n), nil
		}
	}
	return 0, objectformat.NewErrorResponseCode(fmt.Sprintf("counter %s: %v (%T) is not an unsigned integer", path, v, v), -int(syscall.EIO))
}

// GetAllPerfCounters returns the perf counters of the cluster's daemons,
// as Python's get_all_perf_counters(prio_limit, services): {"osd.0":
// {"osd.op_r": {description, nick, type, priority, units, value}}}, the
// counters of at least prioLimit priority (PrioUseful is Python's default)
// of each daemon of services (nil: Python's default, mds, mon, osd,
// rbd-mirror, rgw and tcmu-runner) that list_servers lists, each with its
// latest value; a long-running average has its sum as "value" and a
// "count". Daemons without such counters are left out. Attached, only the
// OSDs, monitors and MDSs (and this daemon, as "mgr") have counters.
func (h *Handle) GetAllPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error) {
	return h.rt.AllPerfCounters(ctx, prioLimit, services)
}
