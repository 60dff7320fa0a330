// Package backend holds the contracts between the module runtime and where
// a daemon keeps its state (Backend, Store, Cluster and their events), an
// in-memory Backend for tests, and the monitor commands a backend without
// monitors answers locally (LocalMonCommand). The embedded store
// (internal/embedded) and a real cluster (internal/clusterbackend)
// implement Backend; internal/modhost runs modules on one.
package backend
