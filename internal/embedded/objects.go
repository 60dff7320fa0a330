package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/objstore"
)

// The object store (module.Handle.Rados when embedded) lives in the same
// file, under the top-level bucket "rados":
//
//	rados/pools           pool name -> sealed pool id (u64 big-endian)
//	rados/<pool id>       one bucket per pool (key: "p" and the id, u64)
//	  <object key>        one bucket per object: the namespace's length
//	                      (u16 big-endian), the namespace, the object name
//	    m                 sealed size (u64) and mtime (unix ns, i64)
//	    d/<index u32>     sealed data chunks of objChunk bytes; a chunk
//	                      never written (a hole) reads as zeros
//	    o/<key>           sealed omap values
//	    x/<name>          sealed xattr values
//
// Every value is sealed as the config values are (format.go's inline
// form), its checksum covering its place (pool, object, part and key), so
// a value copied to the wrong place fails it too; one that fails is never
// served (-EIO). Writes are bbolt transactions committed with fsync
// before they return, one per operation, so an operation is all or
// nothing. Reads run in read transactions and touch only what they need
// (the chunks of the range read), not an in-memory copy.
var (
	bucketRados = []byte("rados")
	bucketPools = []byte("pools")
	partMeta    = []byte("m")
	partData    = []byte("d")
	partOmap    = []byte("o")
	partXattr   = []byte("x")
)

// objChunk is the size of an object's data chunks: a small write
// rewrites one or two of them, not the whole object.
const objChunk = 64 << 10

// objects is the embedded backend's objstore.Store.
type objects struct{ b *Backend }

var _ backend.Objects = (*Backend)(nil)

// Objects returns the backend's object store (backend.Objects).
func (b *Backend) Objects() objstore.Store { return objects{b} }

func sealB(loc, value []byte) []byte {
	out := make([]byte, sealLen+len(value))
	out[0] = sealVersion
	copy(out[sealLen:], value)
	binary.BigEndian.PutUint32(out[1:], sum(loc, value))
	return out
}

// unsealB checks a sealed value and returns a copy of it.
func unsealB(loc, raw []byte) ([]byte, error) {
	if len(raw) < sealLen || raw[0] != sealVersion {
		return nil, fmt.Errorf("%d bytes without a valid checksum header", len(raw))
	}
	if want, got := binary.BigEndian.Uint32(raw[1:]), sum(loc, raw[sealLen:]); want != got {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	return bytes.Clone(raw[sealLen:]), nil
}

// place builds the location a value's checksum covers.
func place(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func objKey(ns, oid string) []byte {
	k := binary.BigEndian.AppendUint16(nil, uint16(len(ns)))
	return append(append(k, ns...), oid...)
}

func parseObjKey(k []byte) (ns, oid string, ok bool) {
	if len(k) < 2 {
		return "", "", false
	}
	n := int(binary.BigEndian.Uint16(k))
	if len(k) < 2+n {
		return "", "", false
	}
	return string(k[2 : 2+n]), string(k[2+n:]), true
}

// corruptErr is the -EIO error for a value that fails its checksum.
func corruptErr(k objstore.Kind, what string, err error) error {
	return objstore.Fail(k, syscall.EIO, "%s: the stored value fails its checksum (%v), so it is not served", what, err)
}

// pool is an open pool bucket.
type pool struct {
	id   uint64
	name string
	bkt  *bolt.Bucket
}

// obj is an open object bucket.
type obj struct {
	p     pool
	key   []byte
	oid   string
	bkt   *bolt.Bucket
	size  uint64
	mtime time.Time
}

func (o *obj) loc(part, sub []byte) []byte { return place(u64(o.p.id), o.key, part, sub) }

func (o *obj) what() string { return fmt.Sprintf("object '%s' of pool '%s'", o.oid, o.p.name) }

func openPool(tx *bolt.Tx, k objstore.Kind, name string) (pool, error) {
	root := tx.Bucket(bucketRados)
	var raw []byte
	if root != nil {
		if pools := root.Bucket(bucketPools); pools != nil {
			raw = pools.Get([]byte(name))
		}
	}
	if raw == nil {
		return pool{}, objstore.Fail(k, syscall.ENOENT, "pool '%s' does not exist", name)
	}
	v, err := unsealB(place(bucketPools, []byte(name)), raw)
	if err == nil && len(v) != 8 {
		err = fmt.Errorf("a pool id of %d bytes", len(v))
	}
	if err != nil {
		return pool{}, corruptErr(k, "pool '"+name+"'", err)
	}
	id := binary.BigEndian.Uint64(v)
	bkt := root.Bucket(poolBucket(id))
	if bkt == nil {
		return pool{}, objstore.Fail(k, syscall.EIO, "pool '%s' (id %d) has no object bucket: the store is damaged", name, id)
	}
	return pool{id: id, name: name, bkt: bkt}, nil
}

func poolBucket(id uint64) []byte { return append([]byte("p"), u64(id)...) }

// openObj opens an object; create makes it if missing (in a write
// transaction), else a missing object is -ENOENT.
func openObj(p pool, k objstore.Kind, ns, oid string, create bool) (*obj, error) {
	key := objKey(ns, oid)
	o := &obj{p: p, key: key, oid: oid, bkt: p.bkt.Bucket(key)}
	if o.bkt == nil {
		if !create {
			return nil, objstore.Fail(k, syscall.ENOENT, "object '%s' does not exist in pool '%s'", oid, p.name)
		}
		var err error
		if o.bkt, err = p.bkt.CreateBucket(key); err != nil {
			return nil, err
		}
		for _, part := range [][]byte{partData, partOmap, partXattr} {
			if _, err := o.bkt.CreateBucket(part); err != nil {
				return nil, err
			}
		}
		return o, o.setMeta()
	}
	raw := o.bkt.Get(partMeta)
	v, err := unsealB(o.loc(partMeta, nil), raw)
	if err == nil && len(v) != 16 {
		err = fmt.Errorf("metadata of %d bytes", len(v))
	}
	if err != nil {
		return nil, corruptErr(k, o.what(), err)
	}
	o.size = binary.BigEndian.Uint64(v)
	o.mtime = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:])))
	return o, nil
}

// setMeta stores the size and a new mtime.
func (o *obj) setMeta() error {
	o.mtime = time.Now()
	v := binary.BigEndian.AppendUint64(u64(o.size), uint64(o.mtime.UnixNano()))
	return o.bkt.Put(partMeta, sealB(o.loc(partMeta, nil), v))
}

func chunkIndex(i uint64) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

// chunk returns data chunk i as stored (nil for a hole).
func (o *obj) chunk(k objstore.Kind, i uint64) ([]byte, error) {
	idx := chunkIndex(i)
	raw := o.bkt.Bucket(partData).Get(idx)
	if raw == nil {
		return nil, nil
	}
	v, err := unsealB(o.loc(partData, idx), raw)
	if err != nil {
		return nil, corruptErr(k, fmt.Sprintf("%s, data at %d", o.what(), i*objChunk), err)
	}
	return v, nil
}

// read returns bytes [off, end) of the object (end <= size).
func (o *obj) read(k objstore.Kind, off, end uint64) ([]byte, error) {
	out := make([]byte, 0, end-off)
	for pos := off; pos < end; {
		i := pos / objChunk
		lo, hi := pos-i*objChunk, min(end-i*objChunk, objChunk)
		c, err := o.chunk(k, i)
		if err != nil {
			return nil, err
		}
		part := make([]byte, hi-lo)
		if uint64(len(c)) > lo {
			copy(part, c[lo:min(hi, uint64(len(c)))])
		}
		out = append(out, part...)
		pos += hi - lo
	}
	return out, nil
}

// write stores data at off, growing the object as needed.
func (o *obj) write(k objstore.Kind, data []byte, off uint64) error {
	end := off + uint64(len(data))
	if end > objstore.MaxObjectSize {
		return objstore.Fail(k, syscall.EFBIG, "%s would be larger than %d bytes", o.what(), objstore.MaxObjectSize)
	}
	d := o.bkt.Bucket(partData)
	for pos := off; pos < end; {
		i := pos / objChunk
		lo, hi := pos-i*objChunk, min(end-i*objChunk, objChunk)
		c, err := o.chunk(k, i)
		if err != nil && (lo != 0 || hi != objChunk) {
			return err // a damaged chunk written whole is replaced
		}
		if uint64(len(c)) < hi {
			c = append(c, make([]byte, hi-uint64(len(c)))...)
		}
		copy(c[lo:hi], data[pos-off:])
		idx := chunkIndex(i)
		if err := d.Put(idx, sealB(o.loc(partData, idx), c)); err != nil {
			return err
		}
		pos += hi - lo
	}
	o.size = max(o.size, end)
	return o.setMeta()
}

// truncate drops the data past size.
func (o *obj) truncate(k objstore.Kind, size uint64) error {
	d := o.bkt.Bucket(partData)
	first := (size + objChunk - 1) / objChunk // the first chunk wholly past size
	var drop [][]byte
	c := d.Cursor()
	for key, _ := c.Seek(chunkIndex(first)); key != nil; key, _ = c.Next() {
		drop = append(drop, bytes.Clone(key))
	}
	for _, key := range drop {
		if err := d.Delete(key); err != nil {
			return err
		}
	}
	if rem := size % objChunk; rem != 0 {
		i := size / objChunk
		ch, err := o.chunk(k, i)
		if err != nil {
			return err
		}
		if uint64(len(ch)) > rem {
			idx := chunkIndex(i)
			if err := d.Put(idx, sealB(o.loc(partData, idx), ch[:rem])); err != nil {
				return err
			}
		}
	}
	o.size = size
	return o.setMeta()
}

// sub reads a sealed entry of the omap or xattr part (nil, nil if absent).
func (o *obj) sub(k objstore.Kind, part []byte, key string) ([]byte, error) {
	raw := o.bkt.Bucket(part).Get([]byte(key))
	if raw == nil {
		return nil, nil
	}
	v, err := unsealB(o.loc(part, []byte(key)), raw)
	if err != nil {
		return nil, corruptErr(k, fmt.Sprintf("%s, %s '%s'", o.what(), partName(part), key), err)
	}
	return v, nil
}

func (o *obj) putSub(part []byte, key string, v []byte) error {
	return o.bkt.Bucket(part).Put([]byte(key), sealB(o.loc(part, []byte(key)), v))
}

func partName(part []byte) string {
	if bytes.Equal(part, partOmap) {
		return "omap key"
	}
	return "xattr"
}

// subAll reads the entries of a part whose keys are after startAfter and
// start with prefix, up to max (0: all); more reports whether there were
// more.
func (o *obj) subAll(k objstore.Kind, part []byte, startAfter, prefix string, max int) (map[string][]byte, bool, error) {
	out := map[string][]byte{}
	c := o.bkt.Bucket(part).Cursor()
	from := prefix
	if startAfter >= from {
		from = startAfter
	}
	for key, _ := c.Seek([]byte(from)); key != nil; key, _ = c.Next() {
		ks := string(key)
		if ks == startAfter {
			continue
		}
		if !strings.HasPrefix(ks, prefix) {
			if ks > prefix {
				break
			}
			continue
		}
		if max > 0 && len(out) == max {
			return out, true, nil
		}
		v, err := o.sub(k, part, ks)
		if err != nil {
			return nil, false, err
		}
		out[ks] = v
	}
	return out, false, nil
}

func (s objects) view(fn func(tx *bolt.Tx) error) error {
	return guard(func() error { return s.b.db.View(fn) })
}

// Objects implements objstore.Store.
func (s objects) Objects(ctx context.Context, op objstore.Op) (objstore.Result, error) {
	if err := objstore.Check(op); err != nil {
		return objstore.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.Result{}, err
	}
	var res objstore.Result
	k := op.Kind
	var err error
	switch k {
	case objstore.ListPools:
		err = s.view(func(tx *bolt.Tx) error {
			res.Pools, err = listPools(tx)
			return err
		})
	case objstore.CreatePool:
		err = s.b.update(func(tx *bolt.Tx) error { return createPool(tx, op.Pool) })
	case objstore.PoolStat:
		err = s.view(func(tx *bolt.Tx) error {
			p, err := openPool(tx, k, op.Pool)
			if err != nil {
				return err
			}
			res.Stats, err = poolStats(p)
			return err
		})
	case objstore.List:
		err = s.view(func(tx *bolt.Tx) error {
			p, err := openPool(tx, k, op.Pool)
			if err != nil {
				return err
			}
			res.Objects, err = list(p, op.Namespace)
			return err
		})
	case objstore.Read, objstore.Stat, objstore.OmapGetByKeys, objstore.OmapGet, objstore.XattrGet, objstore.XattrList, objstore.Exec:
		err = s.view(func(tx *bolt.Tx) error {
			p, err := openPool(tx, k, op.Pool)
			if err != nil {
				return err
			}
			if k == objstore.Exec {
				res.Data, err = exec(p, op)
				return err
			}
			o, err := openObj(p, k, op.Namespace, op.OID, false)
			if err != nil {
				return err
			}
			return readOp(o, op, &res)
		})
	default:
		err = s.b.update(func(tx *bolt.Tx) error {
			p, err := openPool(tx, k, op.Pool)
			if err != nil {
				return err
			}
			if k == objstore.Remove {
				// Without reading it: a damaged object can be removed.
				if p.bkt.Bucket(objKey(op.Namespace, op.OID)) == nil {
					return objstore.Fail(k, syscall.ENOENT, "object '%s' does not exist in pool '%s'", op.OID, p.name)
				}
				return p.bkt.DeleteBucket(objKey(op.Namespace, op.OID))
			}
			create := k != objstore.XattrRemove && k != objstore.OmapRemove
			o, err := openObj(p, k, op.Namespace, op.OID, create)
			if err != nil {
				return err
			}
			return writeOp(o, op)
		})
	}
	if err != nil {
		var e *objstore.Error
		if !errors.As(err, &e) {
			err = objstore.Fail(k, syscall.EIO, "the embedded store: %v", err)
		}
		return objstore.Result{}, err
	}
	return res, nil
}

func listPools(tx *bolt.Tx) ([]objstore.Pool, error) {
	root := tx.Bucket(bucketRados)
	if root == nil || root.Bucket(bucketPools) == nil {
		return nil, nil
	}
	var out []objstore.Pool
	err := root.Bucket(bucketPools).ForEach(func(name, _ []byte) error {
		p, err := openPool(tx, objstore.ListPools, string(name))
		if err != nil {
			return err
		}
		out = append(out, objstore.Pool{Name: p.name, ID: int64(p.id)})
		return nil
	})
	return out, err
}

func createPool(tx *bolt.Tx, name string) error {
	root, err := tx.CreateBucketIfNotExists(bucketRados)
	if err != nil {
		return err
	}
	pools, err := root.CreateBucketIfNotExists(bucketPools)
	if err != nil {
		return err
	}
	if pools.Get([]byte(name)) != nil {
		return objstore.Fail(objstore.CreatePool, syscall.EEXIST, "pool '%s' already exists", name)
	}
	id, err := root.NextSequence()
	if err != nil {
		return err
	}
	if _, err := root.CreateBucket(poolBucket(id)); err != nil {
		return err
	}
	return pools.Put([]byte(name), sealB(place(bucketPools, []byte(name)), u64(id)))
}

func poolStats(p pool) (objstore.PoolStats, error) {
	var st objstore.PoolStats
	err := p.bkt.ForEachBucket(func(key []byte) error {
		ns, oid, ok := parseObjKey(key)
		if !ok {
			return objstore.Fail(objstore.PoolStat, syscall.EIO, "pool '%s' holds a malformed object key", p.name)
		}
		o, err := openObj(p, objstore.PoolStat, ns, oid, false)
		if err != nil {
			return err
		}
		st.Objects++
		st.Bytes += o.size
		return nil
	})
	st.KB = (st.Bytes + 1023) / 1024
	return st, err
}

func list(p pool, ns string) ([]objstore.Object, error) {
	out := []objstore.Object{}
	c := p.bkt.Cursor()
	var key []byte
	if ns == objstore.AllNamespaces {
		key, _ = c.First()
	} else {
		prefix := objKey(ns, "")
		key, _ = c.Seek(prefix)
		for ; key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
			if err := addObj(p, &out, key); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for ; key != nil; key, _ = c.Next() {
		if err := addObj(p, &out, key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func addObj(p pool, out *[]objstore.Object, key []byte) error {
	ns, oid, ok := parseObjKey(key)
	if !ok {
		return objstore.Fail(objstore.List, syscall.EIO, "pool '%s' holds a malformed object key", p.name)
	}
	if len(*out) == objstore.MaxList {
		return objstore.Fail(objstore.List, syscall.E2BIG, "pool '%s' holds more than %d objects", p.name, objstore.MaxList)
	}
	*out = append(*out, objstore.Object{Namespace: ns, OID: oid})
	return nil
}

func readOp(o *obj, op objstore.Op, res *objstore.Result) error {
	k := op.Kind
	var err error
	switch k {
	case objstore.Read:
		end := o.size
		if op.Length > 0 && op.Offset+op.Length < end {
			end = op.Offset + op.Length
		}
		if op.Offset < end {
			res.Data, err = o.read(k, op.Offset, end)
		}
	case objstore.Stat:
		res.Size, res.Mtime = o.size, o.mtime
	case objstore.OmapGetByKeys:
		res.Vals = map[string][]byte{}
		for _, key := range op.Keys {
			v, err := o.sub(k, partOmap, key)
			if err != nil {
				return err
			}
			if v != nil {
				res.Vals[key] = v
			}
		}
	case objstore.OmapGet:
		res.Vals, res.More, err = o.subAll(k, partOmap, op.StartAfter, op.Prefix, op.Max)
	case objstore.XattrGet:
		if res.Data, err = o.sub(k, partXattr, op.Name); err == nil && res.Data == nil {
			err = objstore.Fail(k, syscall.ENODATA, "%s has no xattr '%s'", o.what(), op.Name)
		}
	case objstore.XattrList:
		res.Vals, _, err = o.subAll(k, partXattr, "", "", 0)
	}
	return err
}

func writeOp(o *obj, op objstore.Op) error {
	k := op.Kind
	switch k {
	case objstore.Write:
		return o.write(k, op.Data, op.Offset)
	case objstore.WriteFull:
		if err := o.truncate(k, 0); err != nil {
			return err
		}
		return o.write(k, op.Data, 0)
	case objstore.Append:
		return o.write(k, op.Data, o.size)
	case objstore.OmapSet:
		for key, v := range op.Vals {
			if err := o.putSub(partOmap, key, v); err != nil {
				return err
			}
		}
	case objstore.OmapRemove:
		for _, key := range op.Keys {
			if err := o.bkt.Bucket(partOmap).Delete([]byte(key)); err != nil {
				return err
			}
		}
	case objstore.XattrSet:
		if err := o.putSub(partXattr, op.Name, op.Data); err != nil {
			return err
		}
	case objstore.XattrRemove:
		x := o.bkt.Bucket(partXattr)
		if x.Get([]byte(op.Name)) == nil {
			return objstore.Fail(k, syscall.ENODATA, "%s has no xattr '%s'", o.what(), op.Name)
		}
		if err := x.Delete([]byte(op.Name)); err != nil {
			return err
		}
	}
	return o.setMeta()
}

// osdClasses are the object classes Pacific's OSDs load
// (osd_class_load_list's default): calling another fails with -EPERM
// there, and here.
var osdClasses = map[string]bool{"cephfs": true, "hello": true, "journal": true, "lock": true, "log": true, "numops": true,
	"otp": true, "rbd": true, "refcount": true, "rgw": true, "rgw_gc": true, "timeindex": true, "user": true, "version": true,
	"cas": true, "cmpomap": true, "queue": true, "2pc_queue": true, "fifo": true}

// exec runs the object classes the embedded store has: Ceph's example
// class "hello" (its say_hello method), enough to test a module's Exec
// calls. A class the OSDs would not load is -EPERM, as there; a method
// the store does not have, -EOPNOTSUPP, as from an OSD for an unknown
// method.
func exec(p pool, op objstore.Op) ([]byte, error) {
	_ = p
	if !osdClasses[op.Class] {
		return nil, objstore.Fail(op.Kind, syscall.EPERM, "object class %s is not one the OSDs load (osd_class_load_list)", op.Class)
	}
	if op.Class != "hello" || op.Method != "say_hello" {
		return nil, objstore.Fail(op.Kind, syscall.EOPNOTSUPP, "the embedded object store has no object class method %s.%s (it has hello.say_hello only)", op.Class, op.Method)
	}
	if len(op.Data) > 100 {
		return nil, objstore.Fail(op.Kind, syscall.EINVAL, "hello.say_hello takes at most 100 bytes")
	}
	who := "world"
	if len(op.Data) > 0 {
		who = string(op.Data)
	}
	return []byte("Hello, " + who + "!"), nil
}

// checkObjects verifies every value of the object store (Check): it
// returns the number of pools and objects and the problems found, up to
// max of them (n counts them all).
func checkObjects(tx *bolt.Tx, max int) (pools, objs int, problems []string, n int) {
	problem := func(format string, args ...any) {
		if n < max {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		n++
	}
	root := tx.Bucket(bucketRados)
	if root == nil {
		return 0, 0, nil, 0
	}
	list, err := listPools(tx)
	if err != nil {
		problem("%v", err)
	}
	for _, pl := range list {
		pools++
		p, err := openPool(tx, objstore.ListPools, pl.Name)
		if err != nil {
			problem("%v", err)
			continue
		}
		_ = p.bkt.ForEachBucket(func(key []byte) error {
			objs++
			ns, oid, ok := parseObjKey(key)
			if !ok {
				problem("pool '%s' holds a malformed object key %q", p.name, key)
				return nil
			}
			o, err := openObj(p, objstore.Stat, ns, oid, false)
			if err != nil {
				problem("%v", err)
				return nil
			}
			for _, part := range [][]byte{partData, partOmap, partXattr} {
				bkt := o.bkt.Bucket(part)
				if bkt == nil {
					problem("%s has no %q bucket", o.what(), part)
					continue
				}
				_ = bkt.ForEach(func(k, raw []byte) error {
					if _, err := unsealB(o.loc(part, k), raw); err != nil {
						what := fmt.Sprintf("data chunk %x", k)
						if !bytes.Equal(part, partData) {
							what = fmt.Sprintf("%s '%s'", partName(part), k)
						}
						problem("%s, %s: %v", o.what(), what, err)
					}
					return nil
				})
			}
			return nil
		})
	}
	return pools, objs, problems, n
}
