// Package all compiles the built-in modules into a binary: importing it
// runs every module's init, which registers the module. Lines between the
// markers are maintained by `mgrctl new-module`; keep them sorted.
package all

import (
	// gomgr:modules:begin
	_ "github.com/gomgr/gomgr/modules/crash"
	_ "github.com/gomgr/gomgr/modules/hello"
	_ "github.com/gomgr/gomgr/modules/notes"
	_ "github.com/gomgr/gomgr/modules/prometheus"
	_ "github.com/gomgr/gomgr/modules/selftest"
	// gomgr:modules:end
)
