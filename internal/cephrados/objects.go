//go:build cgo

package cephrados

// #cgo LDFLAGS: -lrados
// #include <stdlib.h>
// #include <rados/librados.h>
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/ceph/go-ceph/rados"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/objstore"
)

var (
	_ cephconn.ObjectStore   = (*Conn)(nil)
	_ cephconn.AddrsReporter = (*Conn)(nil)
)

// maxExecOut bounds the output of an object-class call (librados'
// rados_exec fails with -ERANGE beyond the buffer it is given).
const maxExecOut = 4 << 20

// readChunk is the size of the reads of a whole object.
const readChunk = 1 << 20

// Addrs returns the connection's client addresses (rados_getaddrs).
func (c *Conn) Addrs() (string, error) {
	if err := c.enter(); err != nil {
		return "", err
	}
	defer c.mu.RUnlock()
	return c.conn.GetAddrs()
}

// ObjectOp runs an object-store operation (op was checked by
// objstore.Check). Each object operation opens an I/O context of its own,
// so operations in different namespaces can run at once.
func (c *Conn) ObjectOp(op objstore.Op) (objstore.Result, error) {
	if err := objstore.Check(op); err != nil {
		return objstore.Result{}, err
	}
	if err := c.enter(); err != nil {
		return objstore.Result{}, err
	}
	defer c.mu.RUnlock()
	var res objstore.Result
	switch op.Kind {
	case objstore.ListPools:
		names, err := c.conn.ListPools()
		if err != nil {
			return res, err
		}
		for _, n := range names {
			id, err := c.conn.GetPoolByName(n)
			if errors.Is(err, rados.ErrNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return res, fmt.Errorf("look up pool %s: %w", n, err)
			}
			res.Pools = append(res.Pools, objstore.Pool{Name: n, ID: id})
		}
		return res, nil
	case objstore.CreatePool:
		return res, c.conn.MakePool(op.Pool)
	}
	io, err := c.conn.OpenIOContext(op.Pool)
	if err != nil {
		return res, fmt.Errorf("open pool %s: %w", op.Pool, err)
	}
	defer io.Destroy()
	io.SetNamespace(op.Namespace)
	err = objectOp(io, op, &res)
	return res, err
}

func objectOp(io *rados.IOContext, op objstore.Op, res *objstore.Result) error {
	var err error
	switch op.Kind {
	case objstore.PoolStat:
		var st rados.PoolStat
		if st, err = io.GetPoolStats(); err == nil {
			res.Stats = objstore.PoolStats{Bytes: st.Num_bytes, KB: st.Num_kb, Objects: st.Num_objects}
		}
	case objstore.Read:
		res.Data, err = read(io, op)
	case objstore.Write:
		err = io.Write(op.OID, op.Data, op.Offset)
	case objstore.WriteFull, objstore.Append:
		if len(op.Data) > 0 && op.Kind == objstore.WriteFull {
			err = io.WriteFull(op.OID, op.Data)
			break
		}
		if len(op.Data) > 0 {
			err = io.Append(op.OID, op.Data)
			break
		}
		err = empty(io, op)
	case objstore.Stat:
		var st rados.ObjectStat
		if st, err = io.Stat(op.OID); err == nil {
			res.Size, res.Mtime = st.Size, st.ModTime
		}
	case objstore.Remove:
		err = io.Delete(op.OID)
	case objstore.List:
		res.Objects, err = list(io, op)
	case objstore.OmapGetByKeys:
		res.Vals, err = omapByKeys(io, op)
	case objstore.OmapGet:
		res.Vals, res.More, err = omapGet(io, op)
	case objstore.OmapSet:
		err = io.SetOmap(op.OID, op.Vals)
	case objstore.OmapRemove:
		// rados_remove_omap_keys on a missing object succeeds (it creates
		// nothing); the OSD's answer to a write op asserting existence
		// is the one the module API promises (-ENOENT).
		w := rados.CreateWriteOp()
		defer w.Release()
		w.AssertExists()
		w.RmOmapKeys(op.Keys)
		err = w.Operate(io, op.OID, rados.OperationNoFlag)
	case objstore.XattrGet:
		buf := make([]byte, objstore.MaxXattrSize+1)
		var n int
		if n, err = io.GetXattr(op.OID, op.Name, buf); err == nil {
			if n > objstore.MaxXattrSize {
				return objstore.Fail(op.Kind, syscall.E2BIG, "xattr '%s' is larger than %d bytes", op.Name, objstore.MaxXattrSize)
			}
			res.Data = buf[:n]
		}
	case objstore.XattrSet:
		if len(op.Data) == 0 {
			err = empty(io, op)
			break
		}
		err = io.SetXattr(op.OID, op.Name, op.Data)
	case objstore.XattrList:
		res.Vals, err = io.ListXattrs(op.OID)
	case objstore.XattrRemove:
		err = io.RmXattr(op.OID, op.Name)
	case objstore.Exec:
		res.Data, err = execute(io, op)
	default:
		err = objstore.Fail(op.Kind, syscall.EINVAL, "unknown operation")
	}
	return opError(err)
}

// opError gives the error of a go-ceph read or write op (which has no
// errno of its own) the errno of the op, or of its first failed step.
func opError(err error) error {
	var oe rados.OperationError
	if !errors.As(err, &oe) {
		return err
	}
	if oe.OpError != nil {
		return fmt.Errorf("%w (%v)", oe.OpError, err)
	}
	for _, step := range oe.StepErrors {
		if step != nil {
			return fmt.Errorf("%w (%v)", step, err)
		}
	}
	return err
}

// read reads op's range; length 0 reads the whole object, up to
// objstore.MaxObjectSize (-EFBIG for a larger one, which something other
// than gomgr wrote).
func read(io *rados.IOContext, op objstore.Op) ([]byte, error) {
	if op.Length > 0 {
		buf := make([]byte, op.Length)
		n, err := io.Read(op.OID, buf, op.Offset)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	// A zero-length read would not tell a missing object from an empty
	// one; stat first.
	if _, err := io.Stat(op.OID); err != nil {
		return nil, err
	}
	out := []byte{}
	for off := op.Offset; ; {
		buf := make([]byte, readChunk)
		n, err := io.Read(op.OID, buf, off)
		if err != nil {
			return nil, err
		}
		out = append(out, buf[:n]...)
		if uint64(len(out)) > objstore.MaxObjectSize {
			return nil, objstore.Fail(op.Kind, syscall.EFBIG, "object '%s' is larger than %d bytes: read it in ranges", op.OID, objstore.MaxObjectSize)
		}
		if n < readChunk {
			return out, nil
		}
		off += uint64(n)
	}
}

func list(io *rados.IOContext, op objstore.Op) ([]objstore.Object, error) {
	it, err := io.Iter()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []objstore.Object{}
	for it.Next() {
		if len(out) == objstore.MaxList {
			return nil, objstore.Fail(op.Kind, syscall.E2BIG, "pool '%s' holds more than %d objects", op.Pool, objstore.MaxList)
		}
		out = append(out, objstore.Object{Namespace: it.Namespace(), OID: it.Value()})
	}
	return out, it.Err()
}

func omapByKeys(io *rados.IOContext, op objstore.Op) (map[string][]byte, error) {
	r := rados.CreateReadOp()
	defer r.Release()
	step := r.GetOmapValuesByKeys(op.Keys)
	if err := r.Operate(io, op.OID, rados.OperationNoFlag); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for {
		kv, err := step.Next()
		if err != nil {
			return nil, err
		}
		if kv == nil {
			return out, nil
		}
		out[kv.Key] = kv.Value
	}
}

func omapGet(io *rados.IOContext, op objstore.Op) (map[string][]byte, bool, error) {
	r := rados.CreateReadOp()
	defer r.Release()
	step := r.GetOmapValues(op.StartAfter, op.Prefix, uint64(op.Max))
	if err := r.Operate(io, op.OID, rados.OperationNoFlag); err != nil {
		return nil, false, err
	}
	out := map[string][]byte{}
	for {
		kv, err := step.Next()
		if err != nil {
			return nil, false, err
		}
		if kv == nil {
			return out, step.More(), nil
		}
		out[kv.Key] = kv.Value
	}
}

// execute calls rados_exec, which runs read and write methods alike (a
// read op's exec refuses the methods that write).
func execute(io *rados.IOContext, op objstore.Op) ([]byte, error) {
	oid, cls, method := C.CString(op.OID), C.CString(op.Class), C.CString(op.Method)
	defer C.free(unsafe.Pointer(oid))
	defer C.free(unsafe.Pointer(cls))
	defer C.free(unsafe.Pointer(method))
	var in *C.char
	if len(op.Data) > 0 {
		in = (*C.char)(C.CBytes(op.Data))
		defer C.free(unsafe.Pointer(in))
	}
	out := (*C.char)(C.malloc(maxExecOut))
	defer C.free(unsafe.Pointer(out))
	ret := C.rados_exec(C.rados_ioctx_t(io.Pointer()), oid, cls, method, in, C.size_t(len(op.Data)), out, maxExecOut)
	if ret < 0 {
		if ret == -C.int(syscall.ERANGE) {
			return nil, objstore.Fail(op.Kind, syscall.ERANGE, "%s.%s returned more than %d bytes", op.Class, op.Method, maxExecOut)
		}
		return nil, syscall.Errno(-ret)
	}
	return C.GoBytes(unsafe.Pointer(out), ret), nil
}

// empty runs a write_full, append or xattr set of no bytes, which go-ceph's
// calls cannot (they index the data), with librados' C calls.
func empty(io *rados.IOContext, op objstore.Op) error {
	oid := C.CString(op.OID)
	defer C.free(unsafe.Pointer(oid))
	var none C.char
	ctx := C.rados_ioctx_t(io.Pointer())
	var ret C.int
	switch op.Kind {
	case objstore.WriteFull:
		ret = C.rados_write_full(ctx, oid, &none, 0)
	case objstore.Append:
		ret = C.rados_append(ctx, oid, &none, 0)
	case objstore.XattrSet:
		name := C.CString(op.Name)
		defer C.free(unsafe.Pointer(name))
		ret = C.rados_setxattr(ctx, oid, name, &none, 0)
	}
	if ret < 0 {
		return syscall.Errno(-ret)
	}
	return nil
}
