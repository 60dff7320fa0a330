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
// The files split it by job: manager.go (the catalogue of modules and the
// Manager), lifecycle.go (enabling, starting, disabling, stopping),
// failure.go (Serve and Handle.Go goroutines, and what their failures do),
// notify.go (notification queues and the backend's events), commands.go
// (dispatch, descriptions, module ls), config.go (options), healthcheck.go
// and backendhealth.go (health), services.go (URIs, remote calls, local
// cluster state), enabled.go (the stored enabled list), daemons.go
// (metadata and counters of daemons), logging.go (module loggers),
// handle.go (what a Handle asks of the runtime), registry.go.
package modhost
