package module

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Handle is what a module gets from the daemon: the Go counterpart of a
// Python module's self. It is safe for concurrent use.
type Handle struct {
	rt runtime
}

// runtime is what a Handle asks of the daemon that runs its module (the
// module runtime, internal/modhost, implements it for each instance).
type runtime interface {
	Name() string
	MgrID() string
	Version() string
	ReleaseName() string
	Log() *slog.Logger
	Go(fn func(ctx context.Context) error) bool
	// Option is the value of module's option key (localized for who
	// when set); an unknown module or option is an -ENOENT error.
	Option(module, who, key string) (any, error)
	SetOption(ctx context.Context, module, who, key string, val any) error
	// KV* act on whole config-key keys.
	KVGet(key string) (string, bool)
	KVSet(ctx context.Context, key, val string) error
	KVDelete(ctx context.Context, key string) error
	KVList(prefix string) map[string]string
	Get(ctx context.Context, name string) (any, error)
	// GetFields is Get reduced to fields (not deeper than
	// MaxFieldsDepth).
	GetFields(ctx context.Context, name string, fields Fields) (any, error)
	// GetMany is GetFields of each name (at most MaxGetMany).
	GetMany(ctx context.Context, names map[string]Fields) (map[string]any, error)
	HaveMonConnection() bool
	DaemonInfo(ctx context.Context, kind, svcType, svcID string) (map[string]any, error)
	Counter(ctx context.Context, svcType, svcID, path string) (map[string]any, error)
	LatestCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error)
	AllPerfCounters(ctx context.Context, prioLimit int, services []string) (map[string]any, error)
	PerfCounters(ctx context.Context, prioLimit int, services []string) ([]DaemonPerf, error)
	ListServers(ctx context.Context) ([]map[string]any, error)
	DaemonHealthMetrics(ctx context.Context) (map[string]any, error)
	// The OSD perf queries (osdperf.go); the query is valid.
	AddOSDPerfQuery(ctx context.Context, q OSDPerfQuery) (int, error)
	OSDPerfCounters(ctx context.Context, id int) (OSDPerfCounters, error)
	RemoveOSDPerfQuery(ctx context.Context, id int) error
	SetHealthChecks(checks map[string]HealthCheck)
	HealthChecks() map[string]HealthCheck
	Command(ctx context.Context, target Target, cmd map[string]any, inbuf []byte) objectformat.Result
	Notify(n Notification)
	Remote(module, method string) (RemoteFunc, error)
	SetURI(uri string)
	ClusterLog(channel string, prio slog.Level, msg string)
	ActiveURI() string
	// CephOption is the value of a Ceph option for entity ("" for this
	// daemon), typed as Python types it.
	CephOption(ctx context.Context, entity, key string) (any, error)
	// Objects is the backend's RADOS object store (nil if it has none).
	Objects() objstore.Store
}

// Name is the module's name.
func (h *Handle) Name() string { return h.rt.Name() }

// Go runs fn in a goroutine of the module's, the supported way to do
// background work besides Serve: fn's ctx ends when the module stops
// (disabled, or the daemon shuts down), and stopping waits for fn to
// return, within the shutdown deadline. A panic in fn, or an error it
// returns while the module runs, fails the module as one in Serve does
// (MGR_MODULE_ERROR in health, its commands answer -EIO, the panic and its
// stack in the log) instead of killing the daemon, as a panic in a plain
// `go` statement would. Go returns false, and does not run fn, once the
// module is stopping.
func (h *Handle) Go(fn func(ctx context.Context) error) bool {
	return h.rt.Go(fn)
}

// MgrID is the daemon's id (Python's get_mgr_id).
func (h *Handle) MgrID() string { return h.rt.MgrID() }

// Version is the daemon's version string (Python's mgr.version).
func (h *Handle) Version() string { return h.rt.Version() }

// ReleaseName is the Ceph release this daemon speaks for.
func (h *Handle) ReleaseName() string { return h.rt.ReleaseName() }

// Log is the module's logger. Its level follows the log_level option and
// its output goes to the module's own file while log_to_file is on.
func (h *Handle) Log() *slog.Logger { return h.rt.Log() }

// ---- options ----

// Option returns the value of a declared option: the value set in the
// configuration database (mgr/<module>/<key>), else the declared default,
// else nil. A stored value that the option's schema refuses (one that
// does not parse, or is outside its enum or bounds, as the real `ceph
// config set --force` can store when attached) or that fails its checksum
// is logged and read as unset. Reading an undeclared option is an error.
func (h *Handle) Option(key string) (any, error) {
	return h.rt.Option(h.rt.Name(), "", key)
}

// LocalizedOption reads mgr/<module>/<mgr id>/<key>, falling back to the
// global mgr/<module>/<key> and then to the default (a stored value that
// cannot be served is skipped, as by Option).
func (h *Handle) LocalizedOption(key string) (any, error) {
	return h.rt.Option(h.rt.Name(), h.rt.MgrID(), key)
}

// LocalizedOptionOf is LocalizedOption for the mgr mgrID, not
// necessarily this one: mgr/<module>/<mgrID>/<key>, then the global
// mgr/<module>/<key>, then the default (Python's _get_module_option with a
// localized_prefix). Bridged into a real ceph-mgr, only this mgr's
// localized values are known; another's read as the global value.
func (h *Handle) LocalizedOptionOf(mgrID, key string) (any, error) {
	return h.rt.Option(h.rt.Name(), mgrID, key)
}

// StringOption is Option for a string-valued option ("" when unset
// without default).
func (h *Handle) StringOption(key string) (string, error) {
	v, err := h.Option(key)
	if err != nil || v == nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v), nil
	}
	return s, nil
}

// IntOption is Option for an integer-valued option.
func (h *Handle) IntOption(key string) (int64, error) {
	v, err := h.Option(key)
	if err != nil || v == nil {
		return 0, err
	}
	i, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("option %s is %T, not an integer", key, v)
	}
	return i, nil
}

// FloatOption is Option for a float- or secs-valued option.
func (h *Handle) FloatOption(key string) (float64, error) {
	v, err := h.Option(key)
	if err != nil || v == nil {
		return 0, err
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	}
	return 0, fmt.Errorf("option %s is %T, not a number", key, v)
}

// BoolOption is Option for a bool-valued option.
func (h *Handle) BoolOption(key string) (bool, error) {
	v, err := h.Option(key)
	if err != nil || v == nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("option %s is %T, not a bool", key, v)
	}
	return b, nil
}

// SetOption validates and stores a declared option; nil removes it so the
// default applies again. It returns once the value is durable.
func (h *Handle) SetOption(ctx context.Context, key string, val any) error {
	return h.rt.SetOption(ctx, h.rt.Name(), "", key, val)
}

// SetLocalizedOption sets mgr/<module>/<mgr id>/<key>.
func (h *Handle) SetLocalizedOption(ctx context.Context, key string, val any) error {
	return h.rt.SetOption(ctx, h.rt.Name(), h.rt.MgrID(), key, val)
}

// ModuleOption reads another module's option (Python's
// get_module_option_ex): the stored value typed by that module's schema,
// else that option's default, else nil. An unknown module or option is an
// error.
func (h *Handle) ModuleOption(module, key string) (any, error) {
	return h.rt.Option(module, "", key)
}

// SetModuleOption sets another module's option, validated by its schema.
func (h *Handle) SetModuleOption(ctx context.Context, module, key string, val any) error {
	return h.rt.SetOption(ctx, module, "", key, val)
}

// CephOption returns this daemon's value of a Ceph option (Python's
// get_ceph_option), typed as Python types it: int, uint and size options
// as int64, float, secs and millisecs as float64, bool as bool, the rest
// as string. Inside a real mgr it is the mgr's value; attached, the
// monitors' configuration database for mgr.<id>, then ceph.conf, then
// Ceph's default; embedded, the daemon's local configuration, then the
// default. Metavariables are expanded ($run_dir, $name, ...), and values
// the daemon fixes itself (run_dir, admin_socket, mgr_data, fsid) are its
// own. An option Ceph does not have is an -ENOENT error, "option not
// found: <key>". List options the module must hear about in
// Info.NativeOptions: ConfigNotify is called when one changes.
func (h *Handle) CephOption(ctx context.Context, key string) (any, error) {
	return h.rt.CephOption(ctx, "", key)
}

// ForeignCephOption returns another daemon's value of a Ceph option
// (Python's get_foreign_ceph_option): entity is "osd.0", "mon.a", ...
// Inside a real mgr it is what that mgr knows of the daemon; attached, the
// monitors' configuration for the entity (`config get`); embedded, the
// local configuration, then the default.
func (h *Handle) ForeignCephOption(ctx context.Context, entity, key string) (any, error) {
	if entity == "" {
		return nil, objectformat.NewErrorResponseCode("get_foreign_ceph_option: no entity", -int(syscall.EINVAL))
	}
	return h.rt.CephOption(ctx, entity, key)
}

// ---- KV store ----

func (h *Handle) storeKey(key string) string { return "mgr/" + h.rt.Name() + "/" + key }

// Store reads the module's KV store (config-key mgr/<module>/<key>).
func (h *Handle) Store(key string) (string, bool) {
	return h.rt.KVGet(h.storeKey(key))
}

// SetStore writes the KV store; it returns once the value is durable. The
// key must be valid UTF-8 (-EINVAL otherwise); the value may hold any
// bytes.
func (h *Handle) SetStore(ctx context.Context, key, val string) error {
	if err := kvkeys.CheckKey("key", key); err != nil {
		return fmt.Errorf("set_store: %w", err)
	}
	if err := h.rt.KVSet(ctx, h.storeKey(key), val); err != nil {
		return fmt.Errorf("set_store %s: %w", key, err)
	}
	return nil
}

// DeleteStore removes a KV entry.
func (h *Handle) DeleteStore(ctx context.Context, key string) error {
	if err := h.rt.KVDelete(ctx, h.storeKey(key)); err != nil {
		return fmt.Errorf("delete store %s: %w", key, err)
	}
	return nil
}

// StorePrefix returns the module's KV entries whose key starts with prefix,
// keyed relative to the module (Python's get_store_prefix).
func (h *Handle) StorePrefix(prefix string) map[string]string {
	base := "mgr/" + h.rt.Name() + "/"
	out := map[string]string{}
	for k, v := range h.rt.KVList(base + prefix) {
		out[strings.TrimPrefix(k, base)] = v
	}
	return out
}

// LocalizedStore reads <mgr id>/<key>, falling back to <key>.
func (h *Handle) LocalizedStore(key string) (string, bool) {
	if v, ok := h.Store(h.MgrID() + "/" + key); ok {
		return v, true
	}
	return h.Store(key)
}

// SetLocalizedStore writes <mgr id>/<key>.
func (h *Handle) SetLocalizedStore(ctx context.Context, key, val string) error {
	return h.SetStore(ctx, h.MgrID()+"/"+key, val)
}

// ---- cluster state ----

// Get returns cluster data by name ("osd_map", "mon_map", "fs_map",
// "mgr_map", "health", "df", "pg_summary", "osd_metadata", "config", ...),
// nil for names that do not exist. Values have the shapes Python's
// get(name) returns, in every mode, so ported code reads them the same way:
// decoded JSON (maps, slices, float64 numbers), and "health" and
// "mon_status" as {"json": "<the monitors' JSON text>"}, which the caller
// decodes.
func (h *Handle) Get(ctx context.Context, name string) (any, error) {
	return h.rt.Get(ctx, name)
}

// HaveMonConnection reports whether the monitors currently answer.
func (h *Handle) HaveMonConnection() bool { return h.rt.HaveMonConnection() }

// GetMetadata returns a daemon's metadata (nil if unknown).
func (h *Handle) GetMetadata(ctx context.Context, svcType, svcID string) (map[string]any, error) {
	return h.rt.DaemonInfo(ctx, "metadata", svcType, svcID)
}

// GetDaemonStatus returns a daemon's status (nil if unknown).
func (h *Handle) GetDaemonStatus(ctx context.Context, svcType, svcID string) (map[string]any, error) {
	return h.rt.DaemonInfo(ctx, "status", svcType, svcID)
}

// GetPerfSchema returns a daemon's performance counter schema in Python's
// shape: {"osd.0": {"osd.op_r": {"description", "nick", "type",
// "priority", "units"}}}, keyed by daemon name and then by counter path
// (section.counter), the counters the daemon reports to the mgr (priority
// mgr_stats_threshold and above); {} for a daemon that does not exist.
// svcType "" selects every daemon, svcID "" every daemon of svcType.
func (h *Handle) GetPerfSchema(ctx context.Context, svcType, svcID string) (map[string]any, error) {
	return h.rt.DaemonInfo(ctx, "perf_schema", svcType, svcID)
}

// GetCounter returns the stored series of a daemon's counter at path
// ("osd.op_r"), as Python's get_counter: {path: [[timestamp, value], ...]},
// oldest first, or [[timestamp, sum, count], ...] for a long-running
// average (PerfCounterLongRunAvg); {path: []} when the daemon or the
// counter is unknown. Inside a real mgr it is that mgr's series; else
// gomgr samples the counters every mgr_stats_period into a history of
// the same length (PerfHistoryLen samples): this daemon's own and,
// attached, those of the OSDs, monitors and MDSs (other daemons, such as
// the other mgrs, are an -EOPNOTSUPP error). Timestamps are float64 seconds, values int64
// (uint64 above its range), time counters in nanoseconds.
func (h *Handle) GetCounter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	return h.rt.Counter(ctx, svcType, svcID, path)
}

// ListServers returns the hosts and the daemons on them.
func (h *Handle) ListServers(ctx context.Context) ([]map[string]any, error) {
	return h.rt.ListServers(ctx)
}

// GetDaemonHealthMetrics returns the health metrics the cluster's daemons
// report to the mgr (Python's get_daemon_health_metrics), by daemon name:
// {"osd.0": [{"type": "SLOW_OPS", "value": 0}, ...]}. Only a backend
// inside a real ceph-mgr (bridged) has them: the daemons report them to
// the active ceph-mgr alone; elsewhere the answer is empty.
func (h *Handle) GetDaemonHealthMetrics(ctx context.Context) (map[string]any, error) {
	return h.rt.DaemonHealthMetrics(ctx)
}

// GetServer returns one host as list_servers lists it; for a host with no
// daemon, {"hostname": hostname, "services": [], "ceph_version": ""}, as the
// real mgr answers.
func (h *Handle) GetServer(ctx context.Context, hostname string) (map[string]any, error) {
	servers, err := h.rt.ListServers(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if s["hostname"] == hostname {
			return s, nil
		}
	}
	// As the real mgr answers for a host it has no daemon of.
	return map[string]any{"hostname": hostname, "services": []any{}, "ceph_version": ""}, nil
}

// SetHealthChecks replaces the module's health checks; an empty map
// clears them. Invalid checks are skipped and logged, as the mgr does.
func (h *Handle) SetHealthChecks(checks map[string]HealthCheck) {
	clean := map[string]HealthCheck{}
	for _, code := range slices.Sorted(maps.Keys(checks)) {
		c := checks[code]
		if err := c.Validate(); err != nil {
			h.rt.Log().Warn("ignoring invalid health check", "code", code, "err", err)
			continue
		}
		clean[code] = c
	}
	h.rt.SetHealthChecks(clean)
}

// HealthChecks returns the module's current health checks.
func (h *Handle) HealthChecks() map[string]HealthCheck {
	return h.rt.HealthChecks()
}

// Target names a daemon that receives a command, as `ceph tell
// <type>.<id>` does.
type Target struct {
	// Type is "mon", "osd", "mgr", "mds" or "pg". Inside a real ceph-mgr
	// (bridged) there is no "mgr" target, as for a Python module
	// (-EOPNOTSUPP).
	Type string
	// ID is the monitor's name ("" for any monitor), the OSD number, the
	// MDS's name, rank or GID, or the pgid ("" for the active mgr).
	ID string
}

// CommandResult is the pending result of SendCommand.
type CommandResult struct {
	Tag  string
	done chan struct{}
	res  objectformat.Result
}

// Wait blocks until the command completes or ctx ends.
func (c *CommandResult) Wait(ctx context.Context) (objectformat.Result, error) {
	select {
	case <-c.done:
		return c.res, nil
	case <-ctx.Done():
		return objectformat.Result{}, ctx.Err()
	}
}

// Done is closed when the result is ready.
func (c *CommandResult) Done() <-chan struct{} { return c.done }

// SendCommand sends a command to a daemon without waiting. When it
// completes the result is stored and, if the module asked for "command"
// notifications, Notify is called with the tag.
func (h *Handle) SendCommand(ctx context.Context, target Target, cmd map[string]any, inbuf []byte, tag string) *CommandResult {
	cr := &CommandResult{Tag: tag, done: make(chan struct{})}
	go func() {
		cr.res = h.command(ctx, target, cmd, inbuf)
		close(cr.done)
		h.rt.Notify(Notification{Type: NotifyCommand, ID: tag})
	}()
	return cr
}

// MonCommand sends a command to the monitors and waits for the result.
//
// The daemon's rules apply to it as to its own commands, also when the
// monitors are real: config-key writes of keys that are not valid UTF-8
// are refused (-EINVAL) and those of the daemon's own keys (under
// mgr/.gomgr/) too (-EPERM), those keys read as absent, and `config
// set|rm` of an option of a module compiled into this daemon is done as
// the daemon's `config set|rm` does it (checked against the option's
// type, enum and bounds, -EINVAL with the monitor's texts; "force" is not
// honoured).
func (h *Handle) MonCommand(ctx context.Context, cmd map[string]any, inbuf []byte) objectformat.Result {
	return h.command(ctx, Target{Type: "mon"}, cmd, inbuf)
}

// MonCommandError is CheckMonCommand's error: the command failed on the
// monitors. It carries their errno (ErrorCode, so objectformat.ErrnoOf and
// a command's Result keep it) and status text.
type MonCommandError struct {
	Prefix string
	Result objectformat.Result
}

// Error is Python's MonCommandFailed text: "<prefix> failed: <status>
// retval: <errno>".
func (e *MonCommandError) Error() string {
	return fmt.Sprintf("%s failed: %s retval: %d", e.Prefix, e.Result.Stderr, e.Result.Retval)
}

// ErrorCode is the monitors' negative errno.
func (e *MonCommandError) ErrorCode() int { return e.Result.Retval }

// CheckMonCommand is MonCommand that fails on a non-zero return code
// (Python's check_mon_command): the error is a *MonCommandError.
func (h *Handle) CheckMonCommand(ctx context.Context, cmd map[string]any, inbuf []byte) (objectformat.Result, error) {
	res := h.MonCommand(ctx, cmd, inbuf)
	if res.Retval != 0 {
		prefix, _ := cmd["prefix"].(string)
		return res, &MonCommandError{Prefix: prefix, Result: res}
	}
	return res, nil
}

// command runs a command for the module: monitor commands through the
// daemon's rules (see MonCommand), then the backend.
func (h *Handle) command(ctx context.Context, target Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	return h.rt.Command(ctx, target, cmd, inbuf)
}

// Remote calls a method another enabled module exports, with arguments and
// result passed through JSON. Errors are *RemoteError.
func (h *Handle) Remote(ctx context.Context, module, method string, args, result any) error {
	fn, err := h.rt.Remote(module, method)
	if err != nil {
		return &RemoteError{Module: module, Method: method, Err: err}
	}
	if err := callRemote(ctx, fn, args, result); err != nil {
		return &RemoteError{Module: module, Method: method, Err: err}
	}
	return nil
}

// SetURI publishes the module's service address ("mgr services" and
// standbys' ActiveURI).
func (h *Handle) SetURI(uri string) { h.rt.SetURI(uri) }

// ClusterLog writes to the cluster log channel: bridged, the real mgr's
// cluster log; attached, the cluster log through the monitors' `log`
// command (filed on the cluster channel at INF, so another channel or
// level leads the text: "[audit WRN] ..."; queued, and dropped with a
// warning if the monitors fall far behind); embedded, the daemon log.
func (h *Handle) ClusterLog(channel string, prio slog.Level, msg string) {
	h.rt.ClusterLog(channel, prio, msg)
}

// StandbyHandle is the restricted handle of a standby module.
type StandbyHandle struct {
	h *Handle
}

// Name is the module's name.
func (s *StandbyHandle) Name() string { return s.h.Name() }

// Go is Handle.Go for a standby module.
func (s *StandbyHandle) Go(fn func(ctx context.Context) error) bool { return s.h.Go(fn) }

// MgrID is the standby daemon's id.
func (s *StandbyHandle) MgrID() string { return s.h.MgrID() }

// Log is the module's logger.
func (s *StandbyHandle) Log() *slog.Logger { return s.h.Log() }

// Option reads a declared option.
func (s *StandbyHandle) Option(key string) (any, error) { return s.h.Option(key) }

// LocalizedOption reads a localized option.
func (s *StandbyHandle) LocalizedOption(key string) (any, error) { return s.h.LocalizedOption(key) }

// Store reads the KV store.
func (s *StandbyHandle) Store(key string) (string, bool) { return s.h.Store(key) }

// ActiveURI returns the URI the active daemon's instance of this module
// published with SetURI ("" if none).
func (s *StandbyHandle) ActiveURI() string {
	return s.h.rt.ActiveURI()
}

// LevelCritical is Python's CRITICAL, above slog.LevelError: a level for
// Log().Log(ctx, module.LevelCritical, ...) and the log_level option's
// "critical".
const LevelCritical = slog.Level(12)
