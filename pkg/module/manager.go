package module

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Config configures a Manager.
type Config struct {
	// MgrID is the daemon id (ceph-mgr -i ID).
	MgrID string
	// Version and ReleaseName describe the daemon (mgr.version).
	Version, ReleaseName string
	// Registry lists the modules compiled in (Default if nil).
	Registry *Registry
	// Backend holds options, the KV store and cluster state.
	Backend Backend
	// Commands routes commands; the daemon registers its built-in commands
	// there under the module name "mgr". A new one is made if nil.
	Commands *clicommand.Registry
	// Log is the daemon's logger; LogWriter receives module log lines
	// (os.Stderr if nil); LogDir holds log_to_file files.
	Log       *slog.Logger
	LogWriter io.Writer
	LogDir    string
	// DebugLevel is the daemon's debug_mgr level; modules without a
	// log_level option log at the level it maps to (see LevelFromDebug:
	// the daemon uses 2, info; 0 means critical only).
	DebugLevel int
	// ShutdownTimeout bounds how long a module may take to stop (10 s).
	ShutdownTimeout time.Duration
	// NotifyQueue is the per-module notification queue length (256).
	NotifyQueue int
	// Standby makes the manager run standby modules only.
	Standby bool
	// ActiveURIs returns the URIs published by the active daemon (standby
	// mode).
	ActiveURIs func() map[string]string
	// DaemonInfo answers metadata and counters about this daemon itself.
	DaemonInfo func(kind string) map[string]any
}

// catalogEntry is what the manager knows about a module without running it.
type catalogEntry struct {
	info     Info
	opts     options
	commands []*clicommand.Command // from a probe instance: specs only
	prefixes map[string]bool
	// opMu serialises enabling and disabling this module: it is held
	// from the check of the current state through the save and the start
	// or stop.
	opMu sync.Mutex
}

// Manager runs modules.
type Manager struct {
	cfg     Config
	catalog map[string]*catalogEntry
	byCmd   map[string]string // command prefix → module

	mu      sync.RWMutex
	running map[string]*instance
	enabled map[string]bool
	health  map[string]map[string]HealthCheck
	uris    map[string]string
	failed  map[string]string // module → failure text (persists until disabled)
	started bool
	closed  bool

	unsubscribe func()

	// saveMu serialises writes of the enabled list; m.enabled changes only
	// under it (after a successful write). unsynced and resyncing are
	// guarded by it.
	saveMu    sync.Mutex
	unsynced  bool // the last write failed: the stored list is in doubt
	resyncing bool // resyncLoop is running
	bgClosed  bool // Close has begun: no new resyncLoop
	resyncNow chan struct{}
	bg        sync.WaitGroup
	bgCtx     context.Context
	bgCancel  context.CancelFunc

	parseMu   sync.Mutex
	lastParse storedState

	warnMu sync.Mutex
	warned map[string]string // option key → the stored text last warned about

	counters struct{ notifyDropped atomic.Int64 }
}

// instance is a running module.
type instance struct {
	name       string
	info       Info
	mod        any
	handle     *Handle
	log        *moduleLog
	ctx        context.Context
	cancel     context.CancelFunc
	serveDone  chan struct{}
	queue      chan func(context.Context)
	queueDone  chan struct{}
	exports    map[string]RemoteFunc
	standbyMod StandbyModule
	stopping   atomic.Bool
	queueMu    sync.RWMutex // senders hold it for reading; stop closes queue under it

	// bg counts the module's goroutines started with Handle.Go; bgMu
	// fences their start against stop's wait.
	bgMu sync.Mutex
	bg   sync.WaitGroup
	// registered is set (under Manager.mu) once the instance is running;
	// earlyFailure is the failure of a goroutine it started from Init
	// before that, applied when it registers.
	registered   bool
	earlyFailure string
}

// NewManager checks every registered module (options and command
// definitions) and returns a Manager ready to Start.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Registry == nil {
		cfg.Registry = Default
	}
	if cfg.Backend == nil {
		return nil, errors.New("module: Config.Backend is nil")
	}
	if cfg.Commands == nil {
		cfg.Commands = clicommand.NewRegistry()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.LogWriter == nil {
		cfg.LogWriter = os.Stderr
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.NotifyQueue <= 0 {
		cfg.NotifyQueue = 256
	}
	if cfg.Version == "" {
		cfg.Version = "gomgr version (unknown)"
	}
	m := &Manager{
		cfg: cfg, catalog: map[string]*catalogEntry{}, byCmd: map[string]string{},
		running: map[string]*instance{}, enabled: map[string]bool{},
		health: map[string]map[string]HealthCheck{}, uris: map[string]string{}, failed: map[string]string{},
		resyncNow: make(chan struct{}, 1),
	}
	m.bgCtx, m.bgCancel = context.WithCancel(context.Background())
	var errs []error
	for _, info := range cfg.Registry.List() {
		c, err := m.probe(info)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.catalog[info.Name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// probe instantiates a module once to learn its commands.
func (m *Manager) probe(info Info) (*catalogEntry, error) {
	opts, err := compileOptions(info.Name, info.Options)
	if err != nil {
		return nil, err
	}
	c := &catalogEntry{info: info, opts: opts, prefixes: map[string]bool{}}
	mod := info.New()
	if mod == nil {
		return nil, fmt.Errorf("module %s: New returned nil", info.Name)
	}
	cmds, err := commandsOf(info.Name, mod, nil)
	if err != nil {
		return nil, err
	}
	probe := clicommand.NewRegistry()
	if err := probe.Add(info.Name, cmds...); err != nil {
		return nil, err
	}
	for _, cmd := range cmds {
		p := cmd.Prefix()
		if other, dup := m.byCmd[p]; dup {
			return nil, fmt.Errorf("module %s: command %q is already provided by module %s", info.Name, p, other)
		}
		m.byCmd[p] = info.Name
		c.prefixes[p] = true
	}
	c.commands = cmds
	return c, nil
}

// commandsOf collects a module value's commands; legacy ones dispatch to
// HandleCommand on mod.
func commandsOf(name string, mod any, _ *instance) ([]*clicommand.Command, error) {
	var cmds []*clicommand.Command
	if c, ok := mod.(Commander); ok {
		cmds = append(cmds, c.Commands()...)
	}
	if lc, ok := mod.(LegacyCommander); ok {
		h := objectformat.HandlerFunc(func(ctx context.Context, req *objectformat.Request) objectformat.Result {
			return lc.HandleCommand(ctx, req.Inbuf, req.Cmd)
		})
		for _, l := range lc.LegacyCommands() {
			perm := l.Perm
			if perm == "" {
				perm = "rw"
			}
			if l.Poll {
				cmds = append(cmds, clicommand.LegacyPoll(l.Cmd, l.Desc, perm, h))
			} else {
				cmds = append(cmds, clicommand.Legacy(l.Cmd, l.Desc, perm, h))
			}
		}
	}
	for _, c := range cmds {
		if c == nil {
			return nil, fmt.Errorf("module %s: nil command", name)
		}
		if err := c.Err(); err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
	}
	return cmds, nil
}

// Commands returns the command router.
func (m *Manager) Commands() *clicommand.Registry { return m.cfg.Commands }

// Start enables the always-on modules and those recorded as enabled, and
// starts listening for backend events. Modules that fail to start are
// reported in the log and health, not as an error.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return errors.New("module: manager already started")
	}
	m.started = true
	m.mu.Unlock()
	m.unsubscribe = m.cfg.Backend.Subscribe(m.onEvent)
	st := m.stored()
	switch {
	case st.damaged != "":
		m.cfg.Log.Error("the stored enabled module list is unreadable (it fails its checksum): no module is enabled from it, and the modules it named are not running; enable them again (MGR_ENABLED_MODULES_CORRUPT until then)",
			"key", enabledKey, "err", st.damaged)
	case st.problem != "":
		m.cfg.Log.Error("the stored enabled module list is corrupt; enabling the modules that could be read from it",
			"key", enabledKey, "value", clip(st.raw, 80), "problem", st.problem, "modules", st.names)
	}
	m.mu.Lock()
	for _, name := range st.names {
		m.enabled[name] = true
	}
	for name, c := range m.catalog {
		if c.info.AlwaysOn {
			m.enabled[name] = true
		}
	}
	names := sortedKeys(m.enabled)
	m.mu.Unlock()
	for _, name := range names {
		c, ok := m.catalog[name]
		if !ok {
			m.cfg.Log.Warn("enabled module is not compiled into this daemon; it is listed as unavailable until it is disabled", "module", name)
			continue
		}
		if m.cfg.Standby && c.info.Standby == nil {
			continue
		}
		if err := m.start(ctx, c); err != nil {
			m.cfg.Log.Error("module failed to start", "module", name, "err", err)
		}
	}
	return nil
}

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
	h := &Handle{name: name, m: m, opts: c.opts, inst: inst}
	h.log = inst.log.logger()
	inst.handle = h
	m.applyLogOptions(inst)

	var err error
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
			err = inst.standbyMod.InitStandby(&StandbyHandle{h: h})
			return
		}
		inst.mod = c.info.New()
		if i, ok := inst.mod.(Initializer); ok {
			err = i.Init(h)
		}
	}()
	if err != nil {
		inst.cancel()
		inst.log.close()
		m.fail(name, fmt.Sprintf("init: %v", err))
		return err
	}
	if !m.cfg.Standby {
		cmds, err := commandsOf(name, inst.mod, inst)
		if err == nil {
			err = m.cfg.Commands.Add(name, cmds...)
		}
		if err != nil {
			inst.cancel()
			inst.log.close()
			m.fail(name, err.Error())
			return err
		}
		if e, ok := inst.mod.(Exporter); ok {
			inst.exports = e.Exports()
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.cfg.Commands.Remove(name)
		inst.cancel()
		inst.log.close()
		return errShuttingDown
	}
	if _, ok := m.running[name]; ok {
		m.mu.Unlock()
		inst.cancel()
		inst.log.close()
		return fmt.Errorf("module %s is already running", name)
	}
	m.running[name] = inst
	delete(m.failed, name)
	inst.registered = true
	if inst.earlyFailure != "" { // a Handle.Go goroutine of Init failed
		m.failed[name] = inst.earlyFailure
	}
	m.mu.Unlock()

	go m.runQueue(inst)
	if srv, ok := inst.mod.(Server); ok {
		go m.serve(inst, srv)
	} else {
		close(inst.serveDone)
	}
	m.cfg.Log.Info("module started", "module", name, "standby", m.cfg.Standby)
	return nil
}

// serve runs a module's Serve; a panic or an error fails the module.
func (m *Manager) serve(inst *instance, srv Server) {
	defer close(inst.serveDone)
	defer func() {
		if p := recover(); p != nil {
			m.fail(inst.name, fmt.Sprintf("%v", p))
			inst.handle.log.Error("serve panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	err := srv.Serve(inst.ctx)
	if err != nil && inst.ctx.Err() == nil {
		m.fail(inst.name, err.Error())
		inst.handle.log.Error("serve failed", "err", err)
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
				inst.handle.log.Error("module goroutine panicked", "panic", p, "stack", string(debug.Stack()))
				m.failRunning(inst, fmt.Sprintf("%v", p))
			}
		}()
		if err := fn(inst.ctx); err != nil && inst.ctx.Err() == nil {
			inst.handle.log.Error("module goroutine failed", "err", err)
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
	}
}

// fail marks a module failed: its commands answer -EIO and health shows
// MGR_MODULE_ERROR until it is disabled.
func (m *Manager) fail(name, why string) {
	m.mu.Lock()
	m.failed[name] = why
	m.mu.Unlock()
	m.cfg.Log.Error("module failed", "module", name, "err", why)
}

// runQueue delivers a module's notifications one at a time.
func (m *Manager) runQueue(inst *instance) {
	defer close(inst.queueDone)
	for fn := range inst.queue {
		func() {
			defer func() {
				if p := recover(); p != nil {
					inst.handle.log.Error("notify panicked", "panic", p, "stack", string(debug.Stack()))
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
			inst.handle.log.Warn("notification queue full; dropping notifications", "queue", cap(inst.queue))
		}
	}
}

// notifyModule queues a notification for one module if it wants it.
func (m *Manager) notifyModule(name string, n Notification) {
	m.mu.RLock()
	inst := m.running[name]
	m.mu.RUnlock()
	if inst == nil || !inst.info.wantsNotify(n.Type) {
		return
	}
	if nf, ok := inst.mod.(Notifier); ok {
		m.enqueue(inst, func(ctx context.Context) { nf.Notify(ctx, n) })
	}
}

// Notify sends a notification to every running module that wants it.
func (m *Manager) Notify(n Notification) {
	m.mu.RLock()
	names := sortedKeys(m.running)
	m.mu.RUnlock()
	for _, name := range names {
		m.notifyModule(name, n)
	}
}

func (m *Manager) onEvent(ev Event) {
	switch ev.Kind {
	case ClusterNotify:
		m.Notify(ev.Notification)
	case ConfigChanged:
		rest, ok := strings.CutPrefix(ev.Key, "mgr/")
		if !ok {
			return
		}
		name, _, _ := strings.Cut(rest, "/")
		m.mu.RLock()
		inst := m.running[name]
		m.mu.RUnlock()
		if inst == nil {
			return
		}
		m.enqueue(inst, func(ctx context.Context) {
			m.applyLogOptions(inst)
			if cn, ok := inst.mod.(ConfigNotifier); ok {
				cn.ConfigNotify(ctx)
			}
		})
	case ConnectionChanged:
		m.kickResync()
	}
}

// applyLogOptions reconfigures a module's logger from its options.
func (m *Manager) applyLogOptions(inst *instance) {
	h := inst.handle
	level, _ := h.StringOption("log_level")
	toFile, _ := h.BoolOption("log_to_file")
	if err := inst.log.configure(level, m.cfg.DebugLevel, toFile); err != nil {
		m.cfg.Log.Warn("module logging", "module", inst.name, "err", err)
	}
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
	if sd, ok := inst.mod.(Shutdowner); ok {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if p := recover(); p != nil {
					inst.handle.log.Error("shutdown panicked", "panic", p)
				}
			}()
			if err := sd.Shutdown(ctx); err != nil {
				inst.handle.log.Warn("shutdown failed", "err", err)
			}
		}()
		select {
		case <-done:
		case <-ctx.Done():
			m.cfg.Log.Error("module shutdown did not return before the deadline; abandoning it", "module", name, "timeout", m.cfg.ShutdownTimeout)
		}
	}
	inst.cancel()
	select {
	case <-inst.serveDone:
	case <-ctx.Done():
		m.cfg.Log.Error("module serve did not return before the deadline; abandoning it", "module", name, "timeout", m.cfg.ShutdownTimeout)
	}
	bgDone := make(chan struct{})
	go func() { inst.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-ctx.Done():
		m.cfg.Log.Error("module goroutines (Handle.Go) did not return before the deadline; abandoning them", "module", name, "timeout", m.cfg.ShutdownTimeout)
	}
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

// Close stops every running module (the enabled list is kept), each within
// the shutdown deadline, in parallel.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	names := sortedKeys(m.running)
	unsubscribe := m.unsubscribe
	m.mu.Unlock()
	if unsubscribe != nil {
		unsubscribe()
	}
	m.bgCancel() // ends a resync write in flight
	m.saveMu.Lock()
	m.bgClosed = true // a failed save from now on starts no resync
	m.saveMu.Unlock()
	m.bg.Wait()
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() { defer wg.Done(); m.stop(n) }()
	}
	wg.Wait()
}

// Dispatch runs a command: the built-in and enabled modules' commands
// through the router; a command of a disabled module gives -EOPNOTSUPP and
// one of a failed module -EIO, with Ceph's messages.
func (m *Manager) Dispatch(ctx context.Context, call clicommand.Call) objectformat.Result {
	prefix, _ := call.Cmd["prefix"].(string)
	cmd, module, ok := m.cfg.Commands.Lookup(prefix)
	if !ok {
		if owner, known := m.byCmd[prefix]; known {
			return objectformat.Failed(-int(syscall.EOPNOTSUPP), fmt.Sprintf(
				"Module '%s' is not enabled/loaded (required by command '%s'): use `ceph mgr module enable %s` to enable it", owner, prefix, owner))
		}
		return m.cfg.Commands.Dispatch(ctx, call)
	}
	m.mu.RLock()
	why, failed := m.failed[module]
	m.mu.RUnlock()
	if failed {
		return objectformat.Failed(-int(syscall.EIO), fmt.Sprintf("Module '%s' has experienced an error and cannot handle commands: %s", module, why))
	}
	return cmd.Call(ctx, call)
}

// ModuleCommand reports which compiled-in module declares the command
// prefix (enabled or not): "" when none does.
func (m *Manager) ModuleCommand(prefix string) string { return m.byCmd[prefix] }

// Describe returns the descriptions of every command: built-ins, and the
// commands of all compiled-in modules whether enabled or not (like the
// mon's table, so clients validate them and the daemon can say a module is
// disabled).
func (m *Manager) Describe(opts clicommand.DescribeOptions) []clicommand.Description {
	all := clicommand.NewRegistry()
	for _, e := range m.cfg.Commands.Entries() {
		if _, isModule := m.catalog[e.Module]; !isModule {
			_ = all.Add(e.Module, e.Command)
		}
	}
	for _, name := range sortedKeys(m.catalog) {
		_ = all.Add(name, m.catalog[name].commands...)
	}
	return all.Describe(opts)
}

// ModuleList is the reply of "mgr module ls" (the shape go-ceph's
// manager.ModuleInfo decodes).
//
// A module that is enabled but not compiled into this daemon is listed in
// Enabled, as Ceph's monitor lists every enabled module whether a mgr
// has it or not (so `mgr module disable` of a listed module is what
// clears it), and also in Unavailable, a gomgr addition with the
// DisabledModule shape (CanRun false, ErrorString "not compiled into
// this daemon") that is left out of the JSON when empty: decoders that do
// not know the field (go-ceph's ModuleInfo, the ceph CLI) skip it.
type ModuleList struct {
	AlwaysOn    []string         `json:"always_on_modules"`
	Enabled     []string         `json:"enabled_modules"`
	Disabled    []DisabledModule `json:"disabled_modules"`
	Unavailable []DisabledModule `json:"unavailable_modules,omitempty"`
}

// DisabledModule is an entry of ModuleList.Disabled.
type DisabledModule struct {
	Name        string `json:"name"`
	CanRun      bool   `json:"can_run"`
	ErrorString string `json:"error_string"`
}

// List returns the module list.
func (m *Manager) List() ModuleList {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := ModuleList{AlwaysOn: []string{}, Enabled: []string{}, Disabled: []DisabledModule{}}
	for _, name := range sortedKeys(m.catalog) {
		c := m.catalog[name]
		switch {
		case c.info.AlwaysOn:
			l.AlwaysOn = append(l.AlwaysOn, name)
		case m.enabled[name]:
			l.Enabled = append(l.Enabled, name)
		default:
			ok, why := c.canRun()
			l.Disabled = append(l.Disabled, DisabledModule{Name: name, CanRun: ok, ErrorString: why})
		}
	}
	for _, name := range sortedKeys(m.enabled) {
		if _, ok := m.catalog[name]; !ok {
			l.Enabled = append(l.Enabled, name)
			l.Unavailable = append(l.Unavailable, DisabledModule{Name: name, CanRun: false, ErrorString: unavailableWhy})
		}
	}
	sort.Strings(l.Enabled)
	return l
}

// ModuleInfo describes a compiled-in module for listings.
type ModuleInfo struct {
	Name     string   `json:"name"`
	Desc     string   `json:"desc,omitempty"`
	AlwaysOn bool     `json:"always_on"`
	Enabled  bool     `json:"enabled"`
	Running  bool     `json:"running"`
	Failed   string   `json:"failed,omitempty"`
	CanRun   bool     `json:"can_run"`
	Why      string   `json:"error_string,omitempty"`
	Commands []string `json:"commands"`
}

// Modules describes every compiled-in module, and the enabled modules
// that are not compiled in (CanRun false).
func (m *Manager) Modules() []ModuleInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []ModuleInfo
	for _, name := range sortedKeys(m.catalog) {
		c := m.catalog[name]
		ok, why := c.canRun()
		mi := ModuleInfo{Name: name, Desc: c.info.Desc, AlwaysOn: c.info.AlwaysOn, Enabled: m.enabled[name] || c.info.AlwaysOn,
			Running: m.running[name] != nil, Failed: m.failed[name], CanRun: ok, Why: why, Commands: sortedKeys(c.prefixes)}
		out = append(out, mi)
	}
	for _, name := range sortedKeys(m.enabled) {
		if _, ok := m.catalog[name]; !ok {
			out = append(out, ModuleInfo{Name: name, Enabled: true, Why: unavailableWhy, Commands: []string{}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Options returns a module's declared options (built-ins included), by
// name.
func (m *Manager) Options(module string) (map[string]Option, bool) {
	c, ok := m.catalog[module]
	if !ok {
		return nil, false
	}
	out := map[string]Option{}
	for n, o := range c.opts {
		out[n] = o.Option
	}
	return out, true
}

// ParseOptionKey splits a configuration key "mgr/<module>/<opt>" or
// "mgr/<module>/<who>/<opt>" and checks the module declares opt.
func (m *Manager) ParseOptionKey(key string) (module, who, opt string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "mgr" {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s'", key), -int(syscall.EINVAL))
	}
	module, opt = parts[1], parts[len(parts)-1]
	if len(parts) == 4 {
		who = parts[2]
	}
	c, ok := m.catalog[module]
	if !ok {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s': no module '%s'", key, module), -int(syscall.EINVAL))
	}
	if _, ok := c.opts[opt]; !ok {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s': module '%s' has no option '%s'", key, module, opt), -int(syscall.EINVAL))
	}
	return module, who, opt, nil
}

// SetOption validates and stores a module option (val nil removes it).
func (m *Manager) SetOption(ctx context.Context, module, who, key string, val any) error {
	return m.setOption(ctx, module, who, key, val)
}

func (m *Manager) setOption(ctx context.Context, module, who, key string, val any) error {
	c, ok := m.catalog[module]
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("module '%s' does not exist", module), -int(syscall.ENOENT))
	}
	o, ok := c.opts[key]
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("config option '%s' is not declared by module %s", key, module), -int(syscall.ENOENT))
	}
	full := optionKey(module, who, key)
	if err := CheckKey("name", full); err != nil {
		return err
	}
	if val == nil {
		if err := m.cfg.Backend.Config().Delete(ctx, full); err != nil {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		return nil
	}
	text, err := o.valueText(val)
	if err != nil {
		return objectformat.WrapCode(fmt.Errorf("%s: %w", full, err), -int(syscall.EINVAL))
	}
	canon, _, err := o.validate(text)
	if err != nil {
		return objectformat.NewErrorResponseCode(err.Error(), -int(syscall.EINVAL))
	}
	if err := m.cfg.Backend.Config().Set(ctx, full, canon); err != nil {
		return fmt.Errorf("set %s: %w", full, err)
	}
	return nil
}

func (m *Manager) setHealth(module string, checks map[string]HealthCheck) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(checks) == 0 {
		delete(m.health, module)
		return
	}
	m.health[module] = checks
}

// Health merges the modules' health checks with the daemon's own:
// MGR_MODULE_ERROR for failed modules, MGR_MODULE_DEPENDENCY for enabled
// modules that cannot run or are not compiled in, and
// MGR_ENABLED_MODULES_CORRUPT for a stored enabled list that does not
// parse.
func (m *Manager) Health() Health {
	m.mu.RLock()
	defer m.mu.RUnlock()
	checks := map[string]HealthReport{}
	for _, mod := range sortedKeys(m.health) {
		for code, c := range m.health[mod] {
			checks[code] = c.report(mod)
		}
	}
	if len(m.failed) > 0 {
		names := sortedKeys(m.failed)
		r := HealthReport{Severity: HealthErr, Detail: []HealthMessage{}}
		if len(names) == 1 {
			r.Summary = HealthMessage{Message: fmt.Sprintf("Module '%s' has failed: %s", names[0], m.failed[names[0]]), Count: 1}
		} else {
			r.Summary = HealthMessage{Message: fmt.Sprintf("%d mgr modules have failed", len(names)), Count: len(names)}
		}
		for _, n := range names {
			r.Detail = append(r.Detail, HealthMessage{Message: fmt.Sprintf("Module '%s' has failed: %s", n, m.failed[n])})
		}
		checks["MGR_MODULE_ERROR"] = r
	}
	var cannot []string
	for _, n := range sortedKeys(m.enabled) {
		if c, ok := m.catalog[n]; ok {
			if ok, why := c.canRun(); !ok {
				cannot = append(cannot, fmt.Sprintf("Module '%s' has failed dependency: %s", n, why))
			}
		}
	}
	cannot = m.stateChecks(checks, cannot)
	sort.Strings(cannot)
	if len(cannot) > 0 {
		r := HealthReport{Severity: HealthWarn, Summary: HealthMessage{Message: fmt.Sprintf("%d mgr modules have failed dependencies", len(cannot)), Count: len(cannot)}}
		if len(cannot) == 1 {
			r.Summary.Message = cannot[0]
		}
		for _, c := range cannot {
			r.Detail = append(r.Detail, HealthMessage{Message: c})
		}
		checks["MGR_MODULE_DEPENDENCY"] = r
	}
	maps.Copy(checks, backendHealth(m.cfg.Backend))
	return buildHealth(checks)
}

func (m *Manager) setURI(module, uri string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if uri == "" {
		delete(m.uris, module)
		return
	}
	m.uris[module] = uri
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

func (m *Manager) remote(module, method string) (RemoteFunc, error) {
	m.mu.RLock()
	inst := m.running[module]
	_, failed := m.failed[module]
	m.mu.RUnlock()
	if inst == nil || failed {
		return nil, ErrModuleNotFound
	}
	fn, ok := inst.exports[method]
	if !ok {
		return nil, ErrMethodNotFound
	}
	return fn, nil
}

// localGet answers the cluster-state names the manager itself knows.
func (m *Manager) localGet(name string) (any, bool) {
	switch name {
	case "mgr_map":
		if m.cfg.Backend.Cluster().HaveMonConnection() {
			return nil, false
		}
		l := m.List()
		return map[string]any{
			"epoch": 0, "active_name": m.cfg.MgrID, "available": !m.cfg.Standby,
			"modules": l.Enabled, "always_on_modules": l.AlwaysOn, "services": m.Services(), "standbys": []any{},
		}, true
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
