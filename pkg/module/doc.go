// Package module is the manager-module author's API: what a Python
// MgrModule subclass gets from ceph-mgr, in Go idiom. The runtime that
// runs modules is not part of it (it is internal to gomgr).
//
// A module is a package that registers itself at init time
// with an Info: its name, a constructor, its declared options and whether it
// is always on. Register checks the Info then and there and panics with a
// message naming the module and the option or command at fault: a default
// that is not one of EnumAllowed or lies outside Min and Max, a malformed
// command, or a command the daemon provides itself (ReservedPrefixes, such
// as "status" or "health"). Info.New returns a Module, whose Init receives
// the module's handle (Python's self): options, the KV store, cluster
// state, health checks, commands to daemons, calls to other modules, OSD
// perf queries (AddOSDPerfQuery: the real mgr's, bridged; -EOPNOTSUPP
// elsewhere, only the active ceph-mgr receives their results; removed
// when the module stops), RADOS (Rados; package rbd lists RBD images
// with it), and a logger. What else a module can do is discovered from the interfaces its
// value implements (Caddy style):
//
//   - Commander: Commands() lists its CLI commands (see package clicommand).
//   - LegacyCommander: COMMANDS-style cmd strings plus HandleCommand.
//   - Server: Serve(ctx) runs until ctx is cancelled (Python's serve).
//     Other background work runs with Handle.Go rather than a bare go
//     statement: its panics fail the module instead of the daemon, and
//     stopping the module waits for it.
//   - Shutdowner: Shutdown(ctx) is called before Serve's context is
//     cancelled (Python's shutdown).
//   - Notifier / ConfigNotifier: cluster-map and configuration changes
//     (TypedConfigNotifier: handed the new snapshot of a NewOptions struct).
//   - Exporter: methods other modules may call with Handle.Remote.
//
// Options are declared as a struct with tags (NewOptions, see
// TypedOptions) and read back as a typed snapshot; Info.Options and
// Handle.Option are the dynamic form underneath.
//
// A Standby function in Info gives the module's standby variant, run on a
// standby daemon with a restricted StandbyHandle.
//
// Cluster state comes as Python's get(name) gives it (Get); a module
// that reads only parts of large maps says which (GetFields, Fields), and
// one that reads several on each pass reads them at once (GetMany):
// bridged into a real ceph-mgr, what is left out is never encoded nor
// sent, and the names cross together.
//
// The cluster's perf counters come in Python's shapes (GetPerfSchema,
// GetCounter, GetLatestCounter, GetAllPerfCounters) and, for a module
// that reads all of them on every pass, typed (PerfCounters: a slice a
// daemon, a shared PerfCounterInfo and the values as numbers a counter).
//
// Info.Mixins adds features any module can have, one line each (see
// Mixin): pkg/evalcmd's Config gives a module an eval command for
// `mgrctl repl`.
//
// The daemon runs the modules a program registers (package mgr hosts
// them: `mgr.Main()` is a whole ceph-mgr): it enables and disables them
// at run time, routes their commands, queues notifications per module so a
// slow module delays only itself, turns a panic in Serve (or in a Handle.Go
// goroutine) into a failed module and an MGR_MODULE_ERROR health warning,
// and bounds shutdown by a deadline. A module's test runs it the same way
// with package moduletest.
package module
