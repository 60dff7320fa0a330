// Package bridge makes gomgr's Go modules modules of a real ceph-mgr:
// Describe gives their commands and options in the terms Python's
// MgrModule declares them (COMMANDS, MODULE_OPTIONS), and Install writes,
// into the real mgr's module path, a small Python module per Go module
// (importing the shared package gomgr_bridge, embedded here) that declares
// them, so the monitors and the ceph CLI see a Go module as one of the
// mgr's own: it is listed by `ceph mgr module ls`, its commands by `ceph
// -h`, its options are checked by `ceph config set mgr mgr/NAME/OPT`.
//
// Run is the Go side (`ceph-mgr bridged`): one process per real mgr,
// started by the first enabled shim, serving all of them on a unix socket
// in a private directory. It runs the Go modules on mgrBackend, whose
// options, KV store, cluster maps and commands are the real mgr's, reached
// through the shims; commands, notifications and option changes come the
// other way. PROTOCOL.md is the wire protocol (length-prefixed JSON
// requests and replies in both directions); python/gomgr_bridge is the
// shims' side of it.
package bridge
