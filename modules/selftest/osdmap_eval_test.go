package selftest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomgr/gomgr/internal/backend"
)

// loadMap reads a JSON fixture of pkg/osdmap as Get returns it (float64
// numbers).
func loadMap(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "pkg", "osdmap", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEvalOSDMap: mgr.get_osdmap() in eval is an object with Python's
// OSDMap methods, and get_crush() one with CRUSHMap's, over the maps of a
// real cluster (pkg/osdmap's fixtures); the objects persist between evals.
func TestEvalOSDMap(t *testing.T) {
	b := backend.NewMemoryBackend()
	b.SetMap("osd_map", loadMap(t, "osd_dump.json"))
	b.SetMap("osd_map_crush", loadMap(t, "crush_dump.json"))
	e := newEnv(t, b)
	e.want(e.eval("m = mgr.get_osdmap()\nc = m.get_crush()"), 0, "", "")
	for _, c := range []struct{ src, out string }{
		{"type(m), str(m), type(c)", `("OSDMap", "<OSDMap epoch 37>", "CRUSHMap")`},
		{"'get_pools_by_take' in dir(m) and 'get_osds_under' in dir(c)", "True"},
		{"m.get_epoch(), m.get_crush_version()", "(37, 10)"},
		{"m.dump()['flags_set'][0]", `"noout"`},
		{"sorted(m.get_pools().keys())", "[1, 2, 3, 4]"},
		{"m.get_pools()[3]['erasure_code_profile']", `"ec21"`},
		{"sorted(m.get_pools_by_name().keys())", `["device_health_metrics", "ecpool", "rpool", "spool"]`},
		{"m.get_pools_by_take(-1), m.get_pools_by_take(-12), m.get_pools_by_take(-5)", "([1, 2, 3], [4], [])"},
		{"[m.pool_raw_used_rate(i) for i in [1, 2, 3, 4]]", "[1.0, 2.0, 1.5, 1.0]"},
		{"m.get_ec_profile('ec21')['k'], m.get_ec_profile('nope')", `("2", None)`},
		{"m.get_require_osd_release()", `"pacific"`},
		{"c.get_item_name(0), c.get_item_name(-12), c.get_item_name(2)", `("osd.0", "default~ssd", None)`},
		{"c.get_item_weight(1), c.get_item_weight(-1), c.get_item_weight(999)", "(0.5, 0.5009918212890625, None)"},
		{"c.find_takes(), c.find_roots()", "([-12, -1], [-12, -2, -1])"},
		{"c.get_rule('ssdrule')['rule_id'], c.get_rule('nope')", "(2, None)"},
		{"c.get_rule_by_id(1)['rule_name'], c.get_rule_by_id(9)", `("ecpool", None)`},
		{"c.get_rule_root('ssdrule'), c.get_rule_root('nope')", "(-12, None)"},
		{"c.get_take_weight_osd_map(-1)", "{0: 0.00197971542365849, 1: 0.9980202913284302}"},
		{"c.get_osds_under(-1), c.get_osds_under(-7)", "([0, 1], [])"},
		{"c.dump()['rules'][2]['rule_name']", `"ssdrule"`},
	} {
		e.want(e.eval(c.src), 0, c.out+"\n", "")
	}
	for src, msg := range map[string]string{
		"m.pool_raw_used_rate(999)":         "pool 999: no such file or directory (errno -2)",
		"c.get_take_weight_osd_map(999)":    "item 999: no such file or directory (errno -2)",
		"c.get_osds_under(0)":               "bucket 0: no such file or directory (errno -2)",
		"m.get_pools_by_take('x')":          "for parameter take: got string, want int",
		"m.get_epoch(1)":                    "get_epoch: got 1 arguments, want 0",
		"mgr.echo(m)":                       "mgr has no .echo field or method",
		"mgr.remote('selftest', 'echo', m)": "cannot pass a OSDMap",
	} {
		res := e.eval(src)
		if res.Retval != 0 || !strings.Contains(res.Stderr, msg) {
			t.Errorf("%s: got %s, want stderr with %q", src, res, msg)
		}
	}

	// Without a CRUSH map the map's CRUSH is empty; without an OSD map
	// get_osdmap fails with ENOENT.
	b.SetMap("osd_map_crush", nil)
	e.want(e.eval("mgr.get_osdmap().get_crush().find_takes(), mgr.get_osdmap().get_epoch()"), 0, "([], 37)\n", "")
	b.SetMap("osd_map", nil)
	if res := e.eval("mgr.get_osdmap()"); !strings.Contains(res.Stderr, "(errno -2)") {
		t.Errorf("get_osdmap without a map: %s", res)
	}
}
