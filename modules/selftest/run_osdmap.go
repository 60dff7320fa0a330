package selftest

import (
	"encoding/json"
	"fmt"
	"slices"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// testOSDMap checks the typed OSD map (Handle.OSDMap, Python's
// get_osdmap()) against get("osd_map") in every mode: the same epoch,
// pool names and ids, OSDs with the same up and in, and, where the CRUSH
// map names an OSD, the name "osd.N".
func (r *runner) testOSDMap() {
	h := r.h
	raw, err := h.Get(r.ctx, "osd_map")
	if !r.ok("get(osd_map)", err) {
		return
	}
	om, err := h.OSDMap(r.ctx)
	if raw == nil { // a backend without maps (the tests' memory backend)
		r.check(objectformat.ErrnoOf(err) == -int(syscall.ENOENT), "get_osdmap without get(osd_map): error %v, want ENOENT", err)
		return
	}
	if !r.ok("get_osdmap", err) {
		return
	}
	d, _ := raw.(map[string]any)
	if !r.check(d != nil, "get(osd_map) = %T, want a map", raw) {
		return
	}
	crush := om.CRUSH()
	if !r.check(crush != nil, "get_osdmap: CRUSH() is nil") {
		return
	}
	if e, ok := number(d["epoch"]); r.check(ok, "get(osd_map): epoch %v is not a number", d["epoch"]) {
		r.check(int64(e) == om.Epoch(), "get_osdmap: epoch %d, get(osd_map) has %v", om.Epoch(), e)
	}
	if e, ok := number(om.Dump()["epoch"]); !ok || int64(e) != om.Epoch() {
		r.failf("get_osdmap: dump()[epoch] = %v, want %d", om.Dump()["epoch"], om.Epoch())
	}

	var rawNames, names []string
	pools, _ := d["pools"].([]any)
	for _, p := range pools {
		pm, _ := p.(map[string]any)
		name, _ := pm["pool_name"].(string)
		rawNames = append(rawNames, name)
	}
	for _, p := range om.PoolList() {
		names = append(names, p.Name)
		if q, ok := om.PoolByName(p.Name); !ok || q.ID != p.ID {
			r.failf("get_osdmap: pool %q is pool %d, but PoolByName gives %d (%v)", p.Name, p.ID, q.ID, ok)
		}
		if q, ok := om.Pools()[p.ID]; !ok || q.Name != p.Name {
			r.failf("get_osdmap: pool %d: Pools() has %q (%v)", p.ID, q.Name, ok)
		}
	}
	r.check(slices.Equal(rawNames, names), "get_osdmap: pools %q, get(osd_map) has %q", names, rawNames)

	osds, _ := d["osds"].([]any)
	r.check(len(osds) == len(om.OSDs()), "get_osdmap: %d OSDs, get(osd_map) has %d", len(om.OSDs()), len(osds))
	for _, o := range osds {
		o, _ := o.(map[string]any)
		id, okID := number(o["osd"])
		up, okUp := number(o["up"])
		in, okIn := number(o["in"])
		if !r.check(okID && okUp && okIn, "get(osd_map): osd entry %v without osd, up and in numbers", o) {
			continue
		}
		typed, ok := om.OSD(int(id))
		if !r.check(ok, "get_osdmap: no osd.%d", int(id)) {
			continue
		}
		r.check(typed.IsUp() == (up != 0) && typed.IsIn() == (in != 0),
			"get_osdmap: osd.%d up %v in %v, get(osd_map) has up %v in %v", typed.ID, typed.IsUp(), typed.IsIn(), up, in)
		if name, ok := crush.ItemName(typed.ID); ok {
			r.check(name == fmt.Sprintf("osd.%d", typed.ID), "get_osdmap: the CRUSH map names osd.%d %q", typed.ID, name)
		}
	}
	if d["gomgr_embedded"] == true {
		r.check(om.Epoch() == 0 && len(om.OSDs()) == 0 && len(crush.FindTakes()) == 0,
			"get_osdmap on the embedded state: epoch %d, %d OSDs, takes %v, want an empty map", om.Epoch(), len(om.OSDs()), crush.FindTakes())
	}
}

// number is a JSON number of a decoded value (float64 from JSON, int or
// int64 from Go code, json.Number).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
