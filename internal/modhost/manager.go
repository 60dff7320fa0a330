package modhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
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
	Backend backend.Backend
	// Commands routes commands; the daemon registers its built-in commands
	// there under the module name "mgr". A new one is made if nil.
	Commands *cmdroute.Registry
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
	// ActiveURI returns the URI the active daemon's instance of module
	// published ("" for none; standby mode).
	ActiveURI func(module string) string
	// CephOptions are the Ceph option values this daemon fixes itself
	// (run_dir, admin_socket, mgr_data, log_file...), which win over the
	// configuration as a real daemon's command line does.
	CephOptions map[string]string
	// DaemonInfo answers metadata and counters about this daemon itself.
	DaemonInfo func(kind string) map[string]any
	// ClusterLog, if set, receives the modules' cluster log entries
	// (Handle.ClusterLog) instead of the daemon log. It must not block.
	ClusterLog func(module, channel string, prio slog.Level, msg string)
	// ModuleLog, if set, makes the handler each module's log goes to (the
	// bridge: the real mgr's log), which must honour level (the module's
	// log_level); log_to_file does not apply then.
	ModuleLog func(module string, level slog.Leveler) slog.Handler
	// OnURI, if set, is told when a module publishes its URI (SetURI). It
	// must not block.
	OnURI func(module, uri string)
	// OnFail, if set, is told when a module fails (its Init, Serve or a
	// Handle.Go goroutine: what MGR_MODULE_ERROR reports). It must not
	// block.
	OnFail func(module, why string)
	// OnHealth, if set, is told each time a module sets its health checks
	// (the bridge hands them to the real mgr). It must not block.
	OnHealth func(module string, checks map[string]module.HealthCheck)
}

// catalogEntry is what the manager knows about a module without running it.
type catalogEntry struct {
	info     module.Info
	opts     optschema.Schema
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
	health  map[string]map[string]module.HealthCheck
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

	// selfPerf is this daemon's own perf counters over time (perf.go).
	selfPerf perfstate.History
}

// instance is a running module.
type instance struct {
	name       string
	info       module.Info
	mod        any
	parts      []any // of the module's mixins (Info.Mixins), in order
	handle     *module.Handle
	log        *moduleLog
	ctx        context.Context
	cancel     context.CancelFunc
	serveDone  chan struct{}
	queue      chan func(context.Context)
	queueDone  chan struct{}
	exports    map[string]module.RemoteFunc
	standbyMod module.StandbyModule
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

	// perfQueries is the OSD perf queries the module added and has
	// not removed (osdperf.go), removed when it stops.
	perfMu      sync.Mutex
	perfQueries map[int]bool
}

// NewManager checks every registered module (options and command
// definitions) and returns a Manager ready to Start.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Registry == nil {
		cfg.Registry = Default()
	}
	if cfg.Backend == nil {
		return nil, errors.New("module: Config.Backend is nil")
	}
	if cfg.Commands == nil {
		cfg.Commands = cmdroute.NewRegistry()
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
		health: map[string]map[string]module.HealthCheck{}, uris: map[string]string{}, failed: map[string]string{},
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
func (m *Manager) probe(info module.Info) (*catalogEntry, error) {
	opts, err := modbridge.Schema(info)
	if err != nil {
		return nil, err
	}
	c := &catalogEntry{info: info, opts: opts, prefixes: map[string]bool{}}
	mod := info.New()
	if mod == nil {
		return nil, fmt.Errorf("module %s: New returned nil", info.Name)
	}
	parts := make([]any, len(info.Mixins))
	for i, mx := range info.Mixins {
		parts[i] = mx.New()
	}
	cmds, err := instanceCommands(info.Name, mod, parts)
	if err != nil {
		return nil, err
	}
	probe := cmdroute.NewRegistry()
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

// instanceCommands are the commands of a module value and of its mixins'
// parts.
func instanceCommands(name string, mod any, parts []any) ([]*clicommand.Command, error) {
	cmds, err := modbridge.Commands(name, mod)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		more, err := modbridge.Commands(name, p)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, more...)
	}
	return cmds, nil
}

// Commands returns the command router.
func (m *Manager) Commands() *cmdroute.Registry { return m.cfg.Commands }

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
	if m.cfg.DaemonInfo != nil {
		m.sampleSelfOnce() // the modules find a first sample
		m.bg.Add(1)
		go m.sampleSelf()
	}
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
