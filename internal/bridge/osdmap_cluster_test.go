package bridge

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// TestRealMgrOSDMapMatchesPython compares, in one real Pacific mgr, each
// accessor of the Go selftest's mgr.get_osdmap() (pkg/osdmap through the
// bridge) with the same accessor of Python's get_osdmap() (pyprobe's
// method osdmap), on a cluster with a replicated, an erasure-coded and a
// device-class pool, a flag, pg_upmap entries and a CRUSH map of two
// hosts, an empty rack and shadow trees.
func TestRealMgrOSDMapMatchesPython(t *testing.T) {
	root, dir, bin, path := buildRealMgrBinary(t)
	pyMods := installWithPyprobe(t, dir, bin, path)

	cluster, err := testutil.StartCephCluster(filepath.Join(root, "scripts", "ceph-cluster.sh"), []string{"CEPH_CLUSTER_MGR_MODULES=" + path + ":" + pyMods})
	if cluster != nil {
		t.Cleanup(func() { _ = cluster.Destroy() })
	}
	require.NoError(t, err)
	ceph := cephCLI(t, cluster.Conf)
	must := func(args ...string) {
		t.Helper()
		_, e, rc := ceph(args...)
		require.Zero(t, rc, "ceph %v: %s", args, e)
	}
	for _, c := range [][]string{
		{"osd", "pool", "create", "rpool", "8", "8", "replicated"},
		{"osd", "pool", "set", "rpool", "size", "2", "--yes-i-really-mean-it"},
		{"osd", "erasure-code-profile", "set", "ec21", "k=2", "m=1", "crush-failure-domain=osd"},
		{"osd", "pool", "create", "ecpool", "4", "4", "erasure", "ec21"},
		{"osd", "set", "noout"},
		{"osd", "create"},
		{"osd", "crush", "add", "osd.1", "0.5", "host=h2", "root=default"},
		{"osd", "crush", "add-bucket", "r1", "rack"},
		{"osd", "crush", "move", "r1", "root=default"},
		{"osd", "crush", "rm-device-class", "osd.1"},
		{"osd", "crush", "set-device-class", "ssd", "osd.1"},
		{"osd", "crush", "rule", "create-replicated", "ssdrule", "default", "host", "ssd"},
		{"osd", "pool", "create", "spool", "4", "4", "replicated", "ssdrule"},
		{"osd", "set-require-min-compat-client", "luminous"},
		{"osd", "pg-upmap", "2.1", "1", "0"},
		{"osd", "pg-upmap-items", "1.0", "1", "0"},
		{"osd", "primary-affinity", "osd.0", "0.5"},
		{"osd", "reweight", "1", "0.75"},
		{"mgr", "module", "enable", "goselftest"},
		{"mgr", "module", "enable", "pyprobe"},
	} {
		must(c...)
	}
	eventually := func(what string, f func() bool, last *string) {
		t.Helper()
		for end := time.Now().Add(90 * time.Second); !f(); time.Sleep(300 * time.Millisecond) {
			require.True(t, time.Now().Before(end), "%s: %s", what, *last)
		}
	}
	// Both modules answer, on the same, settled map.
	epoch := func() string {
		o, _, _ := ceph("osd", "dump", "-f", "json")
		var d struct{ Epoch int64 }
		_ = json.Unmarshal([]byte(o), &d)
		return fmt.Sprint(d.Epoch)
	}
	goEval := func(expr string) (string, string, int) {
		src := "x = " + expr + "\nprint(json.encode({str(k): v for k, v in x.items()} if type(x) == 'dict' else x))"
		return ceph("mgr", "goselftest", "eval", src)
	}
	var last string
	eventually("both modules see the last map", func() bool {
		want := epoch()
		g, ge, _ := goEval("mgr.get_osdmap().get_epoch()")
		p, pe, _ := ceph("pyprobe", "call", "osdmap", `["get_epoch"]`)
		last = fmt.Sprintf("osd dump epoch %s, Go %q %q, Python %q %q", want, g, ge, p, pe)
		return strings.TrimSpace(g) == want && strings.TrimSpace(p) == want
	}, &last)

	for _, tc := range []struct {
		accessor string // "crush.X" for the CRUSH map's
		args     string // Python and Starlark arguments, without brackets
		fails    bool   // both fail (Python: SystemError, KeyError)
	}{
		{accessor: "get_epoch"},
		{accessor: "get_crush_version"},
		{accessor: "dump"},
		{accessor: "get_pools"},
		{accessor: "get_pools_by_name"},
		{accessor: "get_pools_by_take", args: "-1"},
		{accessor: "get_pools_by_take", args: "-12"},
		{accessor: "get_pools_by_take", args: "-5"},
		{accessor: "pool_raw_used_rate", args: "1"},
		{accessor: "pool_raw_used_rate", args: "2"},
		{accessor: "pool_raw_used_rate", args: "3"},
		{accessor: "pool_raw_used_rate", args: "999", fails: true},
		{accessor: "get_ec_profile", args: `"ec21"`},
		{accessor: "get_ec_profile", args: `"nope"`},
		{accessor: "get_require_osd_release"},
		{accessor: "crush.dump"},
		{accessor: "crush.get_item_name", args: "0"},
		{accessor: "crush.get_item_name", args: "-12"},
		{accessor: "crush.get_item_name", args: "999"},
		{accessor: "crush.get_item_weight", args: "0"},
		{accessor: "crush.get_item_weight", args: "1"},
		{accessor: "crush.get_item_weight", args: "-1"},
		{accessor: "crush.get_item_weight", args: "-7"},
		{accessor: "crush.get_item_weight", args: "999"},
		{accessor: "crush.find_takes"},
		{accessor: "crush.find_roots"},
		{accessor: "crush.get_rule", args: `"ssdrule"`},
		{accessor: "crush.get_rule", args: `"nope"`},
		{accessor: "crush.get_rule_by_id", args: "1"},
		{accessor: "crush.get_rule_by_id", args: "99"},
		{accessor: "crush.get_rule_root", args: `"ssdrule"`},
		{accessor: "crush.get_rule_root", args: `"nope"`},
		{accessor: "crush.get_take_weight_osd_map", args: "-1"},
		{accessor: "crush.get_take_weight_osd_map", args: "-12"},
		{accessor: "crush.get_take_weight_osd_map", args: "-3"},
		{accessor: "crush.get_take_weight_osd_map", args: "-7"},
		{accessor: "crush.get_take_weight_osd_map", args: "999", fails: true},
		{accessor: "crush.get_osds_under", args: "-1"},
		{accessor: "crush.get_osds_under", args: "-12"},
		{accessor: "crush.get_osds_under", args: "-7"},
		{accessor: "crush.get_osds_under", args: "999", fails: true},
	} {
		name := tc.accessor + "(" + tc.args + ")"
		expr := "mgr.get_osdmap()." + strings.Replace(tc.accessor, "crush.", "get_crush().", 1) + "(" + tc.args + ")"
		pyArgs := `["` + tc.accessor + `"` + map[bool]string{true: ", " + tc.args}[tc.args != ""] + "]"
		gOut, gErr, gRC := goEval(expr)
		pOut, pErr, pRC := ceph("pyprobe", "call", "osdmap", pyArgs)
		if tc.fails {
			assert.NotZero(t, pRC, "Python's %s fails: %s", name, pOut)
			assert.NotEqual(t, "", gErr, "Go's %s fails: %s", name, gOut)
			continue
		}
		require.Zero(t, gRC, "%s: %s", expr, gErr)
		require.Empty(t, gErr, "%s", expr)
		require.Zero(t, pRC, "pyprobe osdmap %s: %s", pyArgs, pErr)
		assert.Equal(t, normJSON(t, pOut), normJSON(t, gOut), "Go's %s against Python's", name)
	}

	// The run's osd map section (the typed map against get("osd_map"))
	// passes inside the real mgr on this map. Other sections fail here:
	// osd.1 exists in the map but runs no daemon, so it has no metadata
	// (TestRealMgrSeesTheGoModules runs the whole run on a plain cluster).
	_, e, _ := ceph("mgr", "goselftest", "run")
	if !assert.Contains(t, e, "Self-test ") {
		log, _ := os.ReadFile(filepath.Join(cluster.Dir, "run", "gomgr-bridge-x", "bridged.log"))
		t.Logf("bridged.log:\n%s\n%s", log, cluster.TailLogs(60))
	}
	assert.NotContains(t, e, "- osd map:", "the run's osd map section in the real mgr")
}

// normJSON decodes JSON for comparison, numbers as float64: 1 and 1.0
// are equal (Python writes floats with a point, Starlark's json.encode
// not always), and both sides' floats are doubles printed exactly. An
// integer past 2^53 (osd_xinfo's features) is compared rounded: Go's
// Get("osd_map"), and so the OSDMap, has it as a float64 already.
func normJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "%s", s)
	return v
}
