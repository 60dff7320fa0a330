package main

import (
	"github.com/gomgr/gomgr/internal/cephrados"
	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/daemon"
)

// attachCluster builds the Ceph cluster backend for -c: the monitors'
// configuration database, config-key store and maps through librados
// (internal/cephrados), and active/standby through a RADOS lock in
// --lock-pool (see internal/clusterbackend).
func attachCluster(f daemon.ClusterFlags) (daemon.ClusterAttacher, error) {
	if err := cephrados.Available(); err != nil {
		return nil, err
	}
	return clusterbackend.FromFlags(f, cephrados.Dial), nil
}
