// Command ceph-mgr is the gomgr manager daemon with the built-in modules;
// see `ceph-mgr --help`. It is a host like any other (see package
// github.com/gomgr/gomgr/pkg/mgr): the modules it imports, and Main.
package main

import (
	"github.com/gomgr/gomgr/pkg/mgr"

	_ "github.com/gomgr/gomgr/modules/all"
)

func main() { mgr.Main() }
