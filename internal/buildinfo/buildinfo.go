// Package buildinfo holds the version strings of the gomgr binaries.
package buildinfo

import (
	"fmt"
	"runtime"
)

// Version is the gomgr version; release builds set it with
// -ldflags "-X github.com/gomgr/gomgr/internal/buildinfo.Version=...".
var Version = "0.1.0-dev"

// Release is the Ceph release whose mgr interface gomgr implements.
const Release = "pacific"

// Full is the version line, in the shape of Ceph's "ceph version ..." line
// (what Python modules read as mgr.version).
func Full() string {
	return fmt.Sprintf("gomgr version %s (%s) %s (stable)", Version, runtime.Version(), Release)
}
