// Command gomgr-rados is the librados helper of ceph-mgr and mgrctl: they
// start it for -c and talk to it over its standard input and output (see
// internal/radosproc). It is the only gomgr binary that links librados.
package main

import (
	"fmt"
	"os"

	"github.com/gomgr/gomgr/internal/cephrados"
	"github.com/gomgr/gomgr/internal/radosproc"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "gomgr-rados takes no arguments: ceph-mgr and mgrctl start it for -c and talk to it over stdin and stdout")
		os.Exit(2)
	}
	if err := radosproc.Serve(os.Stdin, os.Stdout, cephrados.Dial); err != nil {
		fmt.Fprintln(os.Stderr, "gomgr-rados:", err)
		os.Exit(1)
	}
}
