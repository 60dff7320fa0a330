// Command benchmgr is the gomgr host of `make bench`'s comparison with a
// Python module in the real ceph-mgr: the modules hello, gobench
// (internal/bench/benchmod) and prometheus (modules/prometheus, installed
// as goprometheus: `benchmgr bridge install --module-path DIR --rename
// prometheus=goprometheus`, since Pacific's prometheus is in the mgr's
// module path), and nothing else. benchtable builds it, installs its
// bridge into a throwaway cluster's module path and drives its modules
// through the real mgr.
package main

import (
	"github.com/gomgr/gomgr/pkg/mgr"

	_ "github.com/gomgr/gomgr/internal/bench/benchmod"
	_ "github.com/gomgr/gomgr/modules/hello"
	_ "github.com/gomgr/gomgr/modules/prometheus"
)

func main() { mgr.Main() }
