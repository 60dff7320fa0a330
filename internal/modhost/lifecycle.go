package modhost

// Enabling, starting, disabling and stopping modules.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// canRun asks a module whether it can run.
func (c *catalogEntry) canRun() (bool, string) {
	if c.info.CanRun == nil {
		return true, ""
	}
	ok, why := c.info.CanRun()
	return ok, why
}

// Enable enables a module and starts it. force skips the can_run check.
// The errors carry Ceph's errnos and texts.
//
// Enabling is atomic with respect to the stored state: the module is
// started only once the enabled list is saved, and a failed save leaves
// it disabled and not running (the error is returned with its errno,
// e.g. -ETIMEDOUT with the monitors down). A module that is saved as
// enabled but fails to start stays enabled and failed (-EIO here,
// MGR_MODULE_ERROR in health, its commands answer -EIO) until it is
// disabled, as a Python module whose serve() raises. Enable and Disable
// of one module are serialised, so concurrent calls cannot leave a module
// running while it is stored as disabled, or the reverse.
func (m *Manager) Enable(ctx context.Context, name string, force bool) (string, error) {
	if m.cfg.Standby {
		return "", objectformat.NewErrorResponseCode("this daemon is a standby; enable modules on the active one", -int(syscall.EAGAIN))
	}
	if name == "" {
		return "", objectformat.NewErrorResponseCode("module name is empty", -int(syscall.EINVAL))
	}
	c, ok := m.catalog[name]
	if !ok {
		// Ceph's mon suggests --force here, for mgr daemons that are
		// not all upgraded yet; a module this daemon lacks cannot be run
		// by forcing it.
		return "", objectformat.NewErrorResponseCode(fmt.Sprintf("all mgr daemons do not support module '%s': it is not compiled into this daemon (compiled-in modules: %s)",
			name, strings.Join(sortedKeys(m.catalog), ", ")), -int(syscall.ENOENT))
	}
	if c.info.AlwaysOn {
		return fmt.Sprintf("module '%s' is already enabled (always-on)", name), nil
	}
	if ok, why := c.canRun(); !ok && !force {
		return "", objectformat.NewErrorResponseCode(fmt.Sprintf("module '%s' reports that it cannot run on the active manager daemon: %s (pass --force to force enablement)", name, why), -int(syscall.ENOENT))
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if done, msg, err := m.unchanged(ctx, name, true); done {
		return msg, err
	}
	if err := m.persist(ctx, name, true); err != nil {
		return "", fmt.Errorf("module '%s' was not enabled: %w", name, err)
	}
	if err := m.start(ctx, c); err != nil {
		return "", objectformat.WrapCode(fmt.Errorf("module '%s' is enabled but failed to start: %w", name, err), -int(syscall.EIO))
	}
	return "", nil
}

// unchanged answers an enable (on) or disable that finds the module in
// that state already, and refuses both after Close; done is false when
// the change is to be made. A stored list that does not read back cleanly
// is written again here, so any enable or disable repairs it.
func (m *Manager) unchanged(ctx context.Context, name string, on bool) (done bool, msg string, err error) {
	m.mu.RLock()
	closed, enabled := m.closed, m.enabled[name]
	m.mu.RUnlock()
	if closed {
		return true, "", errShuttingDown
	}
	if enabled != on {
		return false, "", nil
	}
	if err := m.repairStored(ctx); err != nil {
		return true, "", err
	}
	state := "disabled"
	if on {
		state = "enabled"
	}
	return true, fmt.Sprintf("module '%s' is already %s", name, state), nil
}

// errShuttingDown answers enable and disable after Close.
var errShuttingDown = objectformat.NewErrorResponseCode("the manager is shutting down", -int(syscall.ESHUTDOWN))

// Disable records a module as disabled and stops it. Like Enable it is
// atomic: a failed save leaves the module enabled and running (the error
// says so), and the module is stopped only once the save succeeded. A
// module that is enabled but not compiled in (listed as unavailable) is
// disabled the same way, which clears its health warning.
func (m *Manager) Disable(ctx context.Context, name string) (string, error) {
	if m.cfg.Standby {
		return "", objectformat.NewErrorResponseCode("this daemon is a standby; disable modules on the active one", -int(syscall.EAGAIN))
	}
	if name == "" {
		return "", objectformat.NewErrorResponseCode("module name is empty", -int(syscall.EINVAL))
	}
	c, ok := m.catalog[name]
	if ok && c.info.AlwaysOn {
		return "", objectformat.NewErrorResponseCode(fmt.Sprintf("module '%s' cannot be disabled (always-on)", name), -int(syscall.EINVAL))
	}
	if ok {
		c.opMu.Lock()
		defer c.opMu.Unlock()
	}
	if done, msg, err := m.unchanged(ctx, name, false); done {
		return msg, err
	}
	if err := m.persist(ctx, name, false); err != nil {
		return "", fmt.Errorf("module '%s' is still enabled: %w", name, err)
	}
	if ok {
		m.stop(name)
	}
	return "", nil
}

// start instantiates, initialises and starts one module.
func (m *Manager) start(ctx context.Context, c *catalogEntry) error {
	name := c.info.Name
	if ok, why := c.canRun(); !ok {
		m.cfg.Log.Warn("module cannot run; starting it anyway because it is enabled", "module", name, "reason", why)
	}
	inst := &instance{name: name, info: c.info, serveDone: make(chan struct{}), queueDone: make(chan struct{})}
	inst.ctx, inst.cancel = context.WithCancel(context.Background())
	inst.queue = make(chan func(context.Context), m.cfg.NotifyQueue)
	inst.log = newModuleLog(name, m.cfg.LogWriter, m.cfg.LogDir, m.cfg.MgrID)
	inst.log.handler = m.cfg.ModuleLog
	rt := &handle{name: name, m: m, opts: c.opts, inst: inst}
	inst.log.clog = func(channel string, level slog.Level, msg string) { rt.clusterLog(channel, level, msg, false) }
	rt.log = inst.log.logger()
	h := modbridge.NewHandle(rt).(*module.Handle)
	inst.handle = h
	m.applyLogOptions(inst)

	var err error
	initDone := false // the module's Init succeeded: undo with Shutdown
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic while starting: %v", p)
			}
		}()
		if m.cfg.Standby {
			inst.standbyMod = c.info.Standby()
			if inst.standbyMod == nil {
				err = errors.New("Info.Standby returned nil")
				return
			}
			inst.mod = inst.standbyMod
			err = inst.standbyMod.InitStandby(modbridge.NewStandbyHandle(h).(*module.StandbyHandle))
			initDone = err == nil
			return
		}
		mod := c.info.New()
		if mod == nil {
			err = errors.New("Info.New returned nil")
			return
		}
		inst.mod = mod
		if err = mod.Init(h); err != nil {
			return
		}
		initDone = true
		for _, mx := range c.info.Mixins {
			part := mx.New()
			if i, ok := part.(module.Module); ok {
				if err = i.Init(h); err != nil {
					err = fmt.Errorf("mixin %T: %w", mx, err)
					return
				}
			}
			inst.parts = append(inst.parts, part)
		}
	}()
	if err != nil {
		m.unwind(inst, initDone)
		m.fail(name, fmt.Sprintf("init: %v", err))
		return err
	}
	if !m.cfg.Standby {
		cmds, err := instanceCommands(name, inst.mod, inst.parts)
		if err == nil {
			err = m.cfg.Commands.Add(name, cmds...)
		}
		if err != nil {
			m.unwind(inst, true)
			m.fail(name, err.Error())
			return err
		}
		if e, ok := inst.mod.(module.Exporter); ok {
			inst.exports = e.Exports()
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.cfg.Commands.Remove(name)
		m.unwind(inst, initDone)
		return errShuttingDown
	}
	if _, ok := m.running[name]; ok {
		m.mu.Unlock()
		m.unwind(inst, initDone)
		return fmt.Errorf("module %s is already running", name)
	}
	m.running[name] = inst
	delete(m.failed, name)
	inst.registered = true
	early := inst.earlyFailure
	if early != "" { // a Handle.Go goroutine of Init failed
		m.failed[name] = early
	}
	m.mu.Unlock()
	if early != "" {
		m.onFail(name, early)
	}

	go m.runQueue(inst)
	if srv, ok := inst.mod.(module.Server); ok {
		go m.serve(inst, srv)
	} else {
		close(inst.serveDone)
	}
	m.cfg.Log.Info("module started", "module", name, "standby", m.cfg.Standby)
	return nil
}

// stop stops a running module within the shutdown deadline.
func (m *Manager) stop(name string) {
	m.mu.Lock()
	inst := m.running[name]
	delete(m.running, name)
	delete(m.failed, name)
	delete(m.health, name)
	delete(m.uris, name)
	m.mu.Unlock()
	m.cfg.Commands.Remove(name)
	if inst == nil {
		return
	}
	inst.bgMu.Lock() // no Handle.Go is between its stopping check and its Add
	inst.stopping.Store(true)
	inst.bgMu.Unlock()
	deadline := time.Now().Add(m.cfg.ShutdownTimeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	m.shutdownAll(ctx, inst)
	inst.cancel()
	select {
	case <-inst.serveDone:
	case <-ctx.Done():
		m.cfg.Log.Error("module serve did not return before the deadline; abandoning it", "module", name, "timeout", m.cfg.ShutdownTimeout)
	}
	m.waitGoroutines(ctx, inst)
	m.dropOSDPerfQueries(ctx, inst)
	inst.queueMu.Lock() // no sender is between its stopping check and its send
	close(inst.queue)
	inst.queueMu.Unlock()
	select {
	case <-inst.queueDone:
	case <-ctx.Done():
		m.cfg.Log.Error("module notification handler did not return before the deadline", "module", name)
	}
	inst.log.close()
	m.cfg.Log.Info("module stopped", "module", name)
}

// shutdown calls sd.Shutdown (the module's or a mixin part's) and waits
// for it until ctx's deadline; it reports whether it returned in time.
func (m *Manager) shutdown(ctx context.Context, inst *instance, sd module.Shutdowner) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				inst.handle.Log().Error("shutdown panicked", "panic", p)
			}
		}()
		if err := sd.Shutdown(ctx); err != nil {
			inst.handle.Log().Warn("shutdown failed", "err", err)
		}
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		m.cfg.Log.Error("module shutdown did not return before the deadline; abandoning it", "module", inst.name, "timeout", m.cfg.ShutdownTimeout)
		return false
	}
}

// shutdownAll calls the Shutdown of the module and then of each of its
// mixins' parts, within ctx's deadline. A part's Shutdown is called even
// when the module's overran (with a short grace of its own), so that a
// part holding a process, such as an eval worker, always stops.
func (m *Manager) shutdownAll(ctx context.Context, inst *instance) {
	if sd, ok := inst.mod.(module.Shutdowner); ok {
		m.shutdown(ctx, inst, sd)
	}
	for _, p := range inst.parts {
		sd, ok := p.(module.Shutdowner)
		if !ok {
			continue
		}
		pctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(context.Background(), partShutdownGrace)
			defer cancel()
		}
		m.shutdown(pctx, inst, sd)
	}
}

// partShutdownGrace bounds a mixin part's Shutdown called after the
// module's own overran the shutdown deadline.
const partShutdownGrace = time.Second

// waitGoroutines waits, until ctx's deadline, for the module's Handle.Go
// goroutines.
func (m *Manager) waitGoroutines(ctx context.Context, inst *instance) {
	bgDone := make(chan struct{})
	go func() { inst.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-ctx.Done():
		m.cfg.Log.Error("module goroutines (Handle.Go) did not return before the deadline; abandoning them", "module", inst.name, "timeout", m.cfg.ShutdownTimeout)
	}
}

// unwind undoes a start that failed: the Shutdown of the module (if its
// Init had succeeded: initDone) and of the parts initialised so far, then
// its goroutines are stopped and waited for, within the shutdown deadline.
func (m *Manager) unwind(inst *instance, initDone bool) {
	inst.bgMu.Lock() // no Handle.Go is between its stopping check and its Add
	inst.stopping.Store(true)
	inst.bgMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	if initDone {
		m.shutdownAll(ctx, inst)
	}
	inst.cancel()
	m.waitGoroutines(ctx, inst)
	m.dropOSDPerfQueries(ctx, inst)
	inst.log.close()
}

// StartStandby runs the standby variant of module name on a standby
// manager, for a host that decides itself which standby modules run (the
// bridge: the real mgr starts a module's standby shim). The stored enabled
// list is neither read nor written. A module already running is left as it
// is; one that had failed is started again.
func (m *Manager) StartStandby(ctx context.Context, name string) error {
	if !m.cfg.Standby {
		return objectformat.NewErrorResponseCode("StartStandby needs a standby manager", -int(syscall.EINVAL))
	}
	c, ok := m.catalog[name]
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("no module %s is compiled into this daemon", name), -int(syscall.ENOENT))
	}
	if c.info.Standby == nil {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("module %s has no standby variant", name), -int(syscall.EOPNOTSUPP))
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	m.mu.RLock()
	closed, inst, failure := m.closed, m.running[name], m.failed[name]
	m.mu.RUnlock()
	switch {
	case closed:
		return errShuttingDown
	case inst != nil && failure == "":
		return nil
	case inst != nil:
		m.stop(name)
	}
	return m.start(ctx, c)
}

// StopStandby stops the standby variant of module name that StartStandby
// started (nothing if it is not running).
func (m *Manager) StopStandby(name string) {
	c, ok := m.catalog[name]
	if !ok || !m.cfg.Standby {
		return
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	m.stop(name)
}
