package main

import (
	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/radosproc"
)

// attachCluster builds the Ceph cluster backend for -c: the monitors'
// configuration database, config-key store and maps, and active/standby
// through a RADOS lock in --lock-pool (see internal/clusterbackend), over
// librados in the gomgr-rados helper process (internal/radosproc).
func attachCluster(f daemon.ClusterFlags) (daemon.ClusterAttacher, error) {
	if _, err := radosproc.HelperPath(); err != nil {
		return nil, err
	}
	return clusterbackend.FromFlags(f, radosproc.Dial), nil
}
