// Package bridge makes gomgr's Go modules modules of a real ceph-mgr:
// Describe gives their commands and options in the terms Python's
// MgrModule declares them (COMMANDS, MODULE_OPTIONS), and Install writes,
// into the real mgr's module path, a small Python module per Go module
// (importing the shared package gomgr_bridge, embedded here) that declares
// them, so the monitors and the ceph CLI see a Go module as one of the
// mgr's own: it is listed by `ceph mgr module ls`, its commands by `ceph
// -h`, its options are checked by `ceph config set mgr mgr/NAME/OPT`.
package bridge
