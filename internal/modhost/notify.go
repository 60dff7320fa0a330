package modhost

// Notifications: the per-module queue, and the backend's events.

import (
	"context"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/pkg/module"
)

// runQueue delivers a module's notifications one at a time.
func (m *Manager) runQueue(inst *instance) {
	defer close(inst.queueDone)
	for fn := range inst.queue {
		func() {
			defer func() {
				if p := recover(); p != nil {
					inst.handle.Log().Error("notify panicked", "panic", p, "stack", string(debug.Stack()))
				}
			}()
			fn(inst.ctx)
		}()
	}
}

// enqueue adds work to a module's queue without blocking; a full queue
// drops the notification (the module is too slow) and logs it.
func (m *Manager) enqueue(inst *instance, fn func(context.Context)) {
	inst.queueMu.RLock()
	defer inst.queueMu.RUnlock()
	if inst.stopping.Load() {
		return
	}
	select {
	case inst.queue <- fn:
	default:
		if m.counters.notifyDropped.Add(1)%100 == 1 {
			inst.handle.Log().Warn("notification queue full; dropping notifications", "queue", cap(inst.queue))
		}
	}
}

// notifyModule queues a notification for one module if it wants it.
func (m *Manager) notifyModule(name string, n module.Notification) {
	m.mu.RLock()
	inst := m.running[name]
	m.mu.RUnlock()
	if inst == nil || !slices.Contains(inst.info.NotifyTypes, n.Type) {
		return
	}
	if nf, ok := inst.mod.(module.Notifier); ok {
		m.enqueue(inst, func(ctx context.Context) { nf.Notify(ctx, n) })
	}
}

// NotifyModule sends a notification to one running module, if it wants
// it (the bridge: the real mgr notifies each of its modules itself).
func (m *Manager) NotifyModule(name string, n module.Notification) { m.notifyModule(name, n) }

// Notify sends a notification to every running module that wants it.
func (m *Manager) Notify(n module.Notification) {
	m.mu.RLock()
	names := sortedKeys(m.running)
	m.mu.RUnlock()
	for _, name := range names {
		m.notifyModule(name, n)
	}
}

func (m *Manager) onEvent(ev backend.Event) {
	switch ev.Kind {
	case backend.ClusterNotify:
		m.Notify(ev.Notification)
	case backend.ConfigChanged:
		rest, ok := strings.CutPrefix(ev.Key, "mgr/")
		if !ok {
			m.nativeOptionChanged(ev.Key)
			return
		}
		name, _, _ := strings.Cut(rest, "/")
		m.mu.RLock()
		inst := m.running[name]
		m.mu.RUnlock()
		if inst == nil {
			return
		}
		m.configNotify(inst)
	case backend.ConnectionChanged:
		m.kickResync()
	}
}

// configNotify queues a module's ConfigNotify (and its log options'
// reconfiguration).
func (m *Manager) configNotify(inst *instance) {
	m.enqueue(inst, func(ctx context.Context) {
		m.applyLogOptions(inst)
		if cn, ok := inst.mod.(module.ConfigNotifier); ok {
			cn.ConfigNotify(ctx)
		} else if typed := modbridge.ConfigNotify(inst.mod); typed != nil {
			typed(ctx, inst.handle)
		}
	})
}

// nativeOptionChanged calls ConfigNotify of the running modules that list
// the Ceph option key in their NativeOptions.
func (m *Manager) nativeOptionChanged(key string) {
	key = cephopts.Normalize(key)
	m.mu.RLock()
	var insts []*instance
	for _, name := range sortedKeys(m.running) {
		if inst := m.running[name]; slices.Contains(inst.info.NativeOptions, key) {
			insts = append(insts, inst)
		}
	}
	m.mu.RUnlock()
	for _, inst := range insts {
		m.configNotify(inst)
	}
}

// applyLogOptions reconfigures a module's logger from its options.
func (m *Manager) applyLogOptions(inst *instance) {
	h := inst.handle
	level, _ := h.StringOption("log_level")
	toFile, _ := h.BoolOption("log_to_file")
	toCluster, _ := h.BoolOption("log_to_cluster")
	clusterLevel, _ := h.StringOption("log_to_cluster_level")
	if err := inst.log.configure(level, m.cfg.DebugLevel, toFile, toCluster, clusterLevel); err != nil {
		m.cfg.Log.Warn("module logging", "module", inst.name, "err", err)
	}
}
