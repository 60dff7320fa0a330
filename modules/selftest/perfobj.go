package selftest

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/module"
)

// The eval's perf counter methods: get_counter, get_latest_counter,
// get_latest, get_latest_avg and get_all_perf_counters, with Python's
// arguments and results.

// counterQuery adapts a Handle method that takes (svc_type, svc_id, path)
// and returns a map into a mgr method.
func (v *mgrValue) counterQuery(get func(h *module.Handle, ctx context.Context, svcType, svcID, path string) (map[string]any, error)) mgrMethod {
	return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var path string
		typ, id, err := daemonArgs(fn, args, kwargs, "path", &path)
		if err != nil {
			return nil, err
		}
		c, err := get(v.m.h, ctxOf(thread), typ, id, path)
		if err != nil {
			return nil, goErr(err)
		}
		return toStarlark(c)
	}
}

func (v *mgrValue) getLatest(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	typ, id, err := daemonArgs(fn, args, kwargs, "path", &path)
	if err != nil {
		return nil, err
	}
	n, err := v.m.h.GetLatest(ctxOf(thread), typ, id, path)
	if err != nil {
		return nil, goErr(err)
	}
	return starlark.MakeUint64(n), nil
}

func (v *mgrValue) getLatestAvg(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	typ, id, err := daemonArgs(fn, args, kwargs, "path", &path)
	if err != nil {
		return nil, err
	}
	sum, count, err := v.m.h.GetLatestAvg(ctxOf(thread), typ, id, path)
	if err != nil {
		return nil, goErr(err)
	}
	return starlark.Tuple{starlark.MakeUint64(sum), starlark.MakeUint64(count)}, nil
}

// getAllPerfCounters is get_all_perf_counters(prio_limit=PRIO_USEFUL,
// services=None): None is Python's default list.
func (v *mgrValue) getAllPerfCounters(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prio := module.PrioUseful
	var services starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "prio_limit?", &prio, "services?", &services); err != nil {
		return nil, err
	}
	var list []string
	if services != starlark.None {
		it, ok := services.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("%s: services is %s, not a list of strings", fn.Name(), services.Type())
		}
		list = []string{}
		iter := it.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			s, ok := starlark.AsString(x)
			if !ok {
				return nil, fmt.Errorf("%s: a service is %s, not a string", fn.Name(), x.Type())
			}
			list = append(list, s)
		}
	}
	all, err := v.m.h.GetAllPerfCounters(ctxOf(thread), prio, list)
	if err != nil {
		return nil, goErr(err)
	}
	return toStarlark(all)
}
