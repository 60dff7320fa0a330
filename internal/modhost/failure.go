package modhost

// Serve loops, Handle.Go goroutines, and what a failure of either does.

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/gomgr/gomgr/pkg/module"
)

// serve runs a module's Serve; a panic or an error fails the module.
func (m *Manager) serve(inst *instance, srv module.Server) {
	defer close(inst.serveDone)
	defer func() {
		if p := recover(); p != nil {
			m.fail(inst.name, fmt.Sprintf("%v", p))
			inst.handle.Log().Error("serve panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	err := srv.Serve(inst.ctx)
	if err != nil && inst.ctx.Err() == nil {
		m.fail(inst.name, err.Error())
		inst.handle.Log().Error("serve failed", "err", err)
	}
}

// goroutine runs fn for Handle.Go: a panic, or an error returned while the
// module runs, fails the module as Serve's do.
func (m *Manager) goroutine(inst *instance, fn func(ctx context.Context) error) bool {
	inst.bgMu.Lock()
	defer inst.bgMu.Unlock()
	if inst.stopping.Load() {
		return false
	}
	inst.bg.Add(1)
	go func() {
		defer inst.bg.Done()
		defer func() {
			if p := recover(); p != nil {
				inst.handle.Log().Error("module goroutine panicked", "panic", p, "stack", string(debug.Stack()))
				m.failRunning(inst, fmt.Sprintf("%v", p))
			}
		}()
		if err := fn(inst.ctx); err != nil && inst.ctx.Err() == nil {
			inst.handle.Log().Error("module goroutine failed", "err", err)
			m.failRunning(inst, err.Error())
		}
	}()
	return true
}

// failRunning is fail for inst while it is the module's running
// instance, or once it is (a goroutine started from Init may fail first);
// not once it is stopping or stopped, when the failure of its leftovers is
// only logged.
func (m *Manager) failRunning(inst *instance, why string) {
	m.mu.Lock()
	current := m.running[inst.name] == inst && !inst.stopping.Load()
	switch {
	case current:
		m.failed[inst.name] = why
	case !inst.registered && inst.earlyFailure == "":
		inst.earlyFailure = why
	}
	m.mu.Unlock()
	if current {
		m.cfg.Log.Error("module failed", "module", inst.name, "err", why)
		m.onFail(inst.name, why)
	}
}

// onFail tells Config.OnFail of a module's failure.
func (m *Manager) onFail(name, why string) {
	if m.cfg.OnFail != nil {
		m.cfg.OnFail(name, why)
	}
}

// fail marks a module failed: its commands answer -EIO and health shows
// MGR_MODULE_ERROR until it is disabled.
func (m *Manager) fail(name, why string) {
	m.mu.Lock()
	m.failed[name] = why
	m.mu.Unlock()
	m.cfg.Log.Error("module failed", "module", name, "err", why)
	m.onFail(name, why)
}
