// Command benchmgr is the gomgr host of `make bench`'s comparison with a
// Python module in the real ceph-mgr: the modules hello and gobench
// (internal/bench/benchmod), and nothing else, so `benchmgr bridge install
// --module-path DIR` needs no renames. benchtable builds it, installs its
// bridge into a throwaway cluster's module path and drives its modules
// through the real mgr.
package main

import (
	"github.com/gomgr/gomgr/pkg/mgr"

	_ "github.com/gomgr/gomgr/internal/bench/benchmod"
	_ "github.com/gomgr/gomgr/modules/hello"
)

func main() { mgr.Main() }
