// Package selftest is the Go port of Ceph's "selftest" mgr module: it
// exercises the module API from inside a running daemon, injects failures
// to test the runtime's isolation, and hosts a sandboxed Starlark REPL.
//
// # Commands
//
//	mgr self-test run                          run every check of the module API against this daemon
//	mgr self-test config get <key>             print an option as Python's str() would ("None", "True", ...)
//	mgr self-test config get_localized <key>   the same, through the localized lookup
//	mgr self-test remote                       exercise inter-module calls
//	mgr self-test module <module>              call <module>'s exported "self_test" method
//	mgr self-test health set <checks>          raise health checks described by a JSON object
//	mgr self-test health clear [<checks>...]   clear the named checks, or all of them
//	mgr self-test background start <workload>  command_spam | throw_exception | shutdown
//	mgr self-test background stop              stop the background workload
//	mgr self-test command throw                a handler that always panics
//	mgr self-test cluster-log <channel> <priority> <message>
//	mgr self-test inbuf -i <file>              echo the file, which must not be empty
//	mgr self-test eval [<s>] [--complete <prefix>]
//
// "run" checks options (declared, undeclared, defaults, every option type,
// set/unset, min/max/enum validation, localized options and their
// two-level fallback), the KV store, cluster data, daemon metadata and
// counters, health checks, commands to daemons with their completion
// notifications (also to one named monitor or MDS), check_mon_command's
// error, an input file that must not be empty, remote calls, logging
// (with log_to_cluster read back from `log last` where the monitors allow
// it), the OSD map and Ceph options. It collects every failed check
// and reports them all with -EINVAL; on success it prints nothing on stdout
// and "Self-test succeeded" on stderr, like the Python module. It puts back
// every option, KV entry, health check and URI it changed, so it can run
// again. An option that was explicitly set to its default value is left
// unset afterwards (same effective value).
//
// The options notify_throw, config_notify_throw and shutdown_throw make
// Notify, ConfigNotify and Shutdown fail; "background start
// throw_exception" makes Serve panic. They exist to show that the runtime
// keeps the daemon and the other modules serving: a panicking Serve marks
// the module failed (MGR_MODULE_ERROR) until it is disabled. On a standby
// daemon the module's standby variant logs the active daemon's URI and,
// with standby_shutdown_hang set, does not return from Shutdown until the
// runtime's deadline.
//
// # eval: a Starlark REPL into the module
//
// "mgr self-test eval" runs Starlark (https://github.com/google/starlark-go),
// the Python dialect, with one predeclared global, mgr, exposing the module
// API (print(dir(mgr)) lists it). The source is the s argument or, if s is
// empty, the input file (-i), which is where Ceph's ceph_mgr_repl.py sends
// it; neither gives -EINVAL "source is not specified". Globals persist
// between calls for the life of the module instance's eval session, so a
// function defined in one call can be called in the next; a session ends
// when the module stops or a limit resets it (below).
//
// mgr has the attributes version, release_name and module_name and these
// methods, named and behaving like Python's MgrModule (errors of the module
// API stop the run, with their errno in the message):
//
//	get_mgr_id()
//	get_module_option(key, default=None)       set_module_option(key, value)   (None unsets)
//	get_localized_module_option(key, default=None)
//	set_localized_module_option(key, value)
//	get_module_option_ex(module, key, default=None)
//	set_module_option_ex(module, key, value)
//	get_store(key, default=None)               set_store(key, value)           (None deletes)
//	get_localized_store(key, default=None)     set_localized_store(key, value)
//	get_store_prefix(prefix)                   get(data_name)
//	get_metadata(svc_type, svc_id, default=None)
//	get_daemon_status(svc_type, svc_id)        get_perf_schema(svc_type, svc_id)
//	get_counter(svc_type, svc_id, path)        list_servers()    get_server(hostname)
//	have_mon_connection()
//	set_health_checks(checks)                  get_health_checks()
//	mon_command(cmd_dict, inbuf="")            → (retval, stdout, stderr)
//	tell_command(svc_type, svc_id, cmd_dict, inbuf="") → (retval, stdout, stderr)
//	remote(module, method, *args, **kwargs)    (no argument: null; one: as is;
//	                                            several: a list; keywords: a dict)
//	log(msg, level="info")                     cluster_log(channel, priority, message)
//
// Cluster data and results are converted from JSON to dicts, lists,
// strings, ints, floats, bools and None.
//
// The reply follows Ceph's eval, so REPL clients written for it work:
//
//   - incomplete input ("def f():", "if x:", "x = (") returns retval 2 with
//     empty stdout and stderr: the client should read continuation lines
//     and send the whole accumulated source again. Like Python's
//     interactive mode, a def/if/for/while block is complete only when a
//     blank line follows it (the source ends with "\n").
//   - complete input runs and returns retval 0: print() output and the repr
//     of each top-level expression statement whose value is not None (plus
//     "\n"; the last one is bound to _) go to stdout; a runtime error stops the run and its Starlark
//     backtrace goes to stderr; a syntax error goes to stderr. Several
//     statements may be sent at once (Python's single mode refuses that).
//
// The command is pkg/evalcmd's (the mixin any module can add). The
// sandbox (pkg/evalsandbox): the session runs in a worker process of
// its own, the daemon's executable started again in worker mode; mgr's
// methods run in the daemon, the worker holds a proxy whose calls are
// forwarded to them. load() is not available, Starlark has no file,
// network or clock access and none is added: the worker's only channel is
// its socket to the daemon, which offers mgr's methods and nothing else.
// The limits:
//
//   - a run stops after 10,000,000 execution steps ("too many steps");
//   - eval_timeout (option, seconds, default 5) bounds a run's wall-clock
//     time: the interpreter is told to stop, which keeps the session
//     (stderr "... timeout: eval ran longer than eval_timeout (5s)",
//     retval 0); a run stuck inside one builtin (str() of a huge value) is
//     killed 0.3 s later: -ETIMEDOUT "timeout: eval ran longer than
//     eval_timeout (5s); the session was reset";
//   - eval_max_memory (option, size, default 256 MiB) bounds the session's
//     memory (the worker's beyond its start-up size, by RLIMIT_DATA): past
//     it the worker dies and the call returns -ENOMEM "eval session
//     exceeded its memory limit (256 MiB); the session was reset";
//   - captured output is capped at 1 MiB (the run is stopped when the cap
//     is reached), the source at 4 MiB (-E2BIG);
//   - recursion is refused, as in standard Starlark.
//
// After a reset the next eval starts a fresh session. One eval runs at a
// time: another waits for it, at most eval_timeout + 1 s, then gets
// -EBUSY. Cancelling the command stops the run the same way as the time
// limit (-ECANCELED if the worker had to be killed). Disabling the module
// stops a running eval at once (-ECANCELED) and ends the worker. eval
// needs "w" permission.
//
// # Completion protocol
//
// "mgr self-test eval --complete <text>" does not run anything: it
// completes the last word of text (its trailing run of letters, digits,
// '_' and '.') and returns (0, candidates, "") with one candidate per line,
// sorted, each candidate being the whole replacement word. A word without
// a dot completes against the session's global names, Starlark's builtins
// and keywords; "a.b.pre" completes the attributes of the value a.b
// (looked up, never evaluated) that start with "pre", so "mgr.get_s"
// gives mgr.get_server, mgr.get_store and mgr.get_store_prefix. An empty
// text lists every global, builtin and keyword; no candidate gives empty
// stdout. Completion takes the same lock as a run, so it sees the globals
// a finished run left; without a session (before the first eval, after a
// reset) it completes against a fresh session's names and starts none.
package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/evalcmd"
	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Name is the module's name.
const Name = "selftest"

// Config is the module's options: those of Pacific's selftest, the
// failure injection switches of the newest one, eval_timeout and
// eval_max_memory, and one option per remaining option type for "run" to
// exercise (which reads them through the dynamic API it tests; the module
// itself reads its own switches and limits with options.Get).
type Config struct {
	TestKey     string        `option:"testkey" runtime:"true" desc:"a test key (used by Ceph's QA)"`
	TestLKey    string        `option:"testlkey" runtime:"true" desc:"a test key read localized (used by Ceph's QA)"`
	TestNewline string        `option:"testnewline" runtime:"true" desc:"a test key whose value may hold a newline"`
	ROption1    string        `option:"roption1" runtime:"true" desc:"read-only test option without default"`
	ROption2    string        `option:"roption2" default:"xyz" runtime:"true" desc:"read-only test option with default"`
	RWOption1   string        `option:"rwoption1" runtime:"true" desc:"untyped test option"`
	RWOption2   int64         `option:"rwoption2" runtime:"true" desc:"int test option"`
	RWOption3   float64       `option:"rwoption3" runtime:"true" desc:"float test option"`
	RWOption4   string        `option:"rwoption4" runtime:"true" desc:"str test option"`
	RWOption5   bool          `option:"rwoption5" runtime:"true" desc:"bool test option"`
	RWOption6   bool          `option:"rwoption6" default:"true" runtime:"true" desc:"bool test option, default true"`
	RWOption7   int64         `option:"rwoption7" min:"1" max:"42" runtime:"true" desc:"int test option between 1 and 42"`
	RWUint      uint64        `option:"rwoption_uint" runtime:"true" desc:"uint test option"`
	RWTimespan  time.Duration `option:"rwoption_secs" runtime:"true" desc:"secs test option"`
	RWSize      int64         `option:"rwoption_size" type:"size" runtime:"true" desc:"size test option"`
	RWAddr      string        `option:"rwoption_addr" type:"addr" runtime:"true" desc:"addr test option"`
	RWUUID      string        `option:"rwoption_uuid" type:"uuid" runtime:"true" desc:"uuid test option"`
	RWEnum      string        `option:"rwoption_enum" default:"alpha" enum:"alpha|beta|gamma" runtime:"true" desc:"enum test option"`

	NotifyThrow         bool `option:"notify_throw" default:"false" runtime:"true" desc:"make notify() panic"`
	ConfigNotifyThrow   bool `option:"config_notify_throw" default:"false" runtime:"true" desc:"make config_notify() panic"`
	ShutdownThrow       bool `option:"shutdown_throw" default:"false" runtime:"true" desc:"make shutdown() fail"`
	StandbyShutdownHang bool `option:"standby_shutdown_hang" default:"false" runtime:"true" desc:"make the standby module's shutdown() hang until the runtime's deadline"`

	EvalTimeout   time.Duration `option:"eval_timeout" default:"5" min:"0.001" max:"3600" runtime:"true" desc:"wall-clock limit of one 'mgr self-test eval' run, in seconds"`
	EvalMaxMemory int64         `option:"eval_max_memory" type:"size" default:"256M" min:"8M" max:"64G" runtime:"true" desc:"memory limit of the 'mgr self-test eval' session (its worker process beyond its start-up size)"`
}

var options = module.NewOptions[Config]()

func init() {
	module.Register(module.Info{
		Name:    Name,
		Desc:    "Exercise the module API from inside the daemon; a Starlark REPL",
		New:     func() module.Module { return newModule() },
		Options: options.Declare(),
		NotifyTypes: []module.NotifyType{
			module.NotifyMonMap, module.NotifyPGSummary, module.NotifyHealth, module.NotifyClog,
			module.NotifyOSDMap, module.NotifyFSMap, module.NotifyCommand, module.NotifyMgrMap,
		},
		Standby: func() module.StandbyModule { return &Standby{} },
	})
}

// Workload is a background workload of the serve loop.
type Workload string

// The workloads.
const (
	WorkloadCommandSpam    Workload = "command_spam"
	WorkloadThrowException Workload = "throw_exception"
	WorkloadShutdown       Workload = "shutdown"
)

// Choices makes Workload a CephChoices argument.
func (Workload) Choices() []string {
	return []string{string(WorkloadCommandSpam), string(WorkloadThrowException), string(WorkloadShutdown)}
}

// LogPriority is a cluster log priority.
type LogPriority string

// Choices makes LogPriority a CephChoices argument.
func (LogPriority) Choices() []string { return []string{"info", "security", "warning", "error"} }

// Module is the selftest module.
type Module struct {
	h *module.Handle

	mu       sync.Mutex
	workload Workload
	wake     chan struct{} // signalled when workload changes
	health   map[string]module.HealthCheck

	spamSent atomic.Int64 // commands sent by command_spam
	notes    notifications

	runMu sync.Mutex // one "run" at a time

	ev *evalcmd.Eval // "mgr self-test eval"; its session is made by Init
	// adjustLimits, if set, adjusts the limits of this instance's eval
	// requests (its tests set it).
	adjustLimits atomic.Pointer[func(*evalsandbox.Limits)]
}

func newModule() *Module {
	m := &Module{wake: make(chan struct{}, 1), health: map[string]module.HealthCheck{}}
	m.ev = newEval(m)
	m.notes.waiters = map[string]chan struct{}{}
	m.notes.counts = map[module.NotifyType]int{}
	return m
}

// Init keeps the handle and makes the eval session (its worker starts
// with the first eval).
func (m *Module) Init(h *module.Handle) error {
	m.h = h
	return m.ev.Init(h)
}

type runArgs struct {
	clicommand.Meta `prefix:"mgr self-test run" desc:"Run mgr module interface tests"`
}

type backgroundStartArgs struct {
	clicommand.Meta `prefix:"mgr self-test background start" desc:"Activate a background workload (one of command_spam, throw_exception, shutdown)"`
	Workload        Workload
}

type backgroundStopArgs struct {
	clicommand.Meta `prefix:"mgr self-test background stop" desc:"Stop background workload if any is running"`
}

type configGetArgs struct {
	clicommand.Meta `prefix:"mgr self-test config get" desc:"Peek at a configuration value"`
	Key             string
}

type configGetLocalizedArgs struct {
	clicommand.Meta `prefix:"mgr self-test config get_localized" desc:"Peek at a configuration value (localized variant)"`
	Key             string
}

type remoteArgs struct {
	clicommand.Meta `prefix:"mgr self-test remote" desc:"Test inter-module calls"`
}

type moduleArgs struct {
	clicommand.Meta `prefix:"mgr self-test module" desc:"Run another module's self_test() method"`
	Module          string
}

type healthSetArgs struct {
	clicommand.Meta `prefix:"mgr self-test health set" desc:"Set a health check from a JSON-formatted description."`
	Checks          string
}

type healthClearArgs struct {
	clicommand.Meta `prefix:"mgr self-test health clear" desc:"Clear health checks by name. If no names provided, clear all."`
	Checks          []string `ceph:"req=false"`
}

type commandThrowArgs struct {
	clicommand.Meta `prefix:"mgr self-test command throw" desc:"Raise an exception in a command handler"`
}

type inbufArgs struct {
	clicommand.Meta `prefix:"mgr self-test inbuf" desc:"Echo the input file (-i), which must not be empty" perm:"r"`
	Inbuf           string `nonempty:"the text to echo"`
}

type clusterLogArgs struct {
	clicommand.Meta `prefix:"mgr self-test cluster-log" desc:"Create an audit log record."`
	Channel         string
	Priority        LogPriority
	Message         string
}

// Commands lists the module's commands.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(m.run),
		clicommand.Func(m.backgroundStart),
		clicommand.Func(m.backgroundStop),
		clicommand.ErrorResponseHandler(m.configGet),
		clicommand.ErrorResponseHandler(m.configGetLocalized),
		clicommand.Func(m.remote),
		clicommand.Func(m.moduleSelfTest),
		clicommand.Func(m.healthSet),
		clicommand.Func(m.healthClear),
		clicommand.Func(m.commandThrow),
		clicommand.Func(m.clusterLog),
		clicommand.Func(m.inbuf),
		m.ev.Command(),
	}
}

// inbuf echoes its input file: the nonempty Inbuf of run's checks.
func (m *Module) inbuf(_ context.Context, a *inbufArgs) objectformat.Result {
	return objectformat.Result{Stdout: []byte(a.Inbuf)}
}

func (m *Module) backgroundStart(_ context.Context, a *backgroundStartArgs) objectformat.Result {
	m.setWorkload(a.Workload)
	return objectformat.Result{Stderr: fmt.Sprintf("Running `%s` in background", a.Workload)}
}

func (m *Module) backgroundStop(context.Context, *backgroundStopArgs) objectformat.Result {
	was := m.setWorkload("")
	if was == "" {
		return objectformat.Result{Stderr: "No background workload was running"}
	}
	return objectformat.Result{Stderr: fmt.Sprintf("Stopping background workload `%s`", was)}
}

// setWorkload changes the workload, wakes the serve loop and returns the
// previous one.
func (m *Module) setWorkload(w Workload) Workload {
	m.mu.Lock()
	was := m.workload
	m.workload = w
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return was
}

func (m *Module) currentWorkload() Workload {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.workload
}

func (m *Module) configGet(_ context.Context, a *configGetArgs) (objectformat.Result, error) {
	v, err := m.h.Option(a.Key)
	if err != nil {
		return objectformat.Result{}, err
	}
	return objectformat.OK(pyStr(v)), nil
}

func (m *Module) configGetLocalized(_ context.Context, a *configGetLocalizedArgs) (objectformat.Result, error) {
	v, err := m.h.LocalizedOption(a.Key)
	if err != nil {
		return objectformat.Result{}, err
	}
	return objectformat.OK(pyStr(v)), nil
}

func (m *Module) remote(ctx context.Context, _ *remoteArgs) objectformat.Result {
	r := newRunner(ctx, m)
	r.run("remote", r.testRemote)
	return r.finish("Successfully called")
}

func (m *Module) moduleSelfTest(ctx context.Context, a *moduleArgs) objectformat.Result {
	var raw json.RawMessage
	err := m.h.Remote(ctx, a.Module, "self_test", nil, &raw)
	if err != nil {
		switch {
		case errors.Is(err, module.ErrModuleNotFound):
			return objectformat.Failed(-int(syscall.ENOENT), fmt.Sprintf(
				"Module '%s' is not enabled or does not exist (enable it with `ceph mgr module enable %s`)", a.Module, a.Module))
		case errors.Is(err, module.ErrMethodNotFound):
			return objectformat.Failed(-int(syscall.ENOSYS), fmt.Sprintf("Test failed: module '%s' exports no self_test method", a.Module))
		}
		msg := err.Error()
		var re *module.RemoteError
		if errors.As(err, &re) {
			msg = re.Err.Error()
		}
		return objectformat.Failed(objectformat.ErrnoOf(err), "Test failed: "+msg)
	}
	v, err := decodeJSONNumbers(raw)
	if err != nil {
		return objectformat.Failed(-int(syscall.EINVAL), fmt.Sprintf("Test failed: decode the result of %s.self_test: %v", a.Module, err))
	}
	return objectformat.Result{Stdout: []byte(pyStr(v)), Stderr: "Self-test OK"}
}

// parseChecks decodes health checks given as JSON: {"CODE": {"severity":
// "warning"|"error", "summary": "...", "count": N, "detail": ["..."]}}.
// count defaults to 1 and detail to none.
func parseChecks(text string) (map[string]module.HealthCheck, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, objectformat.NewErrorResponseCode("Failed to decode JSON input: "+err.Error(), -int(syscall.EINVAL))
	}
	if raw == nil {
		return nil, objectformat.NewErrorResponseCode("Invalid health check format: want a JSON object mapping check names to checks", -int(syscall.EINVAL))
	}
	out := map[string]module.HealthCheck{}
	for code, body := range raw {
		var c struct {
			Severity *string  `json:"severity"`
			Summary  *string  `json:"summary"`
			Count    *int     `json:"count"`
			Detail   []string `json:"detail"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		err := dec.Decode(&c)
		switch {
		case code == "":
			err = errors.New("empty check name")
		case err != nil:
		case c.Severity == nil:
			err = errors.New("missing severity")
		case c.Summary == nil:
			err = errors.New("missing summary")
		}
		if err != nil {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("Invalid health check format: check '%s': %v", code, err), -int(syscall.EINVAL))
		}
		hc := module.HealthCheck{Severity: *c.Severity, Summary: *c.Summary, Count: 1, Detail: c.Detail}
		if c.Count != nil {
			hc.Count = *c.Count
		}
		if hc.Detail == nil {
			hc.Detail = []string{}
		}
		if err := hc.Validate(); err != nil {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("Invalid health check format: check '%s': %v", code, err), -int(syscall.EINVAL))
		}
		out[code] = hc
	}
	return out, nil
}

func (m *Module) healthSet(_ context.Context, a *healthSetArgs) objectformat.Result {
	checks, err := parseChecks(a.Checks)
	if err != nil {
		return objectformat.ResultOf(err)
	}
	m.mu.Lock()
	for code, c := range checks {
		m.health[code] = c
	}
	all := cloneChecks(m.health)
	m.mu.Unlock()
	m.h.SetHealthChecks(all)
	return objectformat.Result{}
}

func (m *Module) healthClear(_ context.Context, a *healthClearArgs) objectformat.Result {
	m.mu.Lock()
	if len(a.Checks) == 0 {
		m.health = map[string]module.HealthCheck{}
	}
	for _, c := range a.Checks {
		delete(m.health, c)
	}
	all := cloneChecks(m.health)
	m.mu.Unlock()
	m.h.SetHealthChecks(all)
	return objectformat.Result{}
}

func cloneChecks(in map[string]module.HealthCheck) map[string]module.HealthCheck {
	out := make(map[string]module.HealthCheck, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (m *Module) commandThrow(context.Context, *commandThrowArgs) objectformat.Result {
	panic("Synthetic exception in command handler")
}

var clogLevels = map[LogPriority]slog.Level{
	"info": slog.LevelInfo, "security": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError,
}

func (m *Module) clusterLog(_ context.Context, a *clusterLogArgs) objectformat.Result {
	m.h.ClusterLog(a.Channel, clogLevels[a.Priority], a.Message)
	return objectformat.Result{Stderr: "Successfully called"}
}

// ---- notifications ----

// notifications records what Notify received, for run's checks.
type notifications struct {
	mu      sync.Mutex
	counts  map[module.NotifyType]int
	waiters map[string]chan struct{} // command tag → closed on arrival
}

// expectCommand returns a channel closed when the "command" notification
// with this tag arrives.
func (n *notifications) expectCommand(tag string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan struct{})
	n.waiters[tag] = ch
	return ch
}

func (n *notifications) forget(tag string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.waiters, tag)
}

func (n *notifications) count(t module.NotifyType) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.counts[t]
}

// Notify records the notification; with notify_throw set it then panics.
func (m *Module) Notify(_ context.Context, n module.Notification) {
	m.notes.mu.Lock()
	m.notes.counts[n.Type]++
	if ch, ok := m.notes.waiters[n.ID]; ok && n.Type == module.NotifyCommand {
		close(ch)
		delete(m.notes.waiters, n.ID)
	}
	m.notes.mu.Unlock()
	if options.Get(m.h).NotifyThrow {
		panic(fmt.Sprintf("Synthetic exception in notify (%s %s)", n.Type, n.ID))
	}
}

// ConfigNotify panics when config_notify_throw is set.
func (m *Module) ConfigNotify(context.Context) {
	if options.Get(m.h).ConfigNotifyThrow {
		panic("Synthetic exception in config_notify")
	}
	m.h.Log().Debug("configuration changed")
}

// ---- serve ----

// Serve waits for workload requests and runs them.
func (m *Module) Serve(ctx context.Context) error {
	m.h.Log().Info("Waiting for workload request...")
	for {
		switch m.currentWorkload() {
		case WorkloadCommandSpam:
			m.commandSpam(ctx)
		case WorkloadShutdown:
			m.h.Log().Info("Shutting down...")
			return nil
		case WorkloadThrowException:
			panic("Synthetic exception in serve")
		default:
			select {
			case <-ctx.Done():
				return nil
			case <-m.wake:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// spamKey is the config-key command_spam reads.
const spamKey = "mgr/" + Name + "/command_spam"

// commandSpam sends config-key commands through SendCommand, one after the
// other, until the workload changes.
func (m *Module) commandSpam(ctx context.Context) {
	m.h.Log().Info("Starting command_spam workload...")
	pause := time.NewTimer(0)
	defer pause.Stop()
	for m.currentWorkload() == WorkloadCommandSpam && ctx.Err() == nil {
		cr := m.h.SendCommand(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "config-key exists", "key": spamKey}, nil, "command_spam")
		if _, err := cr.Wait(ctx); err != nil {
			break
		}
		m.spamSent.Add(1)
		pause.Reset(time.Millisecond)
		select {
		case <-ctx.Done():
		case <-m.wake:
		case <-pause.C:
		}
	}
	m.h.Log().Info("Ended command_spam workload...")
}

// Shutdown stops the eval session (a running eval ends at once) and the
// serve loop; with shutdown_throw set it fails.
func (m *Module) Shutdown(context.Context) error {
	m.ev.Close()
	m.setWorkload(WorkloadShutdown)
	if options.Get(m.h).ShutdownThrow {
		return errors.New("synthetic exception in shutdown")
	}
	return nil
}

// ---- exported methods ----

type failArgs struct {
	Errno   int    `json:"errno"`
	Message string `json:"message"`
}

// Exports are the methods other modules may call: self_test (used by
// "mgr self-test module selftest"), echo (returns its argument), fail
// (returns an error with the given errno) and panic.
func (m *Module) Exports() map[string]module.RemoteFunc {
	return map[string]module.RemoteFunc{
		"self_test": module.Export(func(context.Context, struct{}) (string, error) {
			for _, o := range options.Declare() {
				if _, err := m.h.Option(o.Name); err != nil {
					return "", fmt.Errorf("option %s: %w", o.Name, err)
				}
			}
			return "selftest is healthy", nil
		}),
		"echo": module.Export(func(_ context.Context, a any) (any, error) { return a, nil }),
		"fail": module.Export(func(_ context.Context, a failArgs) (any, error) {
			return nil, objectformat.NewErrorResponseCode(a.Message, -a.Errno)
		}),
		"panic": module.Export(func(context.Context, struct{}) (any, error) {
			panic("Synthetic exception in remote method")
		}),
	}
}

// ---- standby ----

// Standby is the module's standby variant: it logs the URI the active
// daemon's selftest published and can hang in Shutdown.
type Standby struct {
	h *module.StandbyHandle
}

// InitStandby keeps the handle.
func (s *Standby) InitStandby(h *module.StandbyHandle) error {
	s.h = h
	return nil
}

// standbyTick is how often the standby looks at the active URI.
var standbyTick = 2 * time.Second

// Serve logs the active daemon's URI when it changes.
func (s *Standby) Serve(ctx context.Context) error {
	last := s.h.ActiveURI()
	s.h.Log().Info("standby selftest running", "active_uri", last)
	t := time.NewTicker(standbyTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if uri := s.h.ActiveURI(); uri != last {
			last = uri
			s.h.Log().Info("active daemon's selftest URI changed", "active_uri", uri)
		}
	}
}

// Shutdown returns at once unless standby_shutdown_hang is set; then it
// hangs until the runtime's shutdown deadline.
func (s *Standby) Shutdown(ctx context.Context) error {
	if options.GetStandby(s.h).StandbyShutdownHang {
		s.h.Log().Warn("standby_shutdown_hang is set: hanging in shutdown until the deadline")
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
