// Package modhost is the module runtime: the Manager that runs the modules
// authors write against package module. It checks and catalogues the
// registered modules (Registry), enables and disables them at run time and
// keeps the enabled list in the backend's KV store, gives each running
// instance its module.Handle, routes its commands, queues notifications per
// module, turns a panic in Serve or a Handle.Go goroutine into a failed
// module with MGR_MODULE_ERROR, applies and validates module options as the
// monitor would (config set/rm/get), and merges the modules' health checks
// with the daemon's into a health.Report.
//
// The files split it by job: manager.go (catalogue, lifecycle, dispatch),
// handle.go (what a Handle asks of the runtime), enabled.go (the stored
// enabled list), config.go (options), daemons.go (metadata and counters of
// daemons), logging.go (module loggers), registry.go.
package modhost
