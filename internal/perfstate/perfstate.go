// Package perfstate keeps daemons' performance counters over time as the
// real ceph-mgr keeps those its daemons report to it (its DaemonState):
// per daemon, the declared counter types (the counters of at least
// mgr_stats_threshold priority) and, per counter, a bounded history of
// samples, HistoryLen of them, the oldest dropped first. A long-running
// average (PERFCOUNTER_LONGRUNAVG) is kept as (sum, count) pairs, every
// other counter as one unsigned value; time counters (PERFCOUNTER_TIME)
// are in nanoseconds, as daemons send them to the mgr.
//
// The answers have the shapes Python's MgrModule methods give:
// get_perf_schema ({"osd.0": {"osd.op_r": {description, nick, type,
// priority, units}}}), get_counter ({path: [[t, v], ...]} or [[t, sum,
// count], ...]) and get_latest_counter ({path: [t, v]} or [t, sum,
// count]; {path: []} when there is no sample). Numbers are int64 where
// they fit and uint64 above, as internal/jsonval decodes the real mgr's
// answers; timestamps are float64 seconds since the epoch.
//
// A daemon's counters come from its admin commands: ParseSchema reads
// `perf schema` and `perf histogram schema`, ParseDump `perf dump`.
package perfstate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
)

// HistoryLen is how many samples of each counter are kept, as the real
// mgr keeps (PerfCounterInstance's circular buffers).
const HistoryLen = 20

// DefaultThreshold is Ceph's default mgr_stats_threshold
// (PerfCountersBuilder::PRIO_USEFUL).
const DefaultThreshold = 5

// Counter type bits (Ceph's perfcounter_type_d, Python's PERFCOUNTER_*).
const (
	TypeTime       = 1
	TypeU64        = 2
	TypeLongRunAvg = 4
	TypeCounter    = 8
	TypeHistogram  = 0x10
)

// Units (Ceph's unit_t, Python's MgrModule.BYTES and NONE).
const (
	UnitBytes = 0
	UnitNone  = 1
)

// Type describes one counter as a daemon declares it to the mgr.
type Type struct {
	Description string
	Nick        string
	Type        int64
	Priority    int64
	Units       int64
}

// Value is one reading of a counter: V, or for an average its sum in V
// and its count in Count.
type Value struct {
	V, Count uint64
}

type sample struct {
	t    float64
	v, c uint64
}

// series is a bounded history, oldest first; idx is its position in
// its daemon's order.
type series struct {
	samples []sample
	idx     int
}

func (s *series) push(x sample) {
	if len(s.samples) == HistoryLen {
		copy(s.samples, s.samples[1:])
		s.samples = s.samples[:HistoryLen-1]
	}
	s.samples = append(s.samples, x)
}

type daemonCounters struct {
	types  map[string]Type
	series map[string]*series
	// infos are the counters' types as Counters hands them out, one a
	// type (the History's, shared by every daemon declaring the same;
	// replaced, never modified, when it changes); order is every
	// counter's info and series sorted by path, nil when a counter, its
	// info or its series was replaced or added since.
	infos map[string]*module.PerfCounterInfo
	order []counterRef
}

// counterRef is a counter in its daemon's order: what Counters reads
// of it, in one place (its priority, its newest sample).
type counterRef struct {
	info *module.PerfCounterInfo
	s    *series
	prio int
	last sample
}

// History is the counters of a set of daemons, keyed "<type>.<id>". It is
// safe for concurrent use; the zero value is empty and ready.
type History struct {
	mu      sync.Mutex
	daemons map[string]*daemonCounters
	// infos are the daemons' counter types, one a distinct type, with
	// how many daemons' counters use each: daemons of one kind declare
	// the same, so a cluster's thousands of OSDs share a few dozen.
	infos map[module.PerfCounterInfo]*sharedInfo
}

type sharedInfo struct {
	info *module.PerfCounterInfo
	refs int
}

// intern returns the shared info equal to v, one more daemon's counter
// using it.
func (h *History) intern(v module.PerfCounterInfo) *module.PerfCounterInfo {
	if h.infos == nil {
		h.infos = map[module.PerfCounterInfo]*sharedInfo{}
	}
	e := h.infos[v]
	if e == nil {
		e = &sharedInfo{info: &v}
		h.infos[v] = e
	}
	e.refs++
	return e.info
}

// release is intern's undoing: a daemon's counter no longer uses info.
func (h *History) release(info *module.PerfCounterInfo) {
	if e := h.infos[*info]; e != nil && e.info == info {
		if e.refs--; e.refs <= 0 {
			delete(h.infos, *info)
		}
	}
}

// Update records one report of daemon: types are the counters it declares
// now (their descriptions replace the old), values its readings, taken at
// t. A declared counter without a value is left as it is. Counters it no
// longer declares keep their history, as in the real mgr, until the
// daemon is forgotten.
func (h *History) Update(daemon string, types map[string]Type, values map[string]Value, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.daemons == nil {
		h.daemons = map[string]*daemonCounters{}
	}
	d := h.daemons[daemon]
	if d == nil {
		d = &daemonCounters{types: map[string]Type{}, series: map[string]*series{}, infos: map[string]*module.PerfCounterInfo{}}
		h.daemons[daemon] = d
	}
	ts := float64(t.UnixNano()) / 1e9
	for path, typ := range types {
		v, ok := values[path]
		if !ok {
			continue
		}
		old, known := d.types[path]
		s := d.series[path]
		if s == nil || (known && old.Type&TypeLongRunAvg != typ.Type&TypeLongRunAvg) {
			d.order = nil
			s = &series{} // a new counter, or one whose samples change shape
			d.series[path] = s
		}
		if !known || old != typ {
			d.order = nil
			if info := d.infos[path]; info != nil {
				h.release(info)
			}
			d.infos[path] = h.intern(module.PerfCounterInfo{Path: path, Description: typ.Description, Nick: typ.Nick,
				Type: int(typ.Type), Priority: int(typ.Priority), Units: int(typ.Units)})
		}
		d.types[path] = typ
		x := sample{t: ts, v: v.V}
		if typ.Type&TypeLongRunAvg != 0 {
			x.c = v.Count
		}
		s.push(x)
		if d.order != nil && s.idx < len(d.order) && d.order[s.idx].s == s {
			d.order[s.idx].last = x
		}
	}
	if d.order == nil { // at the report, not at the next reader's call
		d.sortCounters()
	}
}

// sortCounters makes d.order.
func (d *daemonCounters) sortCounters() {
	d.order = make([]counterRef, 0, len(d.series))
	for _, path := range slices.Sorted(maps.Keys(d.series)) {
		if info := d.infos[path]; info != nil {
			s := d.series[path]
			ref := counterRef{info: info, s: s, prio: info.Priority}
			if len(s.samples) > 0 {
				ref.last = s.samples[len(s.samples)-1]
			}
			s.idx = len(d.order)
			d.order = append(d.order, ref)
		}
	}
}

// Counters appends to dst daemon's counters of at least prioLimit
// priority, sorted by path, each with its newest sample (module.Handle's
// PerfCounters); the infos are shared between calls. An unknown daemon
// appends nothing.
func (h *History) Counters(dst []module.PerfCounter, daemon string, prioLimit int) []module.PerfCounter {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.daemons[daemon]
	if d == nil {
		return dst
	}
	if d.order == nil {
		d.sortCounters()
	}
	dst = slices.Grow(dst, len(d.order))
	for i := range d.order {
		ref := &d.order[i]
		if ref.prio < prioLimit {
			continue
		}
		dst = append(dst, module.PerfCounter{PerfCounterInfo: ref.info, Value: ref.last.v, Count: ref.last.c})
	}
	return dst
}

// Forget drops a daemon's counters (a daemon that left the cluster).
func (h *History) Forget(daemon string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.daemons[daemon]; d != nil {
		for _, info := range d.infos {
			h.release(info)
		}
	}
	delete(h.daemons, daemon)
}

// Daemons lists the daemons with counters, sorted.
func (h *History) Daemons() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.daemons))
}

// matches reports whether daemon "<type>.<id>" is selected by svcType and
// svcID, either of which may be "" for any (Python's get_perf_schema).
func matches(daemon, svcType, svcID string) bool {
	typ, id, _ := strings.Cut(daemon, ".")
	switch {
	case svcType == "":
		return true
	case svcID == "":
		return typ == svcType
	}
	return typ == svcType && id == svcID
}

// Schema is Python's get_perf_schema(svc_type, svc_id): every selected
// daemon with its counters ({} when none is selected).
func (h *History) Schema(svcType, svcID string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]any{}
	for name, d := range h.daemons {
		if !matches(name, svcType, svcID) {
			continue
		}
		counters := make(map[string]any, len(d.series))
		for path := range d.series {
			counters[path] = d.types[path].python()
		}
		out[name] = counters
	}
	return out
}

// python is a type in get_perf_schema's shape.
func (t Type) python() map[string]any {
	m := map[string]any{"description": t.Description, "type": t.Type, "priority": t.Priority, "units": t.Units}
	if t.Nick != "" {
		m["nick"] = t.Nick
	}
	return m
}

// Series is Python's get_counter: {path: [[t, v], ...]}, or [[t, sum,
// count], ...] for an average, oldest first; {path: []} for an unknown
// daemon or counter.
func (h *History) Series(daemon, path string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := []any{}
	if d := h.daemons[daemon]; d != nil {
		if s := d.series[path]; s != nil {
			avg := d.types[path].Type&TypeLongRunAvg != 0
			for _, x := range s.samples {
				list = append(list, x.python(avg))
			}
		}
	}
	return map[string]any{path: list}
}

// Latest is Python's get_latest_counter: {path: [t, v]} or [t, sum,
// count], the newest sample; {path: []} for an unknown daemon or counter.
func (h *History) Latest(daemon, path string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.daemons[daemon]; d != nil {
		if s := d.series[path]; s != nil && len(s.samples) > 0 {
			return map[string]any{path: s.samples[len(s.samples)-1].python(d.types[path].Type&TypeLongRunAvg != 0)}
		}
	}
	return map[string]any{path: []any{}}
}

func (x sample) python(avg bool) []any {
	if avg {
		return []any{x.t, Number(x.v), Number(x.c)}
	}
	return []any{x.t, Number(x.v)}
}

// Number is an unsigned counter value as internal/jsonval decodes it:
// int64 where it fits, else uint64.
func Number(v uint64) any {
	if v <= math.MaxInt64 {
		return int64(v)
	}
	return v
}

// schemaEntry is one counter of `perf schema`.
type schemaEntry struct {
	Type        int64           `json:"type"`
	Description string          `json:"description"`
	Nick        string          `json:"nick"`
	Priority    int64           `json:"priority"`
	Units       json.RawMessage `json:"units"`
}

// ParseSchema reads the outputs of a daemon's `perf schema` and `perf
// histogram schema` (each {section: {counter: {type, description, nick,
// priority, units, ...}}}) into the counters it reports to a mgr whose
// mgr_stats_threshold is threshold: those of at least that priority,
// keyed "<section>.<counter>".
func ParseSchema(threshold int64, outputs ...[]byte) (map[string]Type, error) {
	types := map[string]Type{}
	for _, out := range outputs {
		var sections map[string]map[string]schemaEntry
		if err := json.Unmarshal(out, &sections); err != nil {
			return nil, fmt.Errorf("perf schema: %w", err)
		}
		for sec, counters := range sections {
			for name, c := range counters {
				if c.Priority < threshold {
					continue
				}
				units, err := parseUnits(c.Units)
				if err != nil {
					return nil, fmt.Errorf("perf schema: %s.%s: %w", sec, name, err)
				}
				types[sec+"."+name] = Type{Description: c.Description, Nick: c.Nick, Type: c.Type, Priority: c.Priority, Units: units}
			}
		}
	}
	return types, nil
}

// parseUnits reads a counter's units, "bytes" or "none" (or the number),
// as unit_t.
func parseUnits(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 {
		return UnitNone, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "bytes":
			return UnitBytes, nil
		case "none", "":
			return UnitNone, nil
		}
		return 0, fmt.Errorf("unknown units %q", s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || (n != UnitBytes && n != UnitNone) {
		return 0, fmt.Errorf("unknown units %s", raw)
	}
	return n, nil
}

// Paths lists the counters ("<section>.<counter>") of a `perf schema`
// or `perf dump` output, whatever their priority: a dump with a counter
// its schema does not have means the daemon added counters since.
func Paths(out []byte) (map[string]bool, error) {
	var sections map[string]map[string]json.RawMessage
	if err := json.Unmarshal(out, &sections); err != nil {
		return nil, fmt.Errorf("perf counters: %w", err)
	}
	paths := map[string]bool{}
	for sec, counters := range sections {
		for name := range counters {
			paths[sec+"."+name] = true
		}
	}
	return paths, nil
}

// ParseDump reads a daemon's `perf dump` ({section: {counter: value}})
// into the readings of the counters of types, as the daemon sends them to
// the mgr: time counters in nanoseconds (the dump has seconds with nine
// decimals), averages as (sum, count), histograms (which the dump leaves
// out) as 0. A counter of types the dump does not have is left out.
func ParseDump(dump []byte, types map[string]Type) (map[string]Value, error) {
	var sections map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(dump))
	if err := dec.Decode(&sections); err != nil {
		return nil, fmt.Errorf("perf dump: %w", err)
	}
	raw := map[string]json.RawMessage{}
	for sec, counters := range sections {
		for name, v := range counters {
			raw[sec+"."+name] = v
		}
	}
	values := make(map[string]Value, len(types))
	for path, t := range types {
		if t.Type&TypeHistogram != 0 {
			values[path] = Value{}
			continue
		}
		r, ok := raw[path]
		if !ok {
			continue
		}
		v, err := parseValue(r, t.Type)
		if err != nil {
			return nil, fmt.Errorf("perf dump: %s: %w", path, err)
		}
		values[path] = v
	}
	return values, nil
}

// parseValue reads one counter of a perf dump.
func parseValue(raw json.RawMessage, typ int64) (Value, error) {
	if typ&TypeLongRunAvg != 0 {
		var avg struct {
			Count json.Number `json:"avgcount"`
			Sum   json.Number `json:"sum"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&avg); err != nil {
			return Value{}, err
		}
		c, err := unsigned(string(avg.Count), false)
		if err != nil {
			return Value{}, fmt.Errorf("avgcount: %w", err)
		}
		s, err := unsigned(string(avg.Sum), typ&TypeTime != 0)
		if err != nil {
			return Value{}, fmt.Errorf("sum: %w", err)
		}
		return Value{V: s, Count: c}, nil
	}
	v, err := unsigned(strings.TrimSpace(string(raw)), typ&TypeTime != 0)
	return Value{V: v}, err
}

// unsigned reads a number of a perf dump as the daemon's uint64: seconds
// (decimal text) as nanoseconds, exactly, for a time counter; a negative
// integer (a gauge below zero) wraps around as the unsigned value does.
func unsigned(s string, seconds bool) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("no number")
	}
	if seconds {
		whole, frac, _ := strings.Cut(s, ".")
		if len(frac) > 9 || strings.ContainsAny(s, "eE-+") {
			return 0, fmt.Errorf("%q is not seconds with up to nine decimals", s)
		}
		w, err := strconv.ParseUint(whole, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("seconds %q: %w", s, err)
		}
		f := uint64(0)
		if frac != "" {
			if f, err = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
				return 0, fmt.Errorf("seconds %q: %w", s, err)
			}
		}
		if w > (math.MaxUint64-f)/1e9 {
			return 0, fmt.Errorf("seconds %q out of range", s)
		}
		return w*1e9 + f, nil
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return v, nil
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return uint64(i), nil
}
