package selftest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// radosPool is the pool of the rados section: created if missing, and
// kept (a module cannot delete pools); the section's objects live in a
// namespace of their own and are removed.
const radosPool = "gomgr-selftest"

// radosBudget bounds the rados section: on a cluster whose PGs do not
// answer (an OSD down) each call would wait for librados' timeout.
const radosBudget = 15 * time.Second

// testRados exercises Handle.Rados (Python's self.rados) in every mode:
// the embedded object store, and librados attached and bridged, with the
// same expectations, errnos included.
func (r *runner) testRados() {
	ctx, cancel := context.WithTimeout(r.ctx, radosBudget)
	defer cancel()
	// gaveUp ends the section once its time is up, with one failure
	// rather than one per call left.
	gaveUp := func() bool {
		if ctx.Err() == nil {
			return false
		}
		r.failf("gave up after %s: the object store does not answer in time (%v)", radosBudget, ctx.Err())
		return true
	}
	rados := r.h.Rados()
	pools, err := rados.ListPools(ctx)
	if objectformat.ErrnoOf(err) == -int(syscall.EOPNOTSUPP) && !r.h.HaveMonConnection() {
		return // a test backend without an object store (and no cluster)
	}
	if !r.ok("list pools", err) {
		return
	}
	if !slices.ContainsFunc(pools, func(p module.RadosPool) bool { return p.Name == radosPool }) {
		if err := rados.CreatePool(ctx, radosPool); err != nil && !errors.Is(err, syscall.EEXIST) {
			r.failf("create pool %s: %v", radosPool, err)
			return
		}
		pools, err = rados.ListPools(ctx)
		r.ok("list pools", err)
		r.check(slices.ContainsFunc(pools, func(p module.RadosPool) bool { return p.Name == radosPool && p.ID > 0 }),
			"pool %s (with an id) is not listed: %v", radosPool, pools)
	}
	r.fails("create an existing pool", rados.CreatePool(ctx, radosPool), -int(syscall.EEXIST), "")
	_, err = rados.PoolStats(ctx, radosPool)
	r.ok("pool stats", err)
	_, err = rados.PoolStats(ctx, "gomgr-selftest-nosuchpool")
	r.fails("stats of a missing pool", err, -int(syscall.ENOENT), "")
	_, err = rados.IOContext("gomgr-selftest-nosuchpool").Read(ctx, "o", 0, 0)
	r.fails("read in a missing pool", err, -int(syscall.ENOENT), "")

	io := rados.IOContext(radosPool)
	ns := fmt.Sprintf("run-%s-%d", r.h.MgrID(), time.Now().UnixNano())
	io.SetNamespace(ns)
	const oid = "obj"
	r.addCleanup("remove the rados objects", func(ctx context.Context) error {
		// A share of the cleanups' time: an object store that does not
		// answer must not keep the others from running.
		ctx, cancel := context.WithTimeout(ctx, waitTimeout/2)
		defer cancel()
		for _, o := range []string{oid, "omap"} {
			if err := io.Remove(ctx, o); err != nil && !errors.Is(err, syscall.ENOENT) {
				return err
			}
		}
		return nil
	})

	_, err = io.Read(ctx, oid, 0, 0)
	r.fails("read a missing object", err, -int(syscall.ENOENT), "")
	_, err = io.Stat(ctx, oid)
	r.fails("stat a missing object", err, -int(syscall.ENOENT), "")
	r.ok("write_full", io.WriteFull(ctx, oid, []byte("hello")))
	r.ok("append", io.Append(ctx, oid, []byte(" world")))
	r.ok("write", io.Write(ctx, oid, []byte("H"), 0))
	if data, err := io.Read(ctx, oid, 0, 0); r.ok("read", err) {
		r.equal("read", string(data), "Hello world")
	}
	if data, err := io.Read(ctx, oid, 5, 6); r.ok("read a range", err) {
		r.equal("read a range", string(data), "world")
	}
	if st, err := io.Stat(ctx, oid); r.ok("stat", err) {
		r.equal("stat size", st.Size, uint64(11))
		r.check(time.Since(st.Mtime).Abs() < 5*time.Minute, "stat mtime %v is not about now", st.Mtime)
	}

	if gaveUp() {
		return
	}
	r.ok("set omap", io.SetOmap(ctx, oid, map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}))
	if vals, err := io.GetOmapValsByKeys(ctx, oid, []string{"a", "z"}); r.ok("omap by keys", err) {
		r.equal("omap by keys", texts(vals), map[string]string{"a": "1"})
	}
	if vals, more, err := io.GetOmapVals(ctx, oid, "a", "", 1); r.ok("omap page", err) {
		r.equal("omap page", texts(vals), map[string]string{"b": "2"})
		r.check(more, "omap page: more is false with c after b")
	}
	r.ok("remove omap keys", io.RemoveOmapKeys(ctx, oid, []string{"b"}))
	if vals, more, err := io.GetOmapVals(ctx, oid, "", "", 10); r.ok("omap", err) {
		r.equal("omap after remove", texts(vals), map[string]string{"a": "1", "c": "3"})
		r.check(!more, "omap: more with every key read")
	}
	_, _, err = io.GetOmapVals(ctx, "omap-nosuch", "", "", 10)
	r.fails("omap of a missing object", err, -int(syscall.ENOENT), "")

	if gaveUp() {
		return
	}
	_, err = io.GetXattr(ctx, oid, "x")
	r.fails("a missing xattr", err, -int(syscall.ENODATA), "")
	r.ok("set xattr", io.SetXattr(ctx, oid, "x", []byte("1")))
	r.ok("set xattr", io.SetXattr(ctx, oid, "y", []byte("2")))
	if v, err := io.GetXattr(ctx, oid, "x"); r.ok("get xattr", err) {
		r.equal("get xattr", string(v), "1")
	}
	r.ok("remove xattr", io.RemoveXattr(ctx, oid, "x"))
	if xs, err := io.Xattrs(ctx, oid); r.ok("xattrs", err) {
		r.equal("xattrs", texts(xs), map[string]string{"y": "2"})
	}

	if gaveUp() {
		return
	}
	if out, err := io.Exec(ctx, oid, "hello", "say_hello", []byte("selftest")); r.ok("exec hello.say_hello", err) {
		r.equal("exec hello.say_hello", string(out), "Hello, selftest!")
	}
	_, err = io.Exec(ctx, oid, "gomgr_nosuch", "m", nil)
	r.fails("exec a class the OSDs do not load", err, -int(syscall.EPERM), "")

	r.ok("set omap (creates)", io.SetOmap(ctx, "omap", map[string][]byte{"k": nil}))
	if objs, err := io.ListObjects(ctx); r.ok("list objects", err) {
		r.equal("list objects", objs, []module.RadosObject{{Namespace: ns, OID: oid}, {Namespace: ns, OID: "omap"}})
	}
	io.SetNamespace(module.RadosAllNamespaces)
	if objs, err := io.ListObjects(ctx); r.ok("list every namespace", err) {
		r.check(slices.Contains(objs, module.RadosObject{Namespace: ns, OID: oid}), "list every namespace: %s/%s not in %v", ns, oid, objs)
	}
	_, err = io.Read(ctx, oid, 0, 0)
	r.fails("read with every namespace selected", err, -int(syscall.EINVAL), "")
	io.SetNamespace(ns)

	if gaveUp() {
		return
	}
	r.ok("remove", io.Remove(ctx, oid))
	_, err = io.Read(ctx, oid, 0, 0)
	r.fails("read a removed object", err, -int(syscall.ENOENT), "")
	r.fails("remove a removed object", io.Remove(ctx, oid), -int(syscall.ENOENT), "")
	gaveUp()
}

// texts turns omap or xattr values into text, for comparisons.
func texts(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[k] = string(m[k])
	}
	return out
}
