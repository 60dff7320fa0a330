package radosproc

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/internal/objstore/objstoretest"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// objConn is a fakeConn whose object store is an embedded one, so the
// conformance table runs through the helper's protocol.
type objConn struct {
	*fakeConn
	s objstore.Store
}

func (c objConn) ObjectOp(op objstore.Op) (objstore.Result, error) {
	return c.s.Objects(context.Background(), op)
}

func (c objConn) Addrs() (string, error) { return "v2:127.0.0.1:0/1234", nil }

func TestObjectsThroughTheHelper(t *testing.T) {
	b, err := embedded.Open(t.TempDir(), embedded.Options{})
	require.NoError(t, err)
	defer b.Close()
	c, _, err := pipeConnWith(t, objConn{&fakeConn{objects: map[string][]byte{}}, b.Objects()})
	require.NoError(t, err)
	objstoretest.Run(t, cephconn.Objects(c), "viahelper")

	addrs, err := c.Addrs()
	require.NoError(t, err)
	require.Equal(t, "v2:127.0.0.1:0/1234", addrs)
}

func TestObjectsWithoutAnObjectStore(t *testing.T) {
	c, _, err := pipeConn(t, &fakeConn{objects: map[string][]byte{}}, nil)
	require.NoError(t, err)
	_, err = c.ObjectOp(objstore.Op{Kind: objstore.Stat, Pool: "p", OID: "o"})
	require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err))
	_, err = c.Addrs()
	require.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err))
	// The helper checks what it is sent: a request the client would
	// never send is refused, not passed to librados.
	rep := call(&fakeConn{}, request{Op: "obj"})
	require.Equal(t, -int(syscall.EINVAL), rep.Errno)
	rep = call(objConn{&fakeConn{}, nil}, request{Op: "obj", Obj: &objstore.Op{Kind: objstore.Write, Pool: "p", OID: "o", Offset: objstore.MaxObjectSize, Data: []byte("x")}})
	require.Equal(t, -int(syscall.EFBIG), rep.Errno)
}

// panicConn panics in ObjectOp, as a go-ceph bug would.
type panicConn struct{ *fakeConn }

func (panicConn) ObjectOp(objstore.Op) (objstore.Result, error) { panic("boom") }

func TestObjectPanicFailsOneRequest(t *testing.T) {
	rep := call(panicConn{&fakeConn{}}, request{ID: 3, Op: "obj", Obj: &objstore.Op{Kind: objstore.Stat, Pool: "p", OID: "o"}})
	require.Equal(t, uint64(3), rep.ID)
	require.Equal(t, -int(syscall.EIO), rep.Errno)
	require.Contains(t, rep.Err, "boom")
}

// FuzzObjRequest feeds the helper's parser and the obj operation any
// frame: it must answer (or refuse) without panicking, and a frame that
// does not decode must be an error, not a request.
func FuzzObjRequest(f *testing.F) {
	for _, op := range []objstore.Op{
		{Kind: objstore.Read, Pool: "p", OID: "o", Offset: 1, Length: 2},
		{Kind: objstore.OmapSet, Pool: "p", Namespace: "n", OID: "o", Vals: map[string][]byte{"k": []byte("v")}},
		{Kind: objstore.OmapGet, Pool: "p", OID: "o", StartAfter: "a", Prefix: "b", Max: 3},
		{Kind: objstore.List, Pool: "p", Namespace: objstore.AllNamespaces},
		{Kind: objstore.Exec, Pool: "p", OID: "o", Class: "hello", Method: "say_hello", Data: []byte("x")},
	} {
		js, _ := json.Marshal(request{ID: 1, Op: "obj", Obj: &op})
		f.Add(frame(js))
	}
	f.Add(frame([]byte(`{"id":1,"op":"obj","obj":{"kind":"write","pool":"p","oid":"o","off":18446744073709551615,"data":"eA=="}}`)))
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	b, err := embedded.Open(f.TempDir(), embedded.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	s := b.Objects()
	if _, err := s.Objects(context.Background(), objstore.Op{Kind: objstore.CreatePool, Pool: "p"}); err != nil {
		f.Fatal(err)
	}
	conn := objConn{&fakeConn{objects: map[string][]byte{}}, s}
	f.Fuzz(func(t *testing.T, in []byte) {
		var req request
		if err := readFrame(bytes.NewReader(in), &req); err != nil {
			return
		}
		rep := call(conn, req)
		if rep.ID != req.ID {
			t.Fatalf("reply id %d for request %d", rep.ID, req.ID)
		}
		if req.Op == "obj" && req.Obj != nil && objstore.Check(*req.Obj) != nil && rep.Errno == 0 {
			t.Fatalf("an invalid operation %+v succeeded", *req.Obj)
		}
	})
}

func frame(js []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(js))), js...)
}
