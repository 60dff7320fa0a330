package backend

import "github.com/gomgr/gomgr/internal/objstore"

// Objects is implemented by a Backend that has a RADOS object store for
// modules (module.Handle.Rados): the embedded backend's, in its own data
// file; the cluster's, through librados, attached and bridged. Objects
// may return nil when the backend has none after all (a bridge whose
// librados helper could not connect); modules' calls then fail with
// -EOPNOTSUPP.
type Objects interface {
	Objects() objstore.Store
}

// ObjectStore returns b's object store, or nil.
func ObjectStore(b Backend) objstore.Store {
	if o, ok := b.(Objects); ok {
		return o.Objects()
	}
	return nil
}
