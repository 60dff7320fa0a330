package modhost

// Published URIs, remote calls between modules, and local cluster state.

import (
	"encoding/json"
	"maps"
	"runtime"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

func (m *Manager) setURI(mod, uri string) {
	m.mu.Lock()
	if uri == "" {
		delete(m.uris, mod)
	} else {
		m.uris[mod] = uri
	}
	m.mu.Unlock()
	if m.cfg.OnURI != nil {
		m.cfg.OnURI(mod, uri)
	}
}

// Services returns the URIs modules published ("mgr services").
func (m *Manager) Services() map[string]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return maps.Clone(m.uris)
}

// Running reports whether a module is running, and its failure if any.
func (m *Manager) Running(name string) (running bool, failure string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.running[name] != nil, m.failed[name]
}

func (m *Manager) remote(mod, method string) (module.RemoteFunc, error) {
	m.mu.RLock()
	inst := m.running[mod]
	_, failed := m.failed[mod]
	m.mu.RUnlock()
	if inst == nil || failed {
		return nil, module.ErrModuleNotFound
	}
	fn, ok := inst.exports[method]
	if !ok {
		return nil, module.ErrMethodNotFound
	}
	return fn, nil
}

// localGet answers the cluster-state names the manager itself knows:
// "config", and "mgr_map" and "health" while the backend has no monitor
// connection. Inside a real ceph-mgr (a backend.DaemonState backend, the
// bridge) that mgr answers those two itself, its last maps included while
// it has lost the monitors, as it does its Python modules' get(); asking
// it first whether it has the monitors would cost a crossing each.
func (m *Manager) localGet(name string) (any, bool) {
	if v, ok := m.cephConfigGet(name); ok {
		return v, true
	}
	if _, inMgr := m.cfg.Backend.(backend.DaemonState); inMgr {
		return nil, false
	}
	switch name {
	case "mgr_map":
		if m.cfg.Backend.Cluster().HaveMonConnection() {
			return nil, false
		}
		return m.localMgrMap(), true
	case "health":
		if m.cfg.Backend.Cluster().HaveMonConnection() {
			return nil, false
		}
		b, _ := json.Marshal(m.Health())
		var v any
		_ = json.Unmarshal(b, &v)
		return v, true
	}
	return nil, false
}

// Goroutines reports the number of goroutines (for leak checks in tests and
// the daemon's perf counters).
func Goroutines() int { return runtime.NumGoroutine() }
