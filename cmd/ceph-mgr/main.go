// Command ceph-mgr is the gomgr manager daemon; see `ceph-mgr --help`.
package main

import (
	"os"

	"github.com/gomgr/gomgr/internal/daemon"
	_ "github.com/gomgr/gomgr/modules/all"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], attachCluster, os.Stdout, os.Stderr))
}
