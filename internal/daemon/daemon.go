// Package daemon is ceph-mgr: it hosts modules on a backend (the embedded
// store, or a Ceph cluster), serves a Ceph admin socket that the real
// `ceph --admin-daemon` CLI can drive, and serves the API mgrctl uses.
//
// Several daemons may share one data directory: the first becomes active,
// the others wait as standbys, run the standby variants of modules, and the
// first to get the lock takes over when the active one exits.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/privdir"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Options configure a daemon.
type Options struct {
	// ID is the daemon id (ceph-mgr -i ID).
	ID string
	// DataDir holds the embedded store; daemons sharing it elect one
	// active.
	DataDir string
	// RunDir holds the sockets: ceph-mgr.<id>.asok, ceph-mgr.<id>.api and
	// ceph-mgr.<id>.ro.api.
	RunDir string
	// LogDir receives modules' log_to_file logs ("" disables them). Like
	// DataDir and RunDir it must be private (see internal/privdir).
	LogDir string
	// Log is where the daemon logs (os.Stderr if nil).
	Log io.Writer
	// DebugLevel is debug_mgr (2 by default: modules log at info).
	DebugLevel int
	// Version and Release describe the daemon.
	Version, Release string
	// Registry lists the modules (modhost.Default() if nil).
	Registry *modhost.Registry
	// Cluster, if set, is the Ceph cluster backend (-c ceph.conf) and its
	// election; nil means the embedded store.
	Cluster ClusterAttacher
	// APISocketMode is the API socket's mode (0600); ROSocketMode the
	// read-only API socket's (0666; 0 disables that socket).
	APISocketMode, ROSocketMode os.FileMode
	// MaxRequest caps admin-socket requests (64 KiB) and API requests (64
	// MiB).
	MaxAsokRequest int
	MaxAPIRequest  int64
	// CommandTimeout bounds a command (5 min); ShutdownTimeout bounds a
	// module's shutdown (10 s).
	CommandTimeout, ShutdownTimeout time.Duration
	// ClientTimeout bounds the time a client may take to send a request,
	// and to read its reply (plus a second per MiB of reply) (10 s), so
	// slow or stuck clients cannot hold connections.
	ClientTimeout time.Duration
	// MaxInflight caps the bytes of API requests in flight, and of replies
	// over 64 KiB not yet read, across all connections of the admin and
	// read-write API sockets, and separately across those of the
	// read-only socket (256 MiB each); a request or reply past it gets
	// -EBUSY, or -E2BIG if it could never fit.
	MaxInflight int64
	// ShutdownGrace is how long commands running at shutdown may take to
	// finish with their real result (1 s); the rest are cancelled and
	// answered -EAGAIN "daemon is shutting down".
	ShutdownGrace time.Duration
	// StartWait is how long a command arriving while the daemon starts
	// waits for the modules to be registered before it is answered -EAGAIN
	// "starting" (2 s).
	StartWait time.Duration
	// StandbyPoll is how often a standby tries to take over (200 ms).
	StandbyPoll time.Duration
	// Ready, if set, is called once the sockets listen.
	Ready func(d *Daemon)
}

// ClusterAttacher connects the daemon to a Ceph cluster. It is implemented
// in a cgo package that only the ceph-mgr binary imports.
type ClusterAttacher interface {
	// Open returns the backend and the election among gomgr daemons.
	Open(ctx context.Context, id string, log *slog.Logger) (backend.Backend, Election, error)
	// Describe names the cluster for status output.
	Describe() string
}

// Election decides which daemon is active.
type Election interface {
	// Campaign blocks until this daemon is active or ctx ends.
	Campaign(ctx context.Context) error
	// Lost is closed when the daemon loses its active role.
	Lost() <-chan struct{}
	// Publish records the active daemon's details for standbys.
	Publish(info ActiveInfo) error
	// Active returns the current active daemon's details.
	Active() (ActiveInfo, error)
	// Resign gives the active role up.
	Resign() error
}

// ActiveInfo is what the active daemon publishes.
type ActiveInfo struct {
	ID        string            `json:"id"`
	PID       int               `json:"pid"`
	API       string            `json:"api_socket"`
	Asok      string            `json:"admin_socket"`
	Services  map[string]string `json:"services"`
	Since     time.Time         `json:"since"`
	Heartbeat time.Time         `json:"heartbeat"`
}

// Daemon is a running ceph-mgr.
type Daemon struct {
	opts        Options
	log         *slog.Logger
	logw        io.Writer
	asokPath    string
	apiPath     string
	roPath      string
	backendName string

	role        roleValue
	mu          sync.RWMutex
	mgr         *modhost.Manager
	backend     backend.Backend
	election    Election
	activeSince time.Time
	activeName  string

	stats counters

	inflight   *api.Budget // the admin and read-write API sockets
	roInflight *api.Budget // the read-only API sockets
	drain      func()      // drains the servers (see listen)
	release    memRelease

	builtinOnce     sync.Once
	builtinPrefixes map[string]bool // see isBuiltin
}

// largeInput is the input size from which a command's completion hands
// the memory it freed back to the OS (memRelease).
const largeInput = 16 << 20

const releaseGap = 100 * time.Millisecond

// memRelease returns the memory a command with a large input left
// behind (bbolt's page buffers, a replaced value) to the OS soon after
// the command completes. The garbage collector frees it, but the runtime
// returns free memory only gradually and keeps up to the heap goal
// (twice the live heap), so the process would otherwise stay near its
// peak. Releases run in the background, one at a time and at least
// releaseGap apart (one costs a garbage collection: a few ms for a heap
// of large values, which hold no pointers); one is always due after the
// last large command.
type memRelease struct {
	pending atomic.Bool
	last    atomic.Int64 // when the last release started (UnixNano)
	runs    atomic.Int64
}

func (r *memRelease) soon() {
	if !r.pending.CompareAndSwap(false, true) {
		return // the pending release starts after this command completed
	}
	wait := time.Until(time.Unix(0, r.last.Load()).Add(releaseGap))
	time.AfterFunc(max(wait, 0), func() {
		r.last.Store(time.Now().UnixNano())
		r.pending.Store(false)
		debug.FreeOSMemory()
		r.runs.Add(1)
	})
}

type counters struct {
	commands, errors, asokRequests, apiRequests atomic.Int64
	latencyNanos                                atomic.Int64
}

func (o *Options) defaults() error {
	if o.ID == "" {
		return errors.New("daemon: an id is required (-i ID)")
	}
	if !module.ValidName(o.ID) && !validID(o.ID) {
		return fmt.Errorf("daemon: invalid id %q", o.ID)
	}
	if o.DataDir == "" {
		return errors.New("daemon: a data directory is required (--data DIR)")
	}
	if o.RunDir == "" {
		o.RunDir = o.DataDir
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.DebugLevel == 0 {
		o.DebugLevel = 2
	}
	if o.Registry == nil {
		o.Registry = modhost.Default()
	}
	if o.APISocketMode == 0 {
		o.APISocketMode = 0o600
	}
	if o.MaxAsokRequest <= 0 {
		o.MaxAsokRequest = 64 << 10
	}
	if o.ClientTimeout <= 0 {
		o.ClientTimeout = 10 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = api.DefaultCommandTimeout
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = api.DefaultMaxInflight
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = time.Second
	}
	if o.StartWait <= 0 {
		o.StartWait = 2 * time.Second
	}
	if o.StandbyPoll <= 0 {
		o.StandbyPoll = 200 * time.Millisecond
	}
	if o.Version == "" {
		o.Version = "gomgr version dev"
	}
	if o.Release == "" {
		o.Release = "pacific"
	}
	return nil
}

func validID(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return s != "" && len(s) <= 64
}

// AsokPath is the admin socket path.
func (d *Daemon) AsokPath() string { return d.asokPath }

// APIPath is the API socket path.
func (d *Daemon) APIPath() string { return d.apiPath }

// Role is what the daemon is doing now.
func (d *Daemon) Role() Role { return d.role.Load() }

// Run runs a daemon until ctx is cancelled (SIGTERM in main) or it fails.
func Run(ctx context.Context, opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	d := &Daemon{opts: opts, logw: opts.Log}
	d.log = slog.New(slog.NewTextHandler(opts.Log, &slog.HandlerOptions{Level: modhost.LevelFromDebug(opts.DebugLevel)})).With("daemon", "mgr."+opts.ID)
	d.role.Store(RoleStarting)
	// Another local user who could write to these directories could
	// replace the sockets or the store: refuse them unless private.
	if err := privdir.Ensure("data directory", opts.DataDir); err != nil {
		return err
	}
	if err := privdir.Ensure("run directory", opts.RunDir); err != nil {
		return err
	}
	if opts.LogDir != "" {
		if err := privdir.Ensure("log directory", opts.LogDir); err != nil {
			return err
		}
	}
	unlockID, err := lockID(opts.DataDir, opts.ID)
	if err != nil {
		return err
	}
	defer unlockID()
	d.asokPath = filepath.Join(opts.RunDir, "ceph-mgr."+opts.ID+".asok")
	d.apiPath = filepath.Join(opts.RunDir, "ceph-mgr."+opts.ID+".api")
	if opts.ROSocketMode != 0 {
		d.roPath = filepath.Join(opts.RunDir, "ceph-mgr."+opts.ID+".ro.api")
	}

	if opts.Cluster != nil {
		d.backendName = "cluster " + opts.Cluster.Describe()
		d.backend, d.election, err = opts.Cluster.Open(ctx, opts.ID, d.log)
		if err != nil {
			return fmt.Errorf("attach to the cluster: %w", err)
		}
		defer d.backend.Close()
	} else {
		d.backendName = "embedded " + filepath.Join(opts.DataDir, embedded.DBName)
		d.election = newFileElection(opts.DataDir, opts.ID, opts.StandbyPoll)
	}

	stopServers, err := d.listen()
	if err != nil {
		return err
	}
	defer stopServers()
	if opts.Ready != nil {
		opts.Ready(d)
	}
	d.log.Info("listening", "admin_socket", d.asokPath, "api_socket", d.apiPath)

	for {
		if err := d.runStandby(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		lost, err := d.runActive(ctx)
		if err != nil {
			return err
		}
		if !lost {
			return nil
		}
		d.log.Warn("lost the active role; going back to standby")
	}
}

// listen starts the admin socket and API servers. The returned stop
// drains them (see drainServers) and closes them.
func (d *Daemon) listen() (func(), error) {
	al, err := asok.Listen(d.asokPath, 0o600)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// A budget bounds what clients make the daemon hold: request inputs
	// and unread replies. The admin socket and the read-write API socket
	// share one; the read-only socket has its own (of the same size), so
	// read-only clients that send large requests or leave large replies
	// unread cannot make the administrators' commands EBUSY.
	d.inflight, d.roInflight = api.NewBudget(d.opts.MaxInflight), api.NewBudget(d.opts.MaxInflight)
	as := &asok.Server{Handler: d.serveAsok, MaxRequest: d.opts.MaxAsokRequest, ErrorReply: asokError,
		ReadTimeout: d.opts.ClientTimeout, WriteTimeout: d.opts.ClientTimeout, Replies: d.inflight}
	go func() {
		if err := as.Serve(al); err != nil {
			d.log.Error("admin socket stopped", "err", err)
		}
	}()
	servers := []*api.Server{}
	var paths []string
	start := func(path string, mode os.FileMode, perm string, budget *api.Budget, maxRunning int) error {
		l, err := asok.Listen(path, mode)
		if err != nil {
			return fmt.Errorf("api socket: %w", err)
		}
		s := api.NewServer(apiHandler{d}, api.ServerOptions{Perm: perm, MaxRequest: d.opts.MaxAPIRequest,
			CommandTimeout: d.opts.CommandTimeout, ReadTimeout: d.opts.ClientTimeout, WriteTimeout: d.opts.ClientTimeout,
			Inflight: budget, MaxRunning: maxRunning})
		servers = append(servers, s)
		paths = append(paths, path)
		go func() {
			if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("api socket stopped", "err", err)
			}
		}()
		return nil
	}
	var once sync.Once
	d.drain = func() {
		once.Do(func() {
			var wg sync.WaitGroup
			wg.Add(1 + len(servers))
			go func() { defer wg.Done(); as.Drain(d.opts.ShutdownGrace) }()
			for _, s := range servers {
				go func() { defer wg.Done(); s.Drain(d.opts.ShutdownGrace) }()
			}
			wg.Wait()
		})
	}
	stop := func() {
		d.drain()
		as.Close()
		for _, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.Shutdown(ctx)
			cancel()
			_ = s.Close()
		}
		for _, p := range append(paths, d.asokPath) {
			_ = os.Remove(p)
		}
	}
	if err := start(d.apiPath, d.opts.APISocketMode, "rw", d.inflight, 0); err != nil {
		stop()
		return nil, err
	}
	if d.roPath != "" {
		if err := start(d.roPath, d.opts.ROSocketMode, "r", d.roInflight, roMaxRunning); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// roMaxRunning caps the commands the read-only socket runs at once: a
// command builds its reply before the in-flight budget can be asked for it,
// so without a cap many read-only clients asking at once for a large reply
// (`config-key dump` of a large store) would hold many large replies being
// built. Past it a command waits up to --client-timeout, then gets EBUSY.
const roMaxRunning = 16

// drainServers stops taking commands on every socket, lets those running
// finish within the shutdown grace, and answers the rest -EAGAIN "daemon
// is shutting down" (once; later calls return at once).
func (d *Daemon) drainServers() {
	if d.drain != nil {
		d.drain()
	}
}

// newManager builds a module manager over a backend.
func (d *Daemon) newManager(b backend.Backend, standby bool, activeURIs func() map[string]string) (*modhost.Manager, error) {
	var activeURI func(string) string
	if activeURIs != nil {
		activeURI = func(module string) string { return activeURIs()[module] }
	}
	cmds := cmdroute.NewRegistry()
	m, err := modhost.NewManager(modhost.Config{
		MgrID: d.opts.ID, Version: d.opts.Version, ReleaseName: d.opts.Release,
		Registry: d.opts.Registry, Backend: b, Commands: cmds,
		Log: d.log, LogWriter: d.logw, LogDir: d.opts.LogDir, DebugLevel: d.opts.DebugLevel,
		ShutdownTimeout: d.opts.ShutdownTimeout, Standby: standby, ActiveURI: activeURI,
		DaemonInfo: d.daemonInfo,
		// What a real mgr has on its command line: get_ceph_option of
		// these is this daemon's own.
		CephOptions: map[string]string{"run_dir": d.opts.RunDir, "admin_socket": d.asokPath, "mgr_data": d.opts.DataDir},
	})
	if err != nil {
		return nil, err
	}
	bi := &builtins{m: m, b: b, d: d, since: time.Now()}
	if !standby {
		if err := cmds.Add(builtinModule, bi.commands()...); err != nil {
			return nil, err
		}
	} else if err := cmds.Add(builtinModule, bi.standbyCommands()...); err != nil {
		return nil, err
	}
	return m, nil
}

// runActive waits for nothing: it is called once the election is won. It
// returns lost=true if the active role was lost (to go back to standby).
func (d *Daemon) runActive(ctx context.Context) (lost bool, err error) {
	b := d.backend
	if d.opts.Cluster == nil {
		eb, err := embedded.Open(d.opts.DataDir, embedded.Options{Timeout: 5 * time.Second})
		if err != nil {
			_ = d.election.Resign()
			return false, err
		}
		b = eb
		defer eb.Close()
	}
	m, err := d.newManager(b, false, nil)
	if err != nil {
		_ = d.election.Resign()
		return false, err
	}
	d.mu.Lock()
	d.mgr, d.backend, d.activeSince, d.activeName = m, b, time.Now(), d.opts.ID
	d.mu.Unlock()
	if err := m.Start(ctx); err != nil {
		return false, err
	}
	d.role.Store(RoleActive) // commands wait for this (see ready)
	d.log.Info("active", "backend", d.backendName)
	publish := func() {
		if err := d.election.Publish(ActiveInfo{ID: d.opts.ID, PID: os.Getpid(), API: d.apiPath, Asok: d.asokPath,
			Services: m.Services(), Since: d.activeSince, Heartbeat: time.Now()}); err != nil {
			d.log.Warn("publish active info", "err", err)
		}
	}
	publish()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.role.Store(RoleStopping)
			d.log.Info("shutting down")
			d.drainServers() // commands in flight end before the modules do
			m.Close()
			_ = d.election.Resign()
			return false, nil
		case <-d.election.Lost():
			d.role.Store(RoleStopping)
			m.Close()
			d.mu.Lock()
			d.mgr = nil
			d.mu.Unlock()
			d.role.Store(RoleStandby)
			return true, nil
		case <-tick.C:
			publish()
		}
	}
}

// manager returns the current manager (nil before the first role starts).
func (d *Daemon) manager() *modhost.Manager {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.mgr
}

// Command runs a command as the daemon's clients do. A command that
// outlives the command timeout is answered with -ETIMEDOUT so its client
// and connection are released; a handler that ignores its context keeps
// running in the background, but cannot hold up anyone else. A command
// whose ctx ends first is answered by why (context.Cause): the daemon
// shutting down, or its client gone. inbuf becomes the command's (a stored
// value may share it): the caller must not change it afterwards.
func (d *Daemon) Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	ctx, cancel := context.WithTimeout(ctx, d.opts.CommandTimeout)
	defer cancel()
	done := make(chan objectformat.Result, 1)
	go func() { done <- d.run(ctx, cmd, inbuf, perm) }()
	select {
	case res := <-done:
		return res
	case <-ctx.Done():
		d.stats.errors.Add(1)
		return d.interrupted(ctx, cmd)
	}
}

// interrupted is the reply to a command whose context ended before it did.
func (d *Daemon) interrupted(ctx context.Context, cmd map[string]any) objectformat.Result {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, asok.ErrShuttingDown):
		return api.ShuttingDown(cmd["prefix"])
	case errors.Is(cause, asok.ErrClientGone):
		return objectformat.Failed(-int(syscall.ECANCELED), fmt.Sprintf("command '%v' cancelled: %v", cmd["prefix"], cause))
	}
	return api.TimedOut(cmd["prefix"], d.opts.CommandTimeout)
}

// starting answers a command that came while the daemon starts.
func (d *Daemon) starting() objectformat.Result {
	return objectformat.Failed(-int(syscall.EAGAIN), fmt.Sprintf("mgr.%s is starting; try again", d.opts.ID))
}

// ready returns the manager once the daemon can answer commands with it:
// its modules are registered (role active or standby). While the daemon
// starts it waits up to StartWait; nil means it is still starting (or
// stopping: then role says so).
func (d *Daemon) ready(ctx context.Context) (m *modhost.Manager, role Role) {
	var deadline time.Time
	for {
		m, role = d.manager(), d.Role()
		if m != nil && (role == RoleActive || role == RoleStandby) || role == RoleStopping {
			return m, role
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(d.opts.StartWait)
		}
		if !now.Before(deadline) || ctx.Err() != nil {
			return nil, role
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run runs a command in the caller's goroutine, counting it; the caller
// enforces the command timeout.
func (d *Daemon) run(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	start := time.Now()
	d.stats.commands.Add(1)
	res := d.dispatch(ctx, cmd, inbuf, perm)
	if res.Retval < 0 {
		d.stats.errors.Add(1)
	}
	d.stats.latencyNanos.Add(int64(time.Since(start)))
	return res
}

func (d *Daemon) dispatch(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	m, role := d.ready(ctx)
	prefix, _ := cmd["prefix"].(string)
	switch {
	case role == RoleStopping:
		return api.ShuttingDown(prefix)
	case m == nil:
		return d.starting()
	case role != RoleActive:
		// A command the active daemon runs is refused as retryable
		// (-EAGAIN, naming the active daemon); one nobody runs goes to
		// the router, which answers -EINVAL as the active daemon would.
		if _, _, ok := m.Commands().Lookup(prefix); !ok && d.activeRuns(m, prefix) {
			return d.standbyRefusal(prefix)
		}
	}
	return m.Dispatch(ctx, clicommand.Call{Cmd: cmd, Inbuf: inbuf, Perm: perm})
}

// finishOutput applies the mgr's convention that module output ends with
// a newline (the Python mgr appends one to non-empty output), except for
// the commands in exactOutput.
func finishOutput(cmd map[string]any, b []byte) []byte {
	if p, _ := cmd["prefix"].(string); exactOutput[p] {
		return b
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(b, '\n')
	}
	return b
}

// exactOutput are the commands whose output is data, passed on byte for
// byte: Ceph's monitor serves them and adds nothing (config-key get prints
// a value's exact bytes, with or without a trailing newline).
var exactOutput = map[string]bool{"config-key get": true}

// Health returns the health report (empty while the daemon starts).
func (d *Daemon) Health() health.Report {
	m := d.manager()
	if m == nil {
		return health.Report{Status: health.OK, Checks: map[string]health.Check{}}
	}
	return m.Health()
}

// Describe returns the command descriptions (none while the daemon
// starts).
func (d *Daemon) Describe(opts cmddesc.DescribeOptions) []cmddesc.Description {
	m := d.manager()
	if m == nil {
		return nil
	}
	return m.Describe(opts)
}

// describeReady returns the command descriptions once the daemon can run
// them, waiting for it to start as commands do; a nil Result means ok.
func (d *Daemon) describeReady(ctx context.Context, opts cmddesc.DescribeOptions) ([]cmddesc.Description, *objectformat.Result) {
	m, role := d.ready(ctx)
	switch {
	case role == RoleStopping:
		res := api.ShuttingDown("get_command_descriptions")
		return nil, &res
	case m == nil:
		res := d.starting()
		return nil, &res
	}
	return m.Describe(opts), nil
}

// daemonInfo answers metadata and counters about this daemon.
func (d *Daemon) daemonInfo(kind string) map[string]any {
	host, _ := os.Hostname()
	switch kind {
	case "metadata":
		return map[string]any{"id": d.opts.ID, "hostname": host, "ceph_version": d.opts.Version, "pid": os.Getpid(),
			"ceph_release": d.opts.Release, "addr": d.apiPath, "backend": d.backendName}
	case "perf_schema":
		schema := map[string]any{}
		for _, n := range []string{"commands", "command_errors", "asok_requests", "api_requests", "command_latency_ns", "goroutines"} {
			schema[n] = map[string]any{"type": 10, "metric_type": "counter", "value_type": "integer", "description": n, "nick": "", "priority": 5, "units": "none"}
		}
		return map[string]any{"mgr": schema}
	case "perf_counters":
		return map[string]any{"mgr": map[string]any{
			"commands": d.stats.commands.Load(), "command_errors": d.stats.errors.Load(),
			"asok_requests": d.stats.asokRequests.Load(), "api_requests": d.stats.apiRequests.Load(),
			"command_latency_ns": d.stats.latencyNanos.Load(), "goroutines": modhost.Goroutines(),
		}}
	case "status":
		return map[string]any{"role": d.Role().String()}
	}
	return nil
}

// standbys lists the daemons waiting on this data directory.
func (d *Daemon) standbys() []string {
	return listStandbys(d.opts.DataDir, d.opts.ID)
}

func pid() int { return os.Getpid() }
