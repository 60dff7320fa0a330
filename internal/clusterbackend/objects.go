package clusterbackend

import (
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/objstore"
)

var _ backend.Objects = (*Backend)(nil)

// Objects implements backend.Objects: the cluster's pools and objects,
// through the connection (librados in the gomgr-rados helper, with the
// daemon's cephx identity); nil if the connection has no object store.
func (b *Backend) Objects() objstore.Store { return cephconn.Objects(b.conn) }
