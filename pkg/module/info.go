package module

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/modname"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Info describes a module to the registry.
type Info struct {
	// Name is the module name ("hello"); lower case letters, digits, '_'
	// and '-', starting with a letter.
	Name string
	// New returns a fresh, uninitialised module value. It must not do any
	// work: the daemon also calls it to learn the module's commands.
	New func() Module
	// Options are the module's declared options (MODULE_OPTIONS).
	Options []Option
	// AlwaysOn modules are enabled whenever the daemon runs and cannot be
	// disabled.
	AlwaysOn bool
	// CanRun reports whether the module can run here and, if not, why
	// (Python's can_run). nil means it always can.
	CanRun func() (bool, string)
	// NotifyTypes selects the notifications the module receives
	// (NOTIFY_TYPES); empty means none.
	NotifyTypes []NotifyType
	// Standby returns the module's standby variant, run on standby
	// daemons; nil means the module does not run on standbys.
	Standby func() StandbyModule
	// NativeOptions are the Ceph options the module reads with CephOption
	// and wants ConfigNotify for when one changes (Python's
	// NATIVE_OPTIONS); each must be an option of Ceph's.
	NativeOptions []string
	// Desc is a one-line description shown by "mgr module ls".
	Desc string
	// Mixins add features to the module, each in one line: an eval
	// command, say (pkg/evalcmd). See Mixin.
	Mixins []Mixin
}

// Mixin is a feature any module can add through Info.Mixins. Its options
// are declared with the module's own (a module may declare one of them
// itself, with its own bounds or text, and the module's declaration wins).
// Each instance of the module gets a part of its own from New, which may
// implement Module (its Init is called after the module's Init succeeds, with the
// module's Handle), Commander or LegacyCommander (its commands are the
// module's) and Shutdowner (called after the module's Shutdown). Parts do
// not run on standby daemons.
type Mixin interface {
	// Options are the mixin's options.
	Options() []Option
	// New returns a fresh part for one module instance; like Info.New it
	// must not do any work.
	New() any
}

// Module is a module value, what Info.New returns. Init receives the
// module's handle (Python's self) before anything else is called; an
// error fails the module. What else the module can do is the other hooks
// its value implements (Commander, Server, Shutdowner, Notifier...): the
// daemon finds them by interface, so declare each with a guard, such as
// `var _ module.Server = (*Module)(nil)`, to have a wrong signature fail
// to compile.
type Module interface {
	Init(h *Handle) error
}

// Commander is implemented by modules that have CLI commands.
type Commander interface {
	Commands() []*clicommand.Command
}

// LegacyCommand is an entry of a Python-style COMMANDS list.
type LegacyCommand struct {
	Cmd  string // "foobar name=myarg,type=CephString"
	Desc string
	Perm string // "r", "w", "rw"
	Poll bool
}

// LegacyCommander is implemented by modules that declare commands as Ceph
// cmd strings and handle them in one method (Python's handle_command).
type LegacyCommander interface {
	LegacyCommands() []LegacyCommand
	HandleCommand(ctx context.Context, inbuf []byte, cmd map[string]any) objectformat.Result
}

// Server is implemented by modules with a background loop (Python's
// serve). Serve should return when ctx is cancelled; a panic or an error
// other than ctx.Err() marks the module failed.
type Server interface {
	Serve(ctx context.Context) error
}

// Shutdowner is implemented by modules that need to act before their
// Serve context is cancelled (Python's shutdown). ctx carries the shutdown
// deadline.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Notifier receives cluster notifications of the types listed in
// Info.NotifyTypes. Calls for one module are serialised and never block
// other modules.
type Notifier interface {
	Notify(ctx context.Context, n Notification)
}

// ConfigNotifier is told after the module's configuration changed.
type ConfigNotifier interface {
	ConfigNotify(ctx context.Context)
}

// TypedConfigNotifier is ConfigNotifier for a module whose options are a
// struct declared with NewOptions[T]: it is handed the snapshot of its
// options taken after the change (TypedOptions.Get), so it has nothing to
// read and no error to handle. A module implements one of the two.
// Register refuses a ConfigNotify(ctx, T) whose T is not declared with
// NewOptions.
type TypedConfigNotifier[T any] interface {
	ConfigNotify(ctx context.Context, cfg T)
}

// Exporter is implemented by modules whose methods other modules may call
// through Handle.Remote.
type Exporter interface {
	Exports() map[string]RemoteFunc
}

// StandbyModule is the standby variant of a module; it may implement
// Server and Shutdowner.
type StandbyModule interface {
	InitStandby(h *StandbyHandle) error
}

// NotifyType names a kind of notification (Python's NotifyType).
type NotifyType string

// The notification types Ceph sends.
const (
	NotifyMonMap    NotifyType = "mon_map"
	NotifyPGSummary NotifyType = "pg_summary"
	NotifyHealth    NotifyType = "health"
	NotifyClog      NotifyType = "clog"
	NotifyOSDMap    NotifyType = "osd_map"
	NotifyFSMap     NotifyType = "fs_map"
	NotifyCommand   NotifyType = "command"
	NotifyMgrMap    NotifyType = "mgr_map"
)

// Notification is one notify call: its type and id (the tag given to
// SendCommand for "command"; the log entry is in Data for "clog").
type Notification struct {
	Type NotifyType
	ID   string
	Data any
}

// reservedPrefixes are the commands the daemon answers itself: its
// built-in commands (internal/daemon's builtins.commands and standbyCommands, which
// a test there holds to this list) and get_command_descriptions, which the
// admin socket answers before any command lookup. Sorted.
var reservedPrefixes = []string{
	"config dump", "config get", "config help", "config ls", "config rm", "config set",
	"config-key dump", "config-key exists", "config-key get", "config-key ls", "config-key rm", "config-key set",
	"get_command_descriptions", "health", "help",
	"mgr module disable", "mgr module enable", "mgr module ls", "mgr services", "mgr stat",
	"perf dump", "perf schema", "status", "version",
}

// ReservedPrefixes returns the command prefixes the daemon keeps for
// itself, sorted. Register refuses a module that declares one.
func ReservedPrefixes() []string { return slices.Clone(reservedPrefixes) }

// checkCommands instantiates a module once, as the manager does, and checks
// its commands: well-formed, and none of the daemon's own.
func checkCommands(info Info) error {
	mod := info.New()
	if mod == nil {
		return fmt.Errorf("module %s: New returned nil", info.Name)
	}
	cmds, err := commandsOf(info.Name, mod)
	if err != nil {
		return err
	}
	for _, mx := range info.Mixins {
		part := mx.New()
		if part == nil {
			return fmt.Errorf("module %s: mixin %T: New returned nil", info.Name, mx)
		}
		more, err := commandsOf(info.Name, part)
		if err != nil {
			return err
		}
		cmds = append(cmds, more...)
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		if _, found := slices.BinarySearch(reservedPrefixes, c.Prefix()); found {
			return fmt.Errorf("module %s: command %q is reserved: the daemon provides it itself (see module.ReservedPrefixes)", info.Name, c.Prefix())
		}
		if seen[c.Prefix()] {
			return fmt.Errorf("module %s: command %q is declared twice (by the module and a mixin, or by two mixins)", info.Name, c.Prefix())
		}
		seen[c.Prefix()] = true
	}
	return checkReceivers(info.Name, mod)
}

// hookTypes are the interfaces the daemon finds a module's hooks by.
var hookTypes = []reflect.Type{
	reflect.TypeFor[Commander](), reflect.TypeFor[LegacyCommander](), reflect.TypeFor[Server](),
	reflect.TypeFor[Shutdowner](), reflect.TypeFor[Notifier](), reflect.TypeFor[ConfigNotifier](),
	reflect.TypeFor[Exporter](),
}

// checkReceivers refuses a module value whose hook (or typed ConfigNotify)
// has a pointer receiver while New returns the value itself: the daemon
// would never call it.
func checkReceivers(name string, mod any) error {
	t := reflect.TypeOf(mod)
	if t.Kind() == reflect.Pointer {
		return nil
	}
	pt := reflect.PointerTo(t)
	for _, h := range hookTypes {
		if pt.Implements(h) && !t.Implements(h) {
			return fmt.Errorf("module %s: New returns a %s, but its %s methods have pointer receivers, so the daemon would never call them: return a *%s",
				name, t, h.Name(), t)
		}
	}
	if _, ok := pt.MethodByName("ConfigNotify"); ok {
		if _, ok := t.MethodByName("ConfigNotify"); !ok {
			return fmt.Errorf("module %s: New returns a %s, but its ConfigNotify has a pointer receiver, so the daemon would never call it: return a *%s", name, t, t)
		}
	}
	return nil
}

// ValidName reports whether s is a valid module name: a lower-case letter,
// then up to 63 lower-case letters, digits, '_' or '-'.
func ValidName(s string) bool { return modname.Valid(s) }

// registry holds the modules registered with Register.
var registry struct {
	mu    sync.Mutex
	infos []Info
	names map[string]bool
}

// Register adds a module to the program's modules and panics on error;
// call it from init, so a mistake in a module's Info stops the binary at
// start-up with a message naming the module, the way database/sql.Register
// does. It checks the name and the constructor; the declared options (a
// Default must parse, be one of EnumAllowed when that is set, and lie
// within Min and Max); and the commands, which it learns by calling New
// once: each must be well-formed and none may be one of the daemon's own
// (ReservedPrefixes). It refuses a second module of the same name.
func Register(info Info) {
	if err := checkInfo(info); err != nil {
		panic(err)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.names[info.Name] {
		panic(fmt.Errorf("module %s: registered twice (is the package imported twice, or two modules share a name?)", info.Name))
	}
	if registry.names == nil {
		registry.names = map[string]bool{}
	}
	registry.names[info.Name] = true
	registry.infos = append(registry.infos, info)
}

// registered lists the Infos given to Register.
func registered() []any {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := make([]any, len(registry.infos))
	for i, info := range registry.infos {
		out[i] = info
	}
	return out
}

// checkInfo is Register's check of info.
func checkInfo(info Info) error {
	if !ValidName(info.Name) {
		return fmt.Errorf("module: invalid module name %q (want lower case letters, digits, '_' or '-', starting with a letter)", info.Name)
	}
	if info.New == nil {
		return fmt.Errorf("module %s: Info.New is nil", info.Name)
	}
	if err := checkMixinOptions(info); err != nil {
		return err
	}
	for _, name := range info.NativeOptions {
		if _, ok := cephopts.Lookup(name); !ok {
			return fmt.Errorf("module %s: NativeOptions: %q is not a Ceph option", info.Name, name)
		}
	}
	if _, err := compileOptions(info.Name, declaredOptions(info)); err != nil {
		return err
	}
	if err := checkCommands(info); err != nil {
		return err
	}
	if _, err := typedConfigNotify(info.New()); err != nil {
		return fmt.Errorf("module %s: %w", info.Name, err)
	}
	return nil
}

// commandsOf collects a module value's commands; legacy ones dispatch to
// HandleCommand on mod.
func commandsOf(name string, mod any) ([]*clicommand.Command, error) {
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

// declaredOptions are info's options and then those of its mixins that
// it does not declare itself.
func declaredOptions(info Info) []Option {
	if len(info.Mixins) == 0 {
		return info.Options
	}
	out := slices.Clone(info.Options)
	for _, mx := range info.Mixins {
		for _, o := range mx.Options() {
			if !slices.ContainsFunc(out, func(d Option) bool { return d.Name == o.Name }) {
				out = append(out, o)
			}
		}
	}
	return out
}

// checkMixinOptions refuses two mixins declaring an option of the same
// name that the module does not declare itself (which would decide it).
func checkMixinOptions(info Info) error {
	own := map[string]bool{}
	for _, o := range info.Options {
		own[o.Name] = true
	}
	from := map[string]Mixin{}
	for _, mx := range info.Mixins {
		for _, o := range mx.Options() {
			if own[o.Name] {
				continue
			}
			if other, dup := from[o.Name]; dup {
				return fmt.Errorf("module %s: option %q is declared by two mixins (%T and %T); declare it in Info.Options to decide it", info.Name, o.Name, other, mx)
			}
			from[o.Name] = mx
		}
	}
	return nil
}
