package bridge

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/jsonval"
)

// reader is one read of a side (pyprobe, the bridged or the attached Go
// selftest): stdout, stderr and exit status.
type reader = func() (string, string, int)

// perfSides are the sides TestRealMgrGetNamesMatchPython compares.
type perfSides struct {
	python   func(method string, args ...any) reader
	bridged  func(expr string) reader
	attached func(expr string) reader
	// compare reads a Python and a Go side until their normalized values
	// agree, and fails the test if they never do.
	compare func(what string, py, gomod reader, norm func(any) any)
}

// comparePerfCounters compares the perf counter calls (get_perf_schema,
// get_counter, get_latest_counter, get_latest, get_latest_avg,
// get_all_perf_counters) of the Go selftest with pyprobe's in the same
// real mgr: bridged, the values are the real mgr's and must equal
// Python's as JSON; attached, gomgr collects them itself at other times,
// so the schemas must be equal, the series of the same shape, and a
// counter that does not move (the OSD's size) of the same value.
func comparePerfCounters(t *testing.T, s perfSides) {
	// The counters the comparisons use, from the real mgr's schemas.
	paths := map[string][]string{} // daemon → a plain counter and an average
	for _, d := range [][2]string{{"osd", "0"}, {"mon", "a"}, {"mgr", "x"}} {
		schema, ok := readJSON(t, "get_perf_schema (Python)", s.python("get_perf_schema", d[0], d[1])).(map[string]any)
		require.True(t, ok)
		counters, _ := schema[d[0]+"."+d[1]].(map[string]any)
		require.NotEmpty(t, counters, "the real mgr has no counters of %s.%s", d[0], d[1])
		var plain, avg string
		for _, p := range sortedKeysOf(counters) {
			tp, _ := jsonval.Int(counters[p].(map[string]any)["type"])
			switch {
			case tp&4 != 0 && avg == "":
				avg = p
			case tp&4 == 0 && tp&0x10 == 0 && plain == "":
				plain = p
			}
		}
		paths[d[0]+"."+d[1]] = slices.DeleteFunc([]string{plain, avg}, func(p string) bool { return p == "" })
	}
	paths["osd.0"] = append(paths["osd.0"], "osd.stat_bytes", "nosuch.counter")

	call := func(method string, args ...any) string {
		b, _ := json.Marshal(args)
		return fmt.Sprintf("mgr.%s(*%s)", method, b)
	}
	type perfCall struct {
		method string
		args   []any
	}
	var calls []perfCall
	for _, d := range [][2]string{{"osd", "0"}, {"mon", "a"}, {"mgr", "x"}, {"osd", ""}, {"", ""}, {"osd", "999"}} {
		calls = append(calls, perfCall{"get_perf_schema", []any{d[0], d[1]}})
	}
	for _, daemon := range sortedKeysOf(paths) {
		typ, id, _ := strings.Cut(daemon, ".")
		for _, p := range paths[daemon] {
			for _, m := range []string{"get_counter", "get_latest_counter", "get_latest"} {
				calls = append(calls, perfCall{m, []any{typ, id, p}})
			}
		}
		if len(paths[daemon]) > 1 {
			calls = append(calls, perfCall{"get_latest_avg", []any{typ, id, paths[daemon][1]}})
		}
	}
	calls = append(calls, perfCall{"get_all_perf_counters", []any{}}, perfCall{"get_all_perf_counters", []any{10, []any{"osd"}}},
		perfCall{"get_all_perf_counters", []any{5, []any{"mon", "osd"}}})

	for _, c := range calls {
		what := fmt.Sprintf("bridged %s%v", c.method, c.args)
		s.compare(what, s.python(c.method, c.args...), s.bridged(call(c.method, c.args...)), canonical)
	}

	// Attached: gomgr's own collection, for the daemons it reads.
	for _, c := range calls {
		if len(c.args) >= 2 && c.args[0] == "mgr" {
			continue // it cannot read the real mgr's counters (EOPNOTSUPP)
		}
		norm := canonical
		switch {
		case c.method == "get_counter" || c.method == "get_latest_counter":
			norm = sampleShape
		case c.method == "get_latest" || c.method == "get_latest_avg":
			norm = func(any) any { return nil } // only that the call works: the value moves
		case c.method == "get_all_perf_counters":
			norm = withoutValues
		}
		if c.method == "get_latest" && c.args[2] == "osd.stat_bytes" {
			norm = canonical // a size: the same in every sample
		}
		if c.method == "get_perf_schema" && c.args[0] == "" {
			norm = withoutMgrs // the attached daemon's own is not the real mgr's
		}
		if c.method == "get_perf_schema" || c.method == "get_all_perf_counters" {
			norm = withoutObjecter(norm)
		}
		s.compare(fmt.Sprintf("attached %s%v", c.method, c.args), s.python(c.method, c.args...), s.attached(call(c.method, c.args...)), norm)
	}
	// The attached series grow to the real mgr's length, then stay there.
	o, e, rc := s.attached(`len(mgr.get_counter("osd", "0", "osd.stat_bytes")["osd.stat_bytes"])`)()
	require.Zero(t, rc, "%s", e)
	var n int
	require.NoError(t, json.Unmarshal([]byte(o), &n), o)
	require.True(t, n >= 1 && n <= 20, "the attached series has %d samples", n)
}

// sampleShape is a get_counter or get_latest_counter answer with each
// sample as its arity (timestamps and values move): {path: [2, 2, ...]}
// becomes {path: ["samples of 2"]}, {path: [t, v]} {path: "a sample of 2"}.
func sampleShape(v any) any {
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for path, e := range m {
		list, _ := e.([]any)
		if len(list) > 0 {
			if _, isSample := list[0].([]any); !isSample {
				out[path] = fmt.Sprintf("a sample of %d", len(list))
				continue
			}
		}
		arities := []string{}
		for _, s := range list {
			a := fmt.Sprintf("samples of %d", len(s.([]any)))
			if !slices.Contains(arities, a) {
				arities = append(arities, a)
			}
		}
		out[path] = arities
	}
	return out
}

// withoutValues is a get_all_perf_counters answer with every value and
// count replaced by its presence.
func withoutValues(v any) any {
	all, _ := canonical(v).(map[string]any)
	for _, d := range all {
		counters, _ := d.(map[string]any)
		for _, c := range counters {
			info, _ := c.(map[string]any)
			for _, k := range []string{"value", "count"} {
				if _, ok := info[k]; ok {
					info[k] = "present"
				}
			}
		}
	}
	return all
}

// withoutObjecter drops the OSDs' and MDSs' objecter counters from a
// get_perf_schema or get_all_perf_counters answer before norm: an OSD or
// MDS lowers their priorities by 3 as it starts (OSDService::init, the
// MDS's rank), and a mgr keeps the priorities of its session's first
// declaration, which may come before or after that. So the real mgr's are
// the daemon's `perf schema`'s, or 3 higher, depending on when its
// session with the daemon began, and gomgr's those of its last schema read
// (at most a minute old).
func withoutObjecter(norm func(any) any) func(any) any {
	return func(v any) any {
		m, _ := canonical(v).(map[string]any)
		for daemon, d := range m {
			counters, _ := d.(map[string]any)
			for path := range counters {
				if (strings.HasPrefix(daemon, "osd.") || strings.HasPrefix(daemon, "mds.")) && strings.HasPrefix(path, "objecter.") {
					delete(counters, path)
				}
			}
		}
		return norm(m)
	}
}

// withoutMgrs is a get_perf_schema answer without the mgrs.
func withoutMgrs(v any) any {
	m, _ := canonical(v).(map[string]any)
	for k := range m {
		if strings.HasPrefix(k, "mgr.") {
			delete(m, k)
		}
	}
	return m
}

// differences lists, up to max, the places where a and b differ, as
// JSON paths below at.
func differences(a, b any, at string, max int) []string {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if !aIsMap || !bIsMap {
		if reflect.DeepEqual(a, b) {
			return nil
		}
		return []string{fmt.Sprintf("%s: %.100v vs %.100v", at, a, b)}
	}
	var out []string
	for _, k := range sortedKeysOf(am) {
		bv, ok := bm[k]
		switch {
		case !ok:
			out = append(out, at+"/"+k+": only Python's")
		default:
			out = append(out, differences(am[k], bv, at+"/"+k, max-len(out))...)
		}
		if len(out) >= max {
			return out[:max]
		}
	}
	for _, k := range sortedKeysOf(bm) {
		if _, ok := am[k]; !ok && len(out) < max {
			out = append(out, at+"/"+k+": only Go's")
		}
	}
	return out
}

func sortedKeysOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
