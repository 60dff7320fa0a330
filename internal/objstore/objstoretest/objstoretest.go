// Package objstoretest is the conformance table of objstore.Store: the
// same operations and expectations (results and errnos) run against the
// embedded store in its unit tests and against librados on a real
// cluster in the integration tests, so the two behave alike.
package objstoretest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// step is one operation and what it must give.
type step struct {
	name string
	op   objstore.Op
	// errno is the expected negative errno (0: success).
	errno int
	// check, if set, checks a successful result.
	check func(objstore.Result) error
}

func data(want string) func(objstore.Result) error {
	return func(r objstore.Result) error {
		if string(r.Data) != want {
			return fmt.Errorf("data %q, want %q", r.Data, want)
		}
		return nil
	}
}

func size(want uint64) func(objstore.Result) error {
	return func(r objstore.Result) error {
		if r.Size != want {
			return fmt.Errorf("size %d, want %d", r.Size, want)
		}
		if time.Since(r.Mtime) > time.Hour || time.Until(r.Mtime) > time.Hour {
			return fmt.Errorf("mtime %v is not about now", r.Mtime)
		}
		return nil
	}
}

func vals(want map[string]string, more bool) func(objstore.Result) error {
	return func(r objstore.Result) error {
		got := map[string]string{}
		for k, v := range r.Vals {
			got[k] = string(v)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || r.More != more {
			return fmt.Errorf("entries %v more=%v, want %v more=%v", got, r.More, want, more)
		}
		return nil
	}
}

func objects(want ...string) func(objstore.Result) error {
	return func(r objstore.Result) error {
		var got []string
		for _, o := range r.Objects {
			got = append(got, o.Namespace+"/"+o.OID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("objects %v, want %v", got, want)
		}
		return nil
	}
}

func b(s string) []byte { return []byte(s) }

// Steps returns the table for pool (which must not exist yet; the table
// creates it).
func steps(pool string) []step {
	const oid = "obj"
	o := func(k objstore.Kind) objstore.Op { return objstore.Op{Kind: k, Pool: pool, OID: oid} }
	with := func(op objstore.Op, f func(*objstore.Op)) objstore.Op { f(&op); return op }
	ns := func(op objstore.Op, ns string) objstore.Op { op.Namespace = ns; return op }
	e := func(errno syscall.Errno) int { return -int(errno) }
	return []step{
		{name: "stat of a missing pool", op: objstore.Op{Kind: objstore.PoolStat, Pool: pool}, errno: e(syscall.ENOENT)},
		{name: "read in a missing pool", op: o(objstore.Read), errno: e(syscall.ENOENT)},
		{name: "create the pool", op: objstore.Op{Kind: objstore.CreatePool, Pool: pool}},
		{name: "create it again", op: objstore.Op{Kind: objstore.CreatePool, Pool: pool}, errno: e(syscall.EEXIST)},
		{name: "list pools", op: objstore.Op{Kind: objstore.ListPools}, check: func(r objstore.Result) error {
			for _, p := range r.Pools {
				if p.Name == pool && p.ID > 0 {
					return nil
				}
			}
			return fmt.Errorf("pool %s (with an id) not in %v", pool, r.Pools)
		}},
		{name: "pool stats", op: objstore.Op{Kind: objstore.PoolStat, Pool: pool}},

		{name: "read a missing object", op: o(objstore.Read), errno: e(syscall.ENOENT)},
		{name: "stat a missing object", op: o(objstore.Stat), errno: e(syscall.ENOENT)},
		{name: "remove a missing object", op: o(objstore.Remove), errno: e(syscall.ENOENT)},
		{name: "omap of a missing object", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Max = 10 }), errno: e(syscall.ENOENT)},
		{name: "xattr of a missing object", op: with(o(objstore.XattrGet), func(op *objstore.Op) { op.Name = "a" }), errno: e(syscall.ENOENT)},
		{name: "omap rm of a missing object", op: with(o(objstore.OmapRemove), func(op *objstore.Op) { op.Keys = []string{"a"} }), errno: e(syscall.ENOENT)},

		{name: "write_full", op: with(o(objstore.WriteFull), func(op *objstore.Op) { op.Data = b("hello world") })},
		{name: "read it", op: o(objstore.Read), check: data("hello world")},
		{name: "stat it", op: o(objstore.Stat), check: size(11)},
		{name: "read a range", op: with(o(objstore.Read), func(op *objstore.Op) { op.Offset, op.Length = 6, 3 }), check: data("wor")},
		{name: "read past the end", op: with(o(objstore.Read), func(op *objstore.Op) { op.Offset, op.Length = 100, 3 }), check: data("")},
		{name: "write_full shorter", op: with(o(objstore.WriteFull), func(op *objstore.Op) { op.Data = b("bye") })},
		{name: "read the shorter", op: o(objstore.Read), check: data("bye")},
		{name: "write past the end", op: with(o(objstore.Write), func(op *objstore.Op) { op.Data, op.Offset = b("!"), 5 })},
		{name: "the gap is zeros", op: o(objstore.Read), check: data("bye\x00\x00!")},
		{name: "write inside", op: with(o(objstore.Write), func(op *objstore.Op) { op.Data, op.Offset = b("Y"), 1 })},
		{name: "append", op: with(o(objstore.Append), func(op *objstore.Op) { op.Data = b("+") })},
		{name: "read all", op: o(objstore.Read), check: data("bYe\x00\x00!+")},
		{name: "stat after append", op: o(objstore.Stat), check: size(7)},
		{name: "an empty write past the end", op: objstore.Op{Kind: objstore.Write, Pool: pool, OID: "sparse", Offset: 100}},
		{name: "grows the object", op: objstore.Op{Kind: objstore.Stat, Pool: pool, OID: "sparse"}, check: size(100)},
		{name: "with zeros", op: objstore.Op{Kind: objstore.Read, Pool: pool, OID: "sparse"}, check: data(strings.Repeat("\x00", 100))},
		{name: "remove the sparse one", op: objstore.Op{Kind: objstore.Remove, Pool: pool, OID: "sparse"}},
		{name: "an empty append", op: o(objstore.Append)},
		{name: "changes nothing", op: o(objstore.Read), check: data("bYe\x00\x00!+")},
		{name: "an empty append creates", op: objstore.Op{Kind: objstore.Append, Pool: pool, OID: "empty2"}},
		{name: "the empty append's object", op: objstore.Op{Kind: objstore.Stat, Pool: pool, OID: "empty2"}, check: size(0)},
		{name: "remove it", op: objstore.Op{Kind: objstore.Remove, Pool: pool, OID: "empty2"}},
		{name: "append creates", op: objstore.Op{Kind: objstore.Append, Pool: pool, OID: "log", Data: b("a")}},
		{name: "write_full empty", op: objstore.Op{Kind: objstore.WriteFull, Pool: pool, OID: "empty"}},
		{name: "stat the empty one", op: objstore.Op{Kind: objstore.Stat, Pool: pool, OID: "empty"}, check: size(0)},
		{name: "read the empty one", op: objstore.Op{Kind: objstore.Read, Pool: pool, OID: "empty"}, check: data("")},

		{name: "write in a namespace", op: ns(with(o(objstore.WriteFull), func(op *objstore.Op) { op.Data = b("in ns") }), "ns1")},
		{name: "read in the namespace", op: ns(o(objstore.Read), "ns1"), check: data("in ns")},
		{name: "the default namespace is apart", op: o(objstore.Read), check: data("bYe\x00\x00!+")},
		{name: "a namespace object elsewhere", op: ns(objstore.Op{Kind: objstore.Read, Pool: pool, OID: "log"}, "ns1"), errno: e(syscall.ENOENT)},
		{name: "list the default namespace", op: objstore.Op{Kind: objstore.List, Pool: pool}, check: objects("/empty", "/log", "/obj")},
		{name: "list a namespace", op: objstore.Op{Kind: objstore.List, Pool: pool, Namespace: "ns1"}, check: objects("ns1/obj")},
		{name: "list every namespace", op: objstore.Op{Kind: objstore.List, Pool: pool, Namespace: objstore.AllNamespaces}, check: objects("/empty", "/log", "/obj", "ns1/obj")},
		{name: "all namespaces only lists", op: ns(o(objstore.Read), objstore.AllNamespaces), errno: e(syscall.EINVAL)},

		{name: "omap set", op: with(o(objstore.OmapSet), func(op *objstore.Op) {
			op.Vals = map[string][]byte{"a/1": b("x"), "a/2": b("y"), "b/1": b("z"), "c": {}}
		})},
		{name: "omap by keys", op: with(o(objstore.OmapGetByKeys), func(op *objstore.Op) { op.Keys = []string{"a/2", "c", "nope"} }),
			check: vals(map[string]string{"a/2": "y", "c": ""}, false)},
		{name: "omap all", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Max = 10 }),
			check: vals(map[string]string{"a/1": "x", "a/2": "y", "b/1": "z", "c": ""}, false)},
		{name: "omap prefix", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Prefix, op.Max = "a/", 10 }),
			check: vals(map[string]string{"a/1": "x", "a/2": "y"}, false)},
		{name: "omap start after", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.StartAfter, op.Max = "a/2", 10 }),
			check: vals(map[string]string{"b/1": "z", "c": ""}, false)},
		{name: "omap max", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Max = 2 }),
			check: vals(map[string]string{"a/1": "x", "a/2": "y"}, true)},
		{name: "omap exactly max", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.StartAfter, op.Max = "a/2", 2 }),
			check: vals(map[string]string{"b/1": "z", "c": ""}, false)},
		{name: "omap prefix and start after", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.StartAfter, op.Prefix, op.Max = "a/1", "a/", 10 }),
			check: vals(map[string]string{"a/2": "y"}, false)},
		{name: "omap rm", op: with(o(objstore.OmapRemove), func(op *objstore.Op) { op.Keys = []string{"a/1", "nope"} })},
		{name: "omap after rm", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Prefix, op.Max = "a/", 10 }),
			check: vals(map[string]string{"a/2": "y"}, false)},
		{name: "omap max 0", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Max = 0 }), errno: e(syscall.EINVAL)},
		{name: "omap set creates", op: objstore.Op{Kind: objstore.OmapSet, Pool: pool, OID: "omaponly", Vals: map[string][]byte{"k": b("v")}}},
		{name: "the omap object exists", op: objstore.Op{Kind: objstore.Stat, Pool: pool, OID: "omaponly"}, check: size(0)},
		{name: "its data is empty", op: objstore.Op{Kind: objstore.Read, Pool: pool, OID: "omaponly"}, check: data("")},

		{name: "xattr missing", op: with(o(objstore.XattrGet), func(op *objstore.Op) { op.Name = "a" }), errno: e(syscall.ENODATA)},
		{name: "xattr set", op: with(o(objstore.XattrSet), func(op *objstore.Op) { op.Name, op.Data = "a", b("1") })},
		{name: "xattr set another", op: with(o(objstore.XattrSet), func(op *objstore.Op) { op.Name, op.Data = "b", b("22") })},
		{name: "xattr get", op: with(o(objstore.XattrGet), func(op *objstore.Op) { op.Name = "a" }), check: data("1")},
		{name: "xattr list", op: o(objstore.XattrList), check: vals(map[string]string{"a": "1", "b": "22"}, false)},
		{name: "xattr rm", op: with(o(objstore.XattrRemove), func(op *objstore.Op) { op.Name = "a" })},
		{name: "xattr list after rm", op: o(objstore.XattrList), check: vals(map[string]string{"b": "22"}, false)},
		{name: "xattr set creates", op: objstore.Op{Kind: objstore.XattrSet, Pool: pool, OID: "xonly", Name: "n", Data: b("v")}},
		{name: "the xattr object exists", op: objstore.Op{Kind: objstore.Stat, Pool: pool, OID: "xonly"}, check: size(0)},

		{name: "exec hello", op: with(o(objstore.Exec), func(op *objstore.Op) { op.Class, op.Method = "hello", "say_hello" }), check: data("Hello, world!")},
		{name: "exec hello with input", op: with(o(objstore.Exec), func(op *objstore.Op) { op.Class, op.Method, op.Data = "hello", "say_hello", b("Bob") }), check: data("Hello, Bob!")},
		{name: "exec hello too long", op: with(o(objstore.Exec), func(op *objstore.Op) {
			op.Class, op.Method, op.Data = "hello", "say_hello", bytes.Repeat(b("x"), 101)
		}), errno: e(syscall.EINVAL)},
		{name: "exec a class the OSDs do not load", op: with(o(objstore.Exec), func(op *objstore.Op) { op.Class, op.Method = "gomgr_nosuch", "m" }), errno: e(syscall.EPERM)},
		{name: "exec an unknown method", op: with(o(objstore.Exec), func(op *objstore.Op) { op.Class, op.Method = "hello", "gomgr_nosuch" }), errno: e(syscall.EOPNOTSUPP)},

		{name: "remove", op: o(objstore.Remove)},
		{name: "read removed", op: o(objstore.Read), errno: e(syscall.ENOENT)},
		{name: "its xattrs are gone", op: with(o(objstore.XattrSet), func(op *objstore.Op) { op.Name, op.Data = "z", b("") })},
		{name: "xattrs of the new object", op: o(objstore.XattrList), check: vals(map[string]string{"z": ""}, false)},
		{name: "and its omap", op: with(o(objstore.OmapGet), func(op *objstore.Op) { op.Max = 10 }), check: vals(map[string]string{}, false)},

		{name: "no object name", op: objstore.Op{Kind: objstore.Read, Pool: pool}, errno: e(syscall.EINVAL)},
		{name: "an object name too long", op: objstore.Op{Kind: objstore.Read, Pool: pool, OID: strings.Repeat("o", objstore.MaxNameLen+1)}, errno: e(syscall.ENAMETOOLONG)},
		{name: "a write too large", op: with(o(objstore.Write), func(op *objstore.Op) { op.Offset, op.Data = objstore.MaxObjectSize, b("x") }), errno: e(syscall.EFBIG)},
		{name: "an unknown operation", op: objstore.Op{Kind: "frobnicate", Pool: pool}, errno: e(syscall.EINVAL)},
	}
}

// Run runs the table against s with a new pool called pool, with
// objstore.Do as the module API calls it.
func Run(t *testing.T, s objstore.Store, pool string) {
	t.Helper()
	for _, st := range steps(pool) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := objstore.Do(ctx, s, st.op)
		cancel()
		if got := objectformat.ErrnoOf(err); err == nil && st.errno != 0 || err != nil && got != st.errno {
			t.Errorf("%s: error %v (errno %d), want errno %d", st.name, err, objectformat.ErrnoOf(err), st.errno)
			continue
		}
		if err == nil && st.check != nil {
			if cerr := st.check(res); cerr != nil {
				t.Errorf("%s: %v", st.name, cerr)
			}
		}
	}
}
