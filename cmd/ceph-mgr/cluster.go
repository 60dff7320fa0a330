package main

import (
	"errors"

	"github.com/gomgr/gomgr/internal/daemon"
)

// attachCluster builds the Ceph cluster backend for -c. It is replaced by
// the go-ceph implementation (see the cephcluster package) once that lands.
func attachCluster(daemon.ClusterFlags) (daemon.ClusterAttacher, error) {
	return nil, errors.New("-c: attaching to a Ceph cluster is not implemented yet")
}
