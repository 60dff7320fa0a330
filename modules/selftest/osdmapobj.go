package selftest

import (
	"errors"
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/osdmap"
)

// osdmapValue is what mgr.get_osdmap() returns in eval: the OSD map as an
// object with Python's OSDMap methods (mgr_module.py), over pkg/osdmap.
// get_crush() returns a crushValue, Python's CRUSHMap. Both live in the
// daemon; the eval worker gets proxies of them (pkg/evalsandbox).
type osdmapValue struct {
	om    *osdmap.OSDMap
	attrs map[string]starlark.Value
}

// crushValue is the CRUSH map of an osdmapValue.
type crushValue struct {
	c     *osdmap.CRUSH
	attrs map[string]starlark.Value
}

var (
	_ starlark.HasAttrs = (*osdmapValue)(nil)
	_ starlark.HasAttrs = (*crushValue)(nil)
)

func (v *mgrValue) getOSDMap(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	om, err := v.m.h.OSDMap(ctxOf(thread))
	if err != nil {
		return nil, goErr(err)
	}
	return newOSDMapValue(om), nil
}

// noArgs adapts a method without arguments.
func noArgs(f func() (starlark.Value, error)) mgrMethod {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
			return nil, err
		}
		return f()
	}
}

// intArg adapts a method of one int argument named name.
func intArg(name string, f func(int) (starlark.Value, error)) mgrMethod {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var n int
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, name, &n); err != nil {
			return nil, err
		}
		return f(n)
	}
}

// strArg adapts a method of one string argument named name.
func strArg(name string, f func(string) (starlark.Value, error)) mgrMethod {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s string
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, name, &s); err != nil {
			return nil, err
		}
		return f(s)
	}
}

func bindMethods(recv starlark.Value, methods map[string]mgrMethod) map[string]starlark.Value {
	attrs := make(map[string]starlark.Value, len(methods))
	for name, fn := range methods {
		attrs[name] = starlark.NewBuiltin(name, fn).BindReceiver(recv)
	}
	return attrs
}

func sortedNames(attrs map[string]starlark.Value) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newOSDMapValue(om *osdmap.OSDMap) *osdmapValue {
	v := &osdmapValue{om: om}
	v.attrs = bindMethods(v, map[string]mgrMethod{
		"get_epoch":         noArgs(func() (starlark.Value, error) { return starlark.MakeInt64(om.Epoch()), nil }),
		"get_crush_version": noArgs(func() (starlark.Value, error) { return starlark.MakeInt64(om.CrushVersion()), nil }),
		"dump":              noArgs(func() (starlark.Value, error) { return toStarlark(om.Dump()) }),
		"get_pools": noArgs(func() (starlark.Value, error) {
			return poolDict(om, func(p osdmap.Pool) starlark.Value { return starlark.MakeInt64(p.ID) })
		}),
		"get_pools_by_name": noArgs(func() (starlark.Value, error) {
			return poolDict(om, func(p osdmap.Pool) starlark.Value { return starlark.String(p.Name) })
		}),
		"get_pools_by_take": intArg("take", func(take int) (starlark.Value, error) {
			ids := om.PoolsByTake(take)
			elems := make([]starlark.Value, len(ids))
			for i, id := range ids {
				elems[i] = starlark.MakeInt64(id)
			}
			return starlark.NewList(elems), nil
		}),
		"pool_raw_used_rate": intArg("pool_id", func(id int) (starlark.Value, error) {
			r, err := om.PoolRawUsedRate(int64(id))
			if err != nil {
				return nil, goErr(err)
			}
			return starlark.Float(r), nil
		}),
		"get_ec_profile": strArg("name", func(name string) (starlark.Value, error) {
			p, ok := om.ErasureCodeProfile(name)
			if !ok {
				return starlark.None, nil
			}
			return toStarlark(p)
		}),
		"get_require_osd_release": noArgs(func() (starlark.Value, error) { return starlark.String(om.RequireOSDRelease()), nil }),
		"get_crush":               noArgs(func() (starlark.Value, error) { return newCRUSHValue(om.CRUSH()), nil }),
	})
	return v
}

// poolDict is the pools' entries of the dump keyed by key, as Python's
// get_pools and get_pools_by_name build them (the last of a duplicate
// key wins).
func poolDict(om *osdmap.OSDMap, key func(osdmap.Pool) starlark.Value) (starlark.Value, error) {
	pools := om.PoolList()
	d := starlark.NewDict(len(pools))
	for _, p := range pools {
		pv, err := toStarlark(p.Raw())
		if err != nil {
			return nil, err
		}
		if err := d.SetKey(key(p), pv); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (v *osdmapValue) String() string {
	return fmt.Sprintf("<OSDMap epoch %d>", v.om.Epoch())
}
func (v *osdmapValue) Type() string          { return "OSDMap" }
func (v *osdmapValue) Freeze()               {}
func (v *osdmapValue) Truth() starlark.Bool  { return starlark.True }
func (v *osdmapValue) Hash() (uint32, error) { return 0, errors.New("unhashable type: OSDMap") }
func (v *osdmapValue) Attr(name string) (starlark.Value, error) {
	return v.attrs[name], nil
}
func (v *osdmapValue) AttrNames() []string { return sortedNames(v.attrs) }

// optional is x, or None when ok is false.
func optional(x starlark.Value, ok bool) starlark.Value {
	if !ok {
		return starlark.None
	}
	return x
}

func intList(ids []int) starlark.Value {
	elems := make([]starlark.Value, len(ids))
	for i, id := range ids {
		elems[i] = starlark.MakeInt(id)
	}
	return starlark.NewList(elems)
}

func newCRUSHValue(c *osdmap.CRUSH) *crushValue {
	v := &crushValue{c: c}
	rule := func(_ osdmap.Rule, raw map[string]any, ok bool) (starlark.Value, error) {
		if !ok {
			return starlark.None, nil
		}
		return toStarlark(raw)
	}
	v.attrs = bindMethods(v, map[string]mgrMethod{
		"dump": noArgs(func() (starlark.Value, error) { return toStarlark(c.Dump()) }),
		"get_item_name": intArg("item", func(id int) (starlark.Value, error) {
			n, ok := c.ItemName(id)
			return optional(starlark.String(n), ok), nil
		}),
		"get_item_weight": intArg("item", func(id int) (starlark.Value, error) {
			w, ok := c.ItemWeight(id)
			return optional(starlark.Float(w), ok), nil
		}),
		"find_takes":     noArgs(func() (starlark.Value, error) { return intList(c.FindTakes()), nil }),
		"find_roots":     noArgs(func() (starlark.Value, error) { return intList(c.FindRoots()), nil }),
		"get_rule":       strArg("rule_name", func(name string) (starlark.Value, error) { return rule(c.Rule(name)) }),
		"get_rule_by_id": intArg("rule_id", func(id int) (starlark.Value, error) { return rule(c.RuleByID(id)) }),
		"get_rule_root": strArg("rule_name", func(name string) (starlark.Value, error) {
			root, ok := c.RuleRoot(name)
			return optional(starlark.MakeInt(root), ok), nil
		}),
		"get_take_weight_osd_map": intArg("root", func(root int) (starlark.Value, error) {
			wm, err := c.TakeWeightOSDMap(root)
			if err != nil {
				return nil, goErr(err)
			}
			ids := make([]int, 0, len(wm))
			for id := range wm {
				ids = append(ids, id)
			}
			sort.Ints(ids)
			d := starlark.NewDict(len(ids))
			for _, id := range ids {
				if err := d.SetKey(starlark.MakeInt(id), starlark.Float(wm[id])); err != nil {
					return nil, err
				}
			}
			return d, nil
		}),
		"get_osds_under": intArg("root_id", func(root int) (starlark.Value, error) {
			ids, err := c.OSDsUnder(root)
			if err != nil {
				return nil, goErr(err)
			}
			return intList(ids), nil
		}),
	})
	return v
}

func (v *crushValue) String() string                           { return "<CRUSHMap>" }
func (v *crushValue) Type() string                             { return "CRUSHMap" }
func (v *crushValue) Freeze()                                  {}
func (v *crushValue) Truth() starlark.Bool                     { return starlark.True }
func (v *crushValue) Hash() (uint32, error)                    { return 0, errors.New("unhashable type: CRUSHMap") }
func (v *crushValue) Attr(name string) (starlark.Value, error) { return v.attrs[name], nil }
func (v *crushValue) AttrNames() []string                      { return sortedNames(v.attrs) }
