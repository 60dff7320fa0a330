package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"syscall"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// handle is the runtime side of one module instance's module.Handle: what
// the Handle's methods ask of the Manager.
type handle struct {
	name string
	m    *Manager
	opts optschema.Schema
	log  *slog.Logger
	inst *instance
}

func (h *handle) Name() string        { return h.name }
func (h *handle) MgrID() string       { return h.m.cfg.MgrID }
func (h *handle) Version() string     { return h.m.cfg.Version }
func (h *handle) ReleaseName() string { return h.m.cfg.ReleaseName }
func (h *handle) Log() *slog.Logger   { return h.log }

func (h *handle) Go(fn func(ctx context.Context) error) bool { return h.m.goroutine(h.inst, fn) }

// Option reads module's option key: its own schema for the handle's
// module, that module's for another (get_module_option_ex).
func (h *handle) Option(mod, who, key string) (any, error) {
	opts := h.opts
	if mod != h.name {
		c, ok := h.m.catalog[mod]
		if !ok {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("module '%s' does not exist", mod), -int(syscall.ENOENT))
		}
		opts = c.opts
	}
	o, ok := opts[key]
	if !ok {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("config option '%s' is not declared by module %s", key, mod), -int(syscall.ENOENT))
	}
	return h.m.optionValue(o, optionKeys(mod, who, key)...), nil
}

func (h *handle) SetOption(ctx context.Context, mod, who, key string, val any) error {
	return h.m.setOption(ctx, mod, who, key, val)
}

func (h *handle) KVGet(key string) (string, bool) { return h.m.cfg.Backend.KV().Get(key) }
func (h *handle) KVSet(ctx context.Context, key, val string) error {
	return h.m.cfg.Backend.KV().Set(ctx, key, val)
}
func (h *handle) KVDelete(ctx context.Context, key string) error {
	return h.m.cfg.Backend.KV().Delete(ctx, key)
}
func (h *handle) KVList(prefix string) map[string]string { return h.m.cfg.Backend.KV().List(prefix) }

func (h *handle) Get(ctx context.Context, name string) (any, error) {
	return h.GetFields(ctx, name, nil)
}

func (h *handle) GetFields(ctx context.Context, name string, fields module.Fields) (any, error) {
	v, ok := h.m.localGet(name)
	if !ok {
		var err error
		if v, err = h.clusterGet(ctx, name, fields); err != nil {
			return nil, err
		}
	}
	v, err := pythonShape(name, v)
	if err != nil {
		return nil, err
	}
	return fields.Select(v), nil
}

func (h *handle) GetMany(ctx context.Context, names map[string]module.Fields) (map[string]any, error) {
	out := make(map[string]any, len(names))
	ask := map[string]module.Fields{}
	for name, fields := range names {
		if v, ok := h.m.localGet(name); ok {
			out[name] = v
		} else {
			ask[name] = fields
		}
	}
	if mg, ok := h.m.cfg.Backend.Cluster().(backend.ManyGetter); ok && len(ask) > 0 {
		got, err := mg.GetMany(ctx, ask)
		if err != nil {
			return nil, err
		}
		for name := range ask {
			out[name] = got[name]
		}
	} else {
		for name, fields := range ask {
			v, err := h.clusterGet(ctx, name, fields)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
	}
	for name, v := range out {
		v, err := pythonShape(name, v)
		if err != nil {
			return nil, err
		}
		out[name] = names[name].Select(v)
	}
	return out, nil
}

// clusterGet is the backend's get of name, reduced to fields where the
// backend can (backend.FieldsGetter): the caller selects.
func (h *handle) clusterGet(ctx context.Context, name string, fields module.Fields) (any, error) {
	c := h.m.cfg.Backend.Cluster()
	if fg, ok := c.(backend.FieldsGetter); ok && len(fields) > 0 {
		return fg.GetFields(ctx, name, fields)
	}
	return c.Get(ctx, name)
}

// jsonWrapped are the names Python's get() answers as {"json": "<the
// monitors' JSON text>"} rather than as the decoded object.
var jsonWrapped = map[string]bool{"health": true, "mon_status": true}

// pythonShape gives v the shape Python's get(name) has: the names of
// jsonWrapped as {"json": text}. A value already in that shape (the real
// mgr's, through the bridge) is left as it is.
func pythonShape(name string, v any) (any, error) {
	if !jsonWrapped[name] || v == nil {
		return v, nil
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if _, ok := m["json"].(string); ok {
			return v, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("get(%s): %w", name, err)
	}
	return map[string]any{"json": string(b)}, nil
}

func (h *handle) HaveMonConnection() bool { return h.m.cfg.Backend.Cluster().HaveMonConnection() }

func (h *handle) DaemonInfo(ctx context.Context, kind, svcType, svcID string) (map[string]any, error) {
	return h.m.daemonInfo(ctx, kind, svcType, svcID)
}

func (h *handle) Counter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	return h.m.counter(ctx, svcType, svcID, path, false)
}

func (h *handle) LatestCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	return h.m.counter(ctx, svcType, svcID, path, true)
}

func (h *handle) AllPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error) {
	return h.m.allPerfCounters(ctx, prioLimit, services)
}

func (h *handle) PerfCounters(ctx context.Context, prioLimit int, services []string) ([]module.DaemonPerf, error) {
	return h.m.perfCounters(ctx, prioLimit, services)
}

func (h *handle) ListServers(ctx context.Context) ([]map[string]any, error) {
	return h.m.listServers(ctx)
}

func (h *handle) DaemonHealthMetrics(ctx context.Context) (map[string]any, error) {
	if ds, ok := h.m.cfg.Backend.(backend.DaemonState); ok {
		return ds.DaemonHealthMetrics(ctx)
	}
	// The daemons report their health metrics to the active ceph-mgr
	// only: a backend that is not inside one has none.
	return map[string]any{}, nil
}

func (h *handle) SetHealthChecks(checks map[string]module.HealthCheck) { h.m.setHealth(h.name, checks) }

func (h *handle) HealthChecks() map[string]module.HealthCheck {
	h.m.mu.RLock()
	defer h.m.mu.RUnlock()
	return maps.Clone(h.m.health[h.name])
}

// Command runs a command for the module: monitor commands through the
// daemon's rules (see module.Handle.MonCommand), then the backend. A
// command told to one named monitor is that daemon's own (`ceph tell
// mon.a config set` sets mon.a's runtime option), so it goes as it is.
func (h *handle) Command(ctx context.Context, target module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if target.Type == "mon" && target.ID == "" {
		if res, done := h.m.moduleMonCommand(ctx, cmd); done {
			return res
		}
	}
	return h.m.cfg.Backend.Cluster().Command(ctx, target, cmd, inbuf)
}

func (h *handle) Notify(n module.Notification) { h.m.notifyModule(h.name, n) }

func (h *handle) Remote(mod, method string) (module.RemoteFunc, error) {
	return h.m.remote(mod, method)
}

func (h *handle) SetURI(uri string) { h.m.setURI(h.name, uri) }

// ClusterLog sends an entry to Config.ClusterLog (the bridge: the real
// mgr's cluster log), else to the daemon log and, with a backend that has a
// real cluster log (attached), to that too.
func (h *handle) ClusterLog(channel string, prio slog.Level, msg string) {
	h.clusterLog(channel, prio, msg, true)
}

// clusterLog is ClusterLog; a log_to_cluster record (already in the
// module's log) is not written to the daemon log a second time
// (toDaemonLog false).
func (h *handle) clusterLog(channel string, prio slog.Level, msg string, toDaemonLog bool) {
	if h.m.cfg.ClusterLog != nil {
		h.m.cfg.ClusterLog(h.name, channel, prio, msg)
		return
	}
	if toDaemonLog {
		h.m.cfg.Log.Log(context.Background(), prio, msg, "channel", channel, "module", h.name, "clog", true)
	}
	if cl, ok := h.m.cfg.Backend.(backend.ClusterLogger); ok {
		cl.ClusterLog(channel, prio, msg)
	}
}

func (h *handle) Objects() objstore.Store { return backend.ObjectStore(h.m.cfg.Backend) }

func (h *handle) ActiveURI() string {
	if h.m.cfg.ActiveURI == nil {
		return ""
	}
	return h.m.cfg.ActiveURI(h.name)
}
