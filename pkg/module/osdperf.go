package module

import (
	"context"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// OSDPerfQuery is an OSD perf query (Python's add_osd_perf_query
// argument, the mgr's OSDPerfMetricQuery): the OSDs group the ops they
// serve by the key, the sub-keys each a regex's groups over one
// attribute of an op, and count the performance counters of each group.
type OSDPerfQuery struct {
	// KeyDescriptor is the key's sub-keys, in order.
	KeyDescriptor []OSDPerfSubKey `json:"key_descriptor"`
	// PerformanceCounterDescriptors is the counters, in order: "ops",
	// "write_ops", "read_ops", "bytes", "write_bytes", "read_bytes",
	// "latency", "write_latency", "read_latency".
	PerformanceCounterDescriptors []string `json:"performance_counter_descriptors"`
	// Limit, if set, keeps only the MaxCount groups with the most
	// OrderBy (one of the counters).
	Limit *OSDPerfLimit `json:"limit,omitempty"`
}

// OSDPerfSubKey is one sub-key of an OSDPerfQuery: an op attribute
// (Type: "client_id", "client_address", "pool_id", "namespace",
// "osd_id", "pg_id", "object_name" or "snap_id") and the regex (ECMAScript,
// as the OSDs' std::regex reads it) whose groups are the sub-key's
// values; an op whose attribute does not match is not counted.
type OSDPerfSubKey struct {
	Type  string `json:"type"`
	Regex string `json:"regex"`
}

// OSDPerfLimit is an OSDPerfQuery's limit.
type OSDPerfLimit struct {
	OrderBy  string `json:"order_by"`
	MaxCount int    `json:"max_count"`
}

// OSDPerfCounters is what the OSDs counted for a query since the last
// GetOSDPerfCounters (Python's get_osd_perf_counters answer): the mgr
// hands out each report once, so a caller that wants totals adds them up.
type OSDPerfCounters struct {
	Counters []OSDPerfGroup `json:"counters"`
}

// OSDPerfGroup is one key's counts: K holds, for each sub-key, its
// regex's groups' values; C, for each counter of the query, [value,
// count] (count is the number of ops of a latency, whose value is their
// summed latency; 0 for the other counters).
type OSDPerfGroup struct {
	K [][]string  `json:"k"`
	C [][2]uint64 `json:"c"`
}

var (
	osdPerfSubKeyTypes = map[string]bool{"client_id": true, "client_address": true, "pool_id": true,
		"namespace": true, "osd_id": true, "pg_id": true, "object_name": true, "snap_id": true}
	osdPerfCounterTypes = map[string]bool{"ops": true, "write_ops": true, "read_ops": true, "bytes": true,
		"write_bytes": true, "read_bytes": true, "latency": true, "write_latency": true, "read_latency": true}
)

// Validate checks a query as the mgr parses it: at least one sub-key and
// one counter, every type known, a limit ordered by one of the query's
// counters with a positive count. Its errors are -EINVAL.
func (q OSDPerfQuery) Validate() error {
	bad := func(format string, args ...any) error {
		return objectformat.NewErrorResponseCode("invalid OSD perf query: "+fmt.Sprintf(format, args...), -int(syscall.EINVAL))
	}
	if len(q.KeyDescriptor) == 0 {
		return bad("no key_descriptor")
	}
	for _, k := range q.KeyDescriptor {
		if !osdPerfSubKeyTypes[k.Type] {
			return bad("unknown sub-key type %q", k.Type)
		}
		if k.Regex == "" {
			return bad("sub-key %s has no regex", k.Type)
		}
	}
	if len(q.PerformanceCounterDescriptors) == 0 {
		return bad("no performance_counter_descriptors")
	}
	seen := map[string]bool{}
	for _, c := range q.PerformanceCounterDescriptors {
		if !osdPerfCounterTypes[c] {
			return bad("unknown performance counter type %q", c)
		}
		seen[c] = true
	}
	if l := q.Limit; l != nil {
		if !seen[l.OrderBy] {
			return bad("limit order_by %q is not one of the query's counters", l.OrderBy)
		}
		if l.MaxCount <= 0 {
			return bad("limit max_count %d is not positive", l.MaxCount)
		}
	}
	return nil
}

// ErrOSDPerfQueryUnsupported is the error of the OSD perf query calls
// where there are no OSD perf queries: the OSDs report their results to
// the active ceph-mgr only, so only a module bridged into one has them.
var ErrOSDPerfQueryUnsupported error = objectformat.NewErrorResponseCode(
	"OSD perf queries need the active ceph-mgr: run the module bridged", -int(syscall.EOPNOTSUPP))

// AddOSDPerfQuery registers an OSD perf query (Python's
// add_osd_perf_query) and returns its id. Bridged into a real ceph-mgr
// it is that mgr's; attached and embedded the OSDs do not report to
// gomgr: ErrOSDPerfQueryUnsupported (-EOPNOTSUPP, Linux's ENOTSUP). An
// invalid query is -EINVAL. The module's queries are removed when it
// stops (and, bridged, when its Go process goes away), so a module need
// not remove them in Shutdown, but should remove one it no longer reads:
// the OSDs keep counting for it.
func (h *Handle) AddOSDPerfQuery(ctx context.Context, q OSDPerfQuery) (int, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	return h.rt.AddOSDPerfQuery(ctx, q)
}

// GetOSDPerfCounters returns what the OSDs counted for query id since
// the last call (Python's get_osd_perf_counters); an unknown id is
// -ENOENT.
func (h *Handle) GetOSDPerfCounters(ctx context.Context, id int) (OSDPerfCounters, error) {
	return h.rt.OSDPerfCounters(ctx, id)
}

// RemoveOSDPerfQuery unregisters query id (Python's
// remove_osd_perf_query); an id that is not one of the module's is
// -ENOENT. The id is no longer the module's afterwards even when the
// removal failed (bridged, the mgr may have dropped it already: the shim
// removes a connection's queries when it closes).
func (h *Handle) RemoveOSDPerfQuery(ctx context.Context, id int) error {
	return h.rt.RemoveOSDPerfQuery(ctx, id)
}
