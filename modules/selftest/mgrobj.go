package selftest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"strconv"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// mgrValue is the Starlark value bound to "mgr" in eval: the module API
// as attributes and methods, named like Python's MgrModule. It lives in
// the daemon; the eval worker holds a proxy whose calls run these methods
// here (pkg/evalsandbox).
type mgrValue struct {
	m     *Module
	attrs map[string]starlark.Value
}

var _ starlark.HasAttrs = (*mgrValue)(nil)

// mgrMethod is one method of mgr.
type mgrMethod func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

func newMgrValue(m *Module) *mgrValue {
	v := &mgrValue{m: m, attrs: map[string]starlark.Value{}}
	methods := map[string]mgrMethod{
		"get_mgr_id":                  v.getMgrID,
		"get_module_option":           v.optionGetter((*module.Handle).Option),
		"set_module_option":           v.optionSetter((*module.Handle).SetOption),
		"get_localized_module_option": v.optionGetter((*module.Handle).LocalizedOption),
		"set_localized_module_option": v.optionSetter((*module.Handle).SetLocalizedOption),
		"get_module_option_ex":        v.getModuleOptionEx,
		"set_module_option_ex":        v.setModuleOptionEx,
		"get_store":                   v.storeGetter((*module.Handle).Store),
		"set_store":                   v.setStore,
		"get_store_prefix":            v.getStorePrefix,
		"get_localized_store":         v.storeGetter((*module.Handle).LocalizedStore),
		"set_localized_store":         v.setLocalizedStore,
		"get":                         v.get,
		"get_metadata":                v.getMetadata,
		"get_daemon_status":           v.daemonQuery((*module.Handle).GetDaemonStatus),
		"list_servers":                v.listServers,
		"get_server":                  v.getServer,
		"get_perf_schema":             v.daemonQuery((*module.Handle).GetPerfSchema),
		"get_counter":                 v.counterQuery((*module.Handle).GetCounter),
		"get_latest_counter":          v.counterQuery((*module.Handle).GetLatestCounter),
		"get_latest":                  v.getLatest,
		"get_latest_avg":              v.getLatestAvg,
		"get_all_perf_counters":       v.getAllPerfCounters,
		"have_mon_connection":         v.haveMonConnection,
		"set_health_checks":           v.setHealthChecks,
		"get_health_checks":           v.getHealthChecks,
		"mon_command":                 v.monCommand,
		"tell_command":                v.tellCommand,
		"remote":                      v.remote,
		"log":                         v.log,
		"cluster_log":                 v.clusterLog,
		"set_uri":                     v.setURI,
		"get_osdmap":                  v.getOSDMap,
		"get_ceph_option":             v.getCephOption,
		"get_foreign_ceph_option":     v.getCephOption,
	}
	for name, fn := range methods {
		v.attrs[name] = starlark.NewBuiltin(name, fn).BindReceiver(v)
	}
	return v
}

func (v *mgrValue) String() string        { return "<mgr module " + Name + ">" }
func (v *mgrValue) Type() string          { return "mgr" }
func (v *mgrValue) Freeze()               {}
func (v *mgrValue) Truth() starlark.Bool  { return starlark.True }
func (v *mgrValue) Hash() (uint32, error) { return 0, errors.New("unhashable type: mgr") }

// Attr returns an attribute or method; nil means "no such attribute".
func (v *mgrValue) Attr(name string) (starlark.Value, error) {
	h := v.m.h
	switch name {
	case "version":
		return starlark.String(h.Version()), nil
	case "release_name":
		return starlark.String(h.ReleaseName()), nil
	case "module_name":
		return starlark.String(h.Name()), nil
	}
	return v.attrs[name], nil
}

// AttrNames lists the attributes, sorted (dir(mgr)).
func (v *mgrValue) AttrNames() []string {
	names := []string{"version", "release_name", "module_name"}
	for n := range v.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ctxOf returns the context of the eval request a method runs for.
func ctxOf(thread *starlark.Thread) context.Context { return evalsandbox.Context(thread) }

// goErr turns an error of the module API into the error a Starlark
// builtin returns, keeping the errno in the text.
func goErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%v (errno %d)", err, objectformat.ErrnoOf(err))
}

func (v *mgrValue) getMgrID(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(v.m.h.MgrID()), nil
}

// optionOr returns the option value, or dflt when it is None (a declared
// default wins over dflt, as in Python).
func optionOr(val any, err error, dflt starlark.Value) (starlark.Value, error) {
	if err != nil {
		return nil, goErr(err)
	}
	if val == nil {
		return dflt, nil
	}
	return toStarlark(val)
}

// optionGetter adapts Handle.Option or Handle.LocalizedOption into a mgr
// method taking (key, default=None). Like daemonQuery, it reads the handle
// at call time.
func (v *mgrValue) optionGetter(get func(h *module.Handle, key string) (any, error)) mgrMethod {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var dflt starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "default?", &dflt); err != nil {
			return nil, err
		}
		val, err := get(v.m.h, key)
		return optionOr(val, err, dflt)
	}
}

func (v *mgrValue) getModuleOptionEx(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mod, key string
	var dflt starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "module", &mod, "key", &key, "default?", &dflt); err != nil {
		return nil, err
	}
	val, err := v.m.h.ModuleOption(mod, key)
	if err != nil {
		return dflt, nil // Python returns the default for unknown modules and options
	}
	return optionOr(val, nil, dflt)
}

// optionValue converts a Starlark value to an option value (None unsets).
func optionValue(x starlark.Value) (any, error) {
	switch x.(type) {
	case starlark.NoneType, starlark.String, starlark.Bool, starlark.Int, starlark.Float:
		return fromStarlark(x)
	}
	return nil, fmt.Errorf("an option value must be None, a string, an int, a float or a bool, not %s", x.Type())
}

// optionSetter adapts Handle.SetOption or Handle.SetLocalizedOption into
// a mgr method taking (key, value).
func (v *mgrValue) optionSetter(set func(h *module.Handle, ctx context.Context, key string, val any) error) mgrMethod {
	return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var val starlark.Value
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "value", &val); err != nil {
			return nil, err
		}
		gv, err := optionValue(val)
		if err != nil {
			return nil, err
		}
		return starlark.None, goErr(set(v.m.h, ctxOf(thread), key, gv))
	}
}

func (v *mgrValue) setModuleOptionEx(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mod, key string
	var val starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "module", &mod, "key", &key, "value", &val); err != nil {
		return nil, err
	}
	gv, err := optionValue(val)
	if err != nil {
		return nil, err
	}
	return starlark.None, goErr(v.m.h.SetModuleOption(ctxOf(thread), mod, key, gv))
}

// storeGetter adapts Handle.Store or Handle.LocalizedStore into a mgr
// method taking (key, default=None).
func (v *mgrValue) storeGetter(get func(h *module.Handle, key string) (string, bool)) mgrMethod {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var dflt starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "default?", &dflt); err != nil {
			return nil, err
		}
		if s, ok := get(v.m.h, key); ok {
			return starlark.String(s), nil
		}
		return dflt, nil
	}
}

// storeArgs unpacks (key, value) where value is a string or None.
func storeArgs(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (key string, val *string, err error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "value", &x); err != nil {
		return "", nil, err
	}
	switch s := x.(type) {
	case starlark.NoneType:
		return key, nil, nil
	case starlark.String:
		str := string(s)
		return key, &str, nil
	}
	return "", nil, fmt.Errorf("%s: value must be a string or None, not %s", fn.Name(), x.Type())
}

func (v *mgrValue) setStore(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	key, val, err := storeArgs(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if val == nil {
		return starlark.None, goErr(v.m.h.DeleteStore(ctxOf(thread), key))
	}
	return starlark.None, goErr(v.m.h.SetStore(ctxOf(thread), key, *val))
}

func (v *mgrValue) setLocalizedStore(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	key, val, err := storeArgs(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if val == nil {
		return starlark.None, goErr(v.m.h.DeleteStore(ctxOf(thread), v.m.h.MgrID()+"/"+key))
	}
	return starlark.None, goErr(v.m.h.SetLocalizedStore(ctxOf(thread), key, *val))
}

func (v *mgrValue) getStorePrefix(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var prefix string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "prefix", &prefix); err != nil {
		return nil, err
	}
	return toStarlark(v.m.h.StorePrefix(prefix))
}

func (v *mgrValue) get(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "data_name", &name); err != nil {
		return nil, err
	}
	val, err := v.m.h.Get(ctxOf(thread), name)
	if err != nil {
		return nil, goErr(err)
	}
	return toStarlark(val)
}

// daemonArgs unpacks (svc_type, svc_id).
func daemonArgs(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, extra ...any) (typ, id string, err error) {
	pairs := append([]any{"svc_type", &typ, "svc_id", &id}, extra...)
	err = starlark.UnpackArgs(fn.Name(), args, kwargs, pairs...)
	return typ, id, err
}

func (v *mgrValue) getMetadata(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dflt starlark.Value = starlark.None
	typ, id, err := daemonArgs(fn, args, kwargs, "default?", &dflt)
	if err != nil {
		return nil, err
	}
	md, err := v.m.h.GetMetadata(ctxOf(thread), typ, id)
	if err != nil {
		return nil, goErr(err)
	}
	if md == nil {
		return dflt, nil
	}
	return toStarlark(md)
}

// daemonQuery adapts a Handle method that takes (svc_type, svc_id) and
// returns a map into a mgr method. The handle is read at call time: the
// evaluator is built before Init hands it over.
func (v *mgrValue) daemonQuery(get func(h *module.Handle, ctx context.Context, svcType, svcID string) (map[string]any, error)) mgrMethod {
	return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		typ, id, err := daemonArgs(fn, args, kwargs)
		if err != nil {
			return nil, err
		}
		m, err := get(v.m.h, ctxOf(thread), typ, id)
		if err != nil {
			return nil, goErr(err)
		}
		return toStarlark(m)
	}
}

func (v *mgrValue) listServers(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	s, err := v.m.h.ListServers(ctxOf(thread))
	if err != nil {
		return nil, goErr(err)
	}
	return toStarlark(s)
}

func (v *mgrValue) getServer(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var host string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "hostname", &host); err != nil {
		return nil, err
	}
	s, err := v.m.h.GetServer(ctxOf(thread), host)
	if err != nil {
		return nil, goErr(err)
	}
	if s == nil {
		return starlark.None, nil
	}
	return toStarlark(s)
}

// getCephOption is get_ceph_option(key) and
// get_foreign_ceph_option(entity, key).
func (v *mgrValue) getCephOption(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var entity, key string
	var val any
	var err error
	if fn.Name() == "get_foreign_ceph_option" {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "entity", &entity, "key", &key); err != nil {
			return nil, err
		}
		val, err = v.m.h.ForeignCephOption(ctxOf(thread), entity, key)
	} else {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key); err != nil {
			return nil, err
		}
		val, err = v.m.h.CephOption(ctxOf(thread), key)
	}
	if err != nil {
		return nil, goErr(err)
	}
	return toStarlark(val)
}

func (v *mgrValue) haveMonConnection(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.Bool(v.m.h.HaveMonConnection()), nil
}

// setHealthChecks replaces the module's health checks, as Python's
// set_health_checks does; an empty dict clears them.
func (v *mgrValue) setHealthChecks(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d *starlark.Dict
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "checks", &d); err != nil {
		return nil, err
	}
	gv, err := fromStarlark(d)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(gv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	checks, err := parseChecks(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	v.m.mu.Lock()
	v.m.health = cloneChecks(checks)
	v.m.mu.Unlock()
	v.m.h.SetHealthChecks(checks)
	return starlark.None, nil
}

func (v *mgrValue) getHealthChecks(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return toStarlark(v.m.h.HealthChecks())
}

// commandDict converts a command dict, which must have a prefix.
func commandDict(name string, d *starlark.Dict) (map[string]any, error) {
	gv, err := fromStarlark(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := gv.(map[string]any)
	if _, ok := cmd["prefix"].(string); !ok {
		return nil, fmt.Errorf("%s: the command has no \"prefix\" string", name)
	}
	return cmd, nil
}

func resultTuple(res objectformat.Result) starlark.Tuple {
	return starlark.Tuple{starlark.MakeInt(res.Retval), starlark.String(res.Stdout), starlark.String(res.Stderr)}
}

// monCommand sends a command to the monitors and returns (retval, stdout,
// stderr).
func (v *mgrValue) monCommand(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d *starlark.Dict
	var inbuf string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "cmd_dict", &d, "inbuf?", &inbuf); err != nil {
		return nil, err
	}
	cmd, err := commandDict(fn.Name(), d)
	if err != nil {
		return nil, err
	}
	return resultTuple(v.m.h.MonCommand(ctxOf(thread), cmd, []byte(inbuf))), nil
}

// tellCommand sends a command to one daemon (send_command + wait).
func (v *mgrValue) tellCommand(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d *starlark.Dict
	var inbuf string
	typ, id, err := daemonArgs(fn, args, kwargs, "cmd_dict", &d, "inbuf?", &inbuf)
	if err != nil {
		return nil, err
	}
	cmd, err := commandDict(fn.Name(), d)
	if err != nil {
		return nil, err
	}
	ctx := ctxOf(thread)
	res, err := v.m.h.SendCommand(ctx, module.Target{Type: typ, ID: id}, cmd, []byte(inbuf), "eval").Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return resultTuple(res), nil
}

// remote calls another module's exported method: remote(module, method,
// *args, **kwargs). No argument sends null, one positional argument is
// sent as is, several as a list, keyword arguments as a dict.
func (v *mgrValue) remote(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("%s: want remote(module, method, *args, **kwargs)", fn.Name())
	}
	mod, ok1 := starlark.AsString(args[0])
	method, ok2 := starlark.AsString(args[1])
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: module and method must be strings", fn.Name())
	}
	rest := args[2:]
	var arg any
	var err error
	switch {
	case len(rest) > 0 && len(kwargs) > 0:
		return nil, fmt.Errorf("%s: pass positional or keyword arguments, not both", fn.Name())
	case len(kwargs) > 0:
		d := starlark.NewDict(len(kwargs))
		for _, kv := range kwargs {
			_ = d.SetKey(kv[0], kv[1])
		}
		arg, err = fromStarlark(d)
	case len(rest) == 1:
		arg, err = fromStarlark(rest[0])
	case len(rest) > 1:
		arg, err = fromStarlark(rest)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	var raw json.RawMessage
	if err := v.m.h.Remote(ctxOf(thread), mod, method, arg, &raw); err != nil {
		return nil, goErr(err)
	}
	res, err := decodeJSONNumbers(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return toStarlark(res)
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warning": slog.LevelWarn, "error": slog.LevelError, "critical": module.LevelCritical,
}

// log writes to the module's log: log(msg, level="info").
func (v *mgrValue) log(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	level := "info"
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "msg", &msg, "level?", &level); err != nil {
		return nil, err
	}
	l, ok := logLevels[level]
	if !ok {
		return nil, fmt.Errorf("%s: unknown level %q (want debug, info, warning, error or critical)", fn.Name(), level)
	}
	v.m.h.Log().Log(ctxOf(thread), l, msg, "source", "eval")
	return starlark.None, nil
}

// clusterLog writes to the cluster log: cluster_log(channel, priority,
// message) with priority info, security, warning or error.
func (v *mgrValue) clusterLog(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var channel, prio, msg string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "channel", &channel, "priority", &prio, "message", &msg); err != nil {
		return nil, err
	}
	l, ok := clogLevels[LogPriority(prio)]
	if !ok {
		return nil, fmt.Errorf("%s: unknown priority %q (want info, security, warning or error)", fn.Name(), prio)
	}
	v.m.h.ClusterLog(channel, l, msg)
	return starlark.None, nil
}

// setURI is Python's set_uri: the URI of the module's service, published
// in the mgr map (standbys read it with get_active_uri).
func (v *mgrValue) setURI(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var uri string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "uri", &uri); err != nil {
		return nil, err
	}
	v.m.h.SetURI(uri)
	return starlark.None, nil
}

// ---- conversions ----

// maxDepth bounds the nesting of converted values (a list may hold
// itself).
const maxDepth = 64

// decodeJSONNumbers decodes JSON keeping numbers exact (json.Number).
func decodeJSONNumbers(raw []byte) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

// toStarlark converts a Go value (as the module API returns them) to
// Starlark: dicts, lists, strings, ints, floats, bools and None.
func toStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case float64:
		return starlark.Float(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", v, err)
	}
	tree, err := decodeJSONNumbers(b)
	if err != nil {
		return nil, err
	}
	return jsonToStarlark(tree)
}

func jsonToStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return starlark.MakeInt64(i), nil
		}
		if b, ok := new(big.Int).SetString(string(x), 10); ok {
			return starlark.MakeBigInt(b), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", x, err)
		}
		return starlark.Float(f), nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := jsonToStarlark(e)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			sv, err := jsonToStarlark(x[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert %T to a Starlark value", v)
}

// fromStarlark converts a Starlark value to JSON-like Go values: None →
// nil, bool, int64 (or *big.Int), float64, string, []any, map[string]any.
func fromStarlark(v starlark.Value) (any, error) { return fromStarlarkDepth(v, 0) }

func fromStarlarkDepth(v starlark.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep (does a list or dict contain itself?)", maxDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			return i, nil
		}
		return x.BigInt(), nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return string(x), nil
	case starlark.Indexable: // list, tuple, range
		out := make([]any, x.Len())
		for i := range out {
			e, err := fromStarlarkDepth(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case *starlark.Dict:
		out := make(map[string]any, x.Len())
		for _, kv := range x.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, not %s", kv[0].Type())
			}
			e, err := fromStarlarkDepth(kv[1], depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert a %s to JSON", v.Type())
}
