package module

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gomgr/gomgr/internal/objstore"
)

// Rados is a module's RADOS client (Python's self.rados): pools, objects,
// omap, xattrs and object-class calls. Attached (-c) and bridged (inside a
// real ceph-mgr) it is librados, through the gomgr-rados helper with the
// daemon's cephx identity; embedded it is an object store in the
// daemon's own data file, so a module that keeps its state in RADOS runs
// unchanged, and can be tested, with no cluster.
//
// Errors carry Ceph's negative errno as librados reports it
// (objectformat.ErrnoOf, errors.Is(err, syscall.ENOENT)): -ENOENT for a
// missing pool or object, -EEXIST for CreatePool of a pool that exists,
// -ENODATA for a missing xattr, -EOPNOTSUPP for an object class the store
// does not have. Requests outside the bounds every mode enforces
// (RadosMaxObjectSize, names longer than Ceph allows, more than
// RadosMaxList omap keys or listed objects) fail the same way in every
// mode.
type Rados struct {
	s objstore.Store
}

// RadosPool is a pool as ListPools lists it: its name and id.
type RadosPool struct {
	Name string
	ID   int64
}

// RadosPoolStats are a pool's usage (librados' num_bytes, num_kb,
// num_objects). On a cluster they come from the OSDs' statistics and
// trail writes by a few seconds; bridged, from the real mgr's get("df").
type RadosPoolStats struct {
	Bytes, KB, Objects uint64
}

// RadosObject is an object of a listing: its namespace and name.
type RadosObject struct {
	Namespace string
	OID       string
}

// RadosObjectStat is an object's size and modification time.
type RadosObjectStat struct {
	Size  uint64
	Mtime time.Time
}

// RadosAllNamespaces, given to SetNamespace, makes ListObjects list every
// namespace (librados' LIBRADOS_ALL_NSPACES); other calls refuse it.
const RadosAllNamespaces = "\x01"

// Bounds of the object store, the same in every mode.
const (
	// RadosMaxObjectSize is the largest object (-EFBIG beyond).
	RadosMaxObjectSize = 64 << 20
	// RadosMaxList bounds the omap keys of one call and the objects
	// ListObjects returns (-E2BIG beyond).
	RadosMaxList = 100000
)

// Rados returns the module's RADOS client.
func (h *Handle) Rados() *Rados { return &Rados{s: h.rt.Objects()} }

func (r *Rados) do(ctx context.Context, op objstore.Op) (objstore.Result, error) {
	return objstore.Do(ctx, r.s, op)
}

// ListPools lists the cluster's pools.
func (r *Rados) ListPools(ctx context.Context) ([]RadosPool, error) {
	res, err := r.do(ctx, objstore.Op{Kind: objstore.ListPools})
	pools := make([]RadosPool, len(res.Pools))
	for i, p := range res.Pools {
		pools[i] = RadosPool{Name: p.Name, ID: p.ID}
	}
	return pools, err
}

// CreatePool creates a replicated pool with the cluster's defaults
// (-EEXIST if it exists).
func (r *Rados) CreatePool(ctx context.Context, pool string) error {
	_, err := r.do(ctx, objstore.Op{Kind: objstore.CreatePool, Pool: pool})
	return err
}

// PoolStats returns a pool's usage (-ENOENT for a missing pool).
func (r *Rados) PoolStats(ctx context.Context, pool string) (RadosPoolStats, error) {
	res, err := r.do(ctx, objstore.Op{Kind: objstore.PoolStat, Pool: pool})
	return RadosPoolStats{Bytes: res.Stats.Bytes, KB: res.Stats.KB, Objects: res.Stats.Objects}, err
}

// IOContext returns an I/O context on pool (Python's open_ioctx), in the
// default namespace. The pool is not looked up until the first call,
// which fails with -ENOENT if it does not exist.
func (r *Rados) IOContext(pool string) *IOContext {
	return &IOContext{r: r, pool: pool}
}

// IOContext is an I/O context: a pool and a namespace. It is safe for
// concurrent use; SetNamespace affects the calls that start after it.
type IOContext struct {
	r    *Rados
	pool string
	mu   sync.Mutex
	ns   string
}

// Pool is the context's pool.
func (io *IOContext) Pool() string { return io.pool }

// SetNamespace sets the namespace of later calls ("" is the default one).
func (io *IOContext) SetNamespace(ns string) {
	io.mu.Lock()
	io.ns = ns
	io.mu.Unlock()
}

// Namespace is the current namespace.
func (io *IOContext) Namespace() string {
	io.mu.Lock()
	defer io.mu.Unlock()
	return io.ns
}

func (io *IOContext) do(ctx context.Context, op objstore.Op) (objstore.Result, error) {
	op.Pool, op.Namespace = io.pool, io.Namespace()
	return io.r.do(ctx, op)
}

// Read reads up to length bytes of oid from offset off; length 0 reads to
// the end of the object. Reading past the end gives fewer bytes (none at
// all beyond it); a missing object is -ENOENT.
func (io *IOContext) Read(ctx context.Context, oid string, length, off uint64) ([]byte, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.Read, OID: oid, Length: length, Offset: off})
	if err != nil {
		return nil, err
	}
	if res.Data == nil {
		res.Data = []byte{}
	}
	return res.Data, nil
}

// Write writes data at offset off, creating the object if needed; a gap
// past the old end reads as zeros.
func (io *IOContext) Write(ctx context.Context, oid string, data []byte, off uint64) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.Write, OID: oid, Data: data, Offset: off})
	return err
}

// WriteFull replaces the object's data with data, creating it if needed.
func (io *IOContext) WriteFull(ctx context.Context, oid string, data []byte) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.WriteFull, OID: oid, Data: data})
	return err
}

// Append adds data at the end of the object, creating it if needed.
func (io *IOContext) Append(ctx context.Context, oid string, data []byte) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.Append, OID: oid, Data: data})
	return err
}

// Stat returns the object's size and modification time.
func (io *IOContext) Stat(ctx context.Context, oid string) (RadosObjectStat, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.Stat, OID: oid})
	return RadosObjectStat{Size: res.Size, Mtime: res.Mtime}, err
}

// Remove deletes the object, with its omap and xattrs (-ENOENT if it
// does not exist).
func (io *IOContext) Remove(ctx context.Context, oid string) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.Remove, OID: oid})
	return err
}

// ListObjects lists the objects of the context's namespace, or of every
// namespace after SetNamespace(RadosAllNamespaces), sorted by namespace
// and name. A pool with more than RadosMaxList of them fails with -E2BIG.
func (io *IOContext) ListObjects(ctx context.Context) ([]RadosObject, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.List})
	if err != nil {
		return nil, err
	}
	objs := make([]RadosObject, len(res.Objects))
	for i, o := range res.Objects {
		objs[i] = RadosObject{Namespace: o.Namespace, OID: o.OID}
	}
	slices.SortFunc(objs, func(a, b RadosObject) int {
		if a.Namespace != b.Namespace {
			if a.Namespace < b.Namespace {
				return -1
			}
			return 1
		}
		switch {
		case a.OID < b.OID:
			return -1
		case a.OID > b.OID:
			return 1
		}
		return 0
	})
	return objs, nil
}

// GetOmapValsByKeys returns the omap entries of keys that exist.
func (io *IOContext) GetOmapValsByKeys(ctx context.Context, oid string, keys []string) (map[string][]byte, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.OmapGetByKeys, OID: oid, Keys: keys})
	return vals(res.Vals), err
}

// GetOmapVals returns up to max (1 to RadosMaxList) omap entries whose
// keys sort after startAfter and start with prefix, and whether there
// are more (Python's get_omap_vals).
func (io *IOContext) GetOmapVals(ctx context.Context, oid, startAfter, prefix string, max int) (map[string][]byte, bool, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.OmapGet, OID: oid, StartAfter: startAfter, Prefix: prefix, Max: max})
	return vals(res.Vals), res.More, err
}

// SetOmap sets omap entries, creating the object if needed.
func (io *IOContext) SetOmap(ctx context.Context, oid string, entries map[string][]byte) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.OmapSet, OID: oid, Vals: entries})
	return err
}

// RemoveOmapKeys removes omap entries; keys that do not exist are no error.
func (io *IOContext) RemoveOmapKeys(ctx context.Context, oid string, keys []string) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.OmapRemove, OID: oid, Keys: keys})
	return err
}

// GetXattr returns an xattr's value (-ENODATA if unset).
func (io *IOContext) GetXattr(ctx context.Context, oid, name string) ([]byte, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.XattrGet, OID: oid, Name: name})
	if err != nil {
		return nil, err
	}
	if res.Data == nil {
		res.Data = []byte{}
	}
	return res.Data, nil
}

// SetXattr sets an xattr, creating the object if needed.
func (io *IOContext) SetXattr(ctx context.Context, oid, name string, value []byte) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.XattrSet, OID: oid, Name: name, Data: value})
	return err
}

// Xattrs returns every xattr of the object.
func (io *IOContext) Xattrs(ctx context.Context, oid string) (map[string][]byte, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.XattrList, OID: oid})
	return vals(res.Vals), err
}

// RemoveXattr removes an xattr.
func (io *IOContext) RemoveXattr(ctx context.Context, oid, name string) error {
	_, err := io.do(ctx, objstore.Op{Kind: objstore.XattrRemove, OID: oid, Name: name})
	return err
}

// Exec calls an object-class method on the object (Python's
// ioctx.execute) and returns its output. The embedded store has the
// "hello" class's say_hello (Ceph's example class); other classes fail
// there with -EOPNOTSUPP, as on a cluster whose OSDs lack the class.
func (io *IOContext) Exec(ctx context.Context, oid, class, method string, in []byte) ([]byte, error) {
	res, err := io.do(ctx, objstore.Op{Kind: objstore.Exec, OID: oid, Class: class, Method: method, Data: in})
	if err != nil {
		return nil, err
	}
	if res.Data == nil {
		res.Data = []byte{}
	}
	return res.Data, nil
}

// vals never returns nil for a successful call, so callers may range and
// index the map either way; the copy keeps the caller's map its own.
func vals(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	maps.Copy(out, m)
	return out
}
