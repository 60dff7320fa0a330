package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/internal/testutil"
)

// getNamesExact are the get() names whose value is the same for every
// reader of an idle cluster: the Go module's must equal Python's as JSON.
var getNamesExact = []string{
	"fs_map", "osdmap_crush_map_text", "osd_map", "osd_map_tree", "osd_map_crush", "config_options",
	"modified_config_options", "mon_map", "service_map", "osd_metadata", "mds_metadata", "pg_ready",
	"osd_ping_times", "devices", "device no-such-device", "mgr_ips", "version", "osd_map_no_such_part",
	"config_no_such_part", "no_such_name",
}

// getNamesShape are the names with counters, rates and time stamps that
// move between two reads: the members (recursively) must be the same.
var getNamesShape = []string{
	"pg_summary", "pg_status", "pg_dump", "df", "pg_stats", "pool_stats", "osd_stats", "osd_pool_stats",
	"health", "mon_status", "mgr_map", "io_rate", "config",
}

// TestRealMgrGetNamesMatchPython compares, on one real Pacific cluster,
// what a Python module (pyprobe, in the real mgr) gets from get(name) for
// every name the real mgr knows with what the Go selftest module gets:
// bridged into the same mgr, and attached (a gomgr daemon of its own with
// -c). It also compares get_ceph_option and get_foreign_ceph_option, and
// the metrics of Pacific's prometheus module with the Go one's
// (comparePrometheus).
func TestRealMgrGetNamesMatchPython(t *testing.T) {
	root, dir, bin, path := buildRealMgrBinary(t)
	pyMods := installWithPyprobe(t, dir, bin, path)
	helper := filepath.Join(dir, "gomgr-rados") // buildRealMgrBinary built it

	cluster, err := testutil.StartCephCluster(filepath.Join(root, "scripts", "ceph-cluster.sh"), []string{"CEPH_CLUSTER_MGR_MODULES=" + path + ":" + pyMods})
	if cluster != nil {
		t.Cleanup(func() { _ = cluster.Destroy() })
	}
	require.NoError(t, err)
	require.NoError(t, cluster.StartMDS())
	ceph := cephCLI(t, cluster.Conf)
	for _, c := range [][]string{
		{"osd", "pool", "create", "rpool", "4", "4", "replicated"},
		{"mgr", "module", "enable", "goselftest"},
		{"mgr", "module", "enable", "pyprobe"},
	} {
		_, e, rc := ceph(c...)
		require.Zero(t, rc, "ceph %v: %s", c, e)
	}

	// The attached daemon, with the selftest module enabled.
	run := filepath.Join(dir, "attached")
	require.NoError(t, os.Mkdir(run, 0o700))
	daemon := exec.Command(bin, "-i", "gx", "-c", cluster.Conf, "--keyring", cluster.Keyring,
		"--run-dir", run, "--data", filepath.Join(run, "data"))
	daemon.Env = append(os.Environ(), "GOMGR_RADOS="+helper)
	var dlog bytes.Buffer
	daemon.Stdout, daemon.Stderr = &dlog, &dlog
	require.NoError(t, daemon.Start())
	t.Cleanup(func() {
		_ = daemon.Process.Kill()
		_ = daemon.Wait()
		if t.Failed() {
			t.Logf("attached daemon's log:\n%s", dlog.String())
		}
	})
	asok := filepath.Join(run, "ceph-mgr.gx.asok")
	attached := func(args ...string) (string, string, int) {
		return ceph(append([]string{"--admin-daemon", asok}, args...)...)
	}
	waitOK := func(what string, f func() (string, string, int)) {
		t.Helper()
		var e string
		for end := time.Now().Add(90 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			var rc int
			if _, e, rc = f(); rc == 0 {
				return
			}
		}
		t.Fatalf("%s: %s", what, e)
	}
	waitOK("the attached daemon", func() (string, string, int) { return attached("mgr", "module", "enable", "selftest") })

	python := func(method string, args ...any) func() (string, string, int) {
		if args == nil {
			args = []any{}
		}
		js, _ := json.Marshal(args)
		return func() (string, string, int) { return ceph("pyprobe", "call", method, string(js)) }
	}
	goExpr := func(expr string) []string { return []string{"eval", "print(json.encode(" + expr + "))"} }
	bridged := func(expr string) func() (string, string, int) {
		return func() (string, string, int) { return ceph(append([]string{"mgr", "goselftest"}, goExpr(expr)...)...) }
	}
	attachedEval := func(expr string) func() (string, string, int) {
		return func() (string, string, int) {
			return attached(append([]string{"mgr", "self-test"}, goExpr(expr)...)...)
		}
	}
	waitOK("pyprobe", python("get_mgr_id"))
	waitOK("the bridged selftest", bridged("mgr.get_mgr_id()"))
	waitOK("the attached selftest", attachedEval("mgr.get_mgr_id()"))

	// compare reads both sides until they agree (a map can change
	// between the two reads) or 30 s have passed.
	compare := func(what string, py, gomod func() (string, string, int), norm func(any) any) {
		t.Helper()
		var pv, gv any
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
			pv, gv = readJSON(t, what+" (Python)", py), readJSON(t, what+" (Go)", gomod)
			pv, gv = norm(pv), norm(gv)
			if reflect.DeepEqual(pv, gv) || time.Now().After(end) {
				break
			}
		}
		if !reflect.DeepEqual(pv, gv) {
			pj, _ := json.Marshal(pv)
			gj, _ := json.Marshal(gv)
			t.Errorf("%s differs (%s):\n  Python: %.2000s\n  Go:     %.2000s", what, strings.Join(differences(pv, gv, "", 10), "; "), pj, gj)
		}
	}
	for _, side := range []struct {
		name string
		eval func(string) func() (string, string, int)
	}{{"bridged", bridged}, {"attached", attachedEval}} {
		for _, n := range getNamesExact {
			compare(fmt.Sprintf("%s get(%q)", side.name, n), python("get", n), side.eval(fmt.Sprintf("mgr.get(%q)", n)), canonical)
		}
		for _, n := range getNamesShape {
			norm := shapeOf
			if n == "config" && side.name == "bridged" {
				norm = canonical // the same mgr's own configuration
			}
			compare(fmt.Sprintf("%s get(%q)", side.name, n), python("get", n), side.eval(fmt.Sprintf("mgr.get(%q)", n)), norm)
		}
		// Ceph options. The attached daemon is a daemon of its own: its
		// run dir, admin socket and keyring are not the real mgr's.
		for _, k := range []string{"mgr_stats_period", "mon_pg_warn_max_object_skew", "mon_allow_pool_delete", "mgr_tick_period",
			"osd_pool_default_size", "mon_host", "fsid", "log_to_file", "debug_mgr", "osd_max_object_size", "public_network"} {
			compare(fmt.Sprintf("%s get_ceph_option(%q)", side.name, k), python("get_ceph_option", k), side.eval(fmt.Sprintf("mgr.get_ceph_option(%q)", k)), canonical)
		}
		for _, ek := range [][2]string{{"osd.0", "debug_osd"}, {"osd.0", "osd_max_object_size"}, {"mon.a", "mon_allow_pool_delete"}} {
			compare(fmt.Sprintf("%s get_foreign_ceph_option%q", side.name, ek), python("get_foreign_ceph_option", ek[0], ek[1]),
				side.eval(fmt.Sprintf("mgr.get_foreign_ceph_option(%q, %q)", ek[0], ek[1])), canonical)
		}
		// send_command to one named daemon (`ceph tell`): a monitor by
		// name, the MDS by name and by rank. A monitor answers a command
		// told to it only for a client with all caps, which the real mgr
		// ("profile mgr") is not: Python gets -EACCES "insufficient caps",
		// and so does the bridged module; the attached daemon (admin) gets
		// the answer, the same as any monitor's.
		cases := []struct{ typ, id, prefix string }{{"mds", "a", "version"}, {"mds", "0", "version"}, {"mon", "", "version"}}
		if side.name == "bridged" {
			cases = append(cases, struct{ typ, id, prefix string }{"mon", "a", "version"})
		} else {
			// A told monitor answers "version" as JSON, the monitors' own
			// command as text: the same release.
			pv := readJSON(t, "Python send_command(mon, version)", python("tell", "mon", "", map[string]string{"prefix": "version"}))
			gv := readJSON(t, "attached send_command(mon.a, version)", side.eval("mgr.tell_command('mon', 'a', {'prefix': 'version'})"))
			gl, _ := gv.([]any)
			require.Len(t, gl, 3, "attached send_command(mon.a, version): %v", gv)
			require.Equal(t, float64(0), canonical(gl[0]), "attached send_command(mon.a, version): %v", gv)
			var told struct{ Version string }
			require.NoError(t, json.Unmarshal([]byte(gl[1].(string)), &told), "attached send_command(mon.a, version): %v", gv)
			require.Contains(t, fmt.Sprint(pv), "ceph version "+told.Version+" ", "Python's monitors are the release mon.a told")
		}
		for _, tc := range cases {
			compare(fmt.Sprintf("%s send_command(%s.%s, %s)", side.name, tc.typ, tc.id, tc.prefix),
				python("tell", tc.typ, tc.id, map[string]string{"prefix": tc.prefix}),
				side.eval(fmt.Sprintf("mgr.tell_command(%q, %q, {'prefix': %q})", tc.typ, tc.id, tc.prefix)), canonical)
		}
		// An MDS that does not exist: the C++ raises (ENOENT) from
		// send_command; the Go module gets -ENOENT as its result.
		pv := readJSON(t, "Python tell mds.zz", python("tell", "mds", "zz", map[string]string{"prefix": "version"}))
		require.Contains(t, fmt.Sprint(pv), "No such file or directory", "Python's send_command to mds.zz")
		gv := readJSON(t, side.name+" tell mds.zz", side.eval("mgr.tell_command('mds', 'zz', {'prefix': 'version'})"))
		require.Equal(t, float64(-2), canonical(gv.([]any)[0]), "%s: send_command to mds.zz: %v", side.name, gv)

		// eval reports a failed call in its output, as the REPL shows it.
		o, e, rc := side.eval("mgr.get_ceph_option('no_such_ceph_option')")()
		require.Zero(t, rc, "%s: %s", side.name, e)
		require.Contains(t, o+e, "option not found: no_such_ceph_option (errno -2)", side.name)
	}
	comparePerfCounters(t, perfSides{python: python, bridged: bridged, attached: attachedEval, compare: compare})
	comparePrometheus(t, ceph, cluster.Conf)
	checkPrometheusServer(t, ceph)
}

// readJSON runs a read and decodes its output.
func readJSON(t *testing.T, what string, f func() (string, string, int)) any {
	t.Helper()
	o, e, rc := f()
	require.Zero(t, rc, "%s: %s", what, e)
	v, err := jsonval.Decode([]byte(o))
	require.NoError(t, err, "%s: %s", what, o)
	return v
}

// canonical makes two decoded values comparable as JSON: numbers as
// float64 (1 and 1.0 are the same JSON value), the JSON text inside
// health and mon_status decoded, and lists the real mgr builds from a hash
// map (pgs_by_pool_state) in order.
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if s, ok := e.(string); ok && k == "json" && len(x) == 1 {
				if d, err := jsonval.Decode([]byte(s)); err == nil {
					e = d
				}
			}
			out[k] = canonical(e)
		}
		if l, ok := out["pgs_by_pool_state"].([]any); ok {
			sort.Slice(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	}
	if f, ok := jsonval.Float(v); ok {
		return f
	}
	return v
}

// shapeOf is a value's members, recursively: every object as its sorted
// keys with their shapes, lists as the shapes of their elements, leaves
// dropped.
func shapeOf(v any) any {
	switch x := canonical(v).(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := map[string]any{}
		for _, k := range keys {
			out[k] = shapeOf(x[k])
		}
		return out
	case []any:
		var shapes []string
		for _, e := range x {
			b, _ := json.Marshal(shapeOf(e))
			if !slices.Contains(shapes, string(b)) {
				shapes = append(shapes, string(b))
			}
		}
		slices.Sort(shapes)
		return strings.Join(shapes, ",")
	}
	return nil
}
