// Command mgrctl drives a gomgr manager daemon; see `mgrctl --help`.
package main

import (
	"os"

	"github.com/gomgr/gomgr/internal/mgrctl"
)

func main() {
	os.Exit(mgrctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, mgrctl.WithClusterDialer(mgrctl.RadosDialer)))
}
