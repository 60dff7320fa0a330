package embedded

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gomgr/gomgr/internal/objstore"
	"github.com/gomgr/gomgr/internal/objstore/objstoretest"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

func TestObjectsConformance(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	objstoretest.Run(t, b.Objects(), "conformance")
}

func do(t *testing.T, s objstore.Store, op objstore.Op) objstore.Result {
	t.Helper()
	res, err := objstore.Do(context.Background(), s, op)
	require.NoError(t, err, "%s", op.Kind)
	return res
}

// A model of the object's bytes, against writes across chunk boundaries,
// holes and truncation.
func TestObjectsChunks(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	s := b.Objects()
	do(t, s, objstore.Op{Kind: objstore.CreatePool, Pool: "p"})
	rng := rand.New(rand.NewPCG(1, 2))
	var model []byte
	for i := range 60 {
		n := rng.IntN(3 * objChunk)
		chunk := make([]byte, n)
		for j := range chunk {
			chunk[j] = byte(rng.IntN(256))
		}
		switch i % 3 {
		case 0: // write at a random offset, maybe past the end
			off := rng.IntN(4 * objChunk)
			do(t, s, objstore.Op{Kind: objstore.Write, Pool: "p", OID: "o", Offset: uint64(off), Data: chunk})
			if len(model) < off+n {
				model = append(model, make([]byte, off+n-len(model))...)
			}
			copy(model[off:], chunk)
		case 1:
			do(t, s, objstore.Op{Kind: objstore.Append, Pool: "p", OID: "o", Data: chunk})
			model = append(model, chunk...)
		case 2:
			if rng.IntN(3) == 0 {
				do(t, s, objstore.Op{Kind: objstore.WriteFull, Pool: "p", OID: "o", Data: chunk})
				model = bytes.Clone(chunk)
			}
		}
		require.Equal(t, uint64(len(model)), do(t, s, objstore.Op{Kind: objstore.Stat, Pool: "p", OID: "o"}).Size)
		got := do(t, s, objstore.Op{Kind: objstore.Read, Pool: "p", OID: "o"}).Data
		require.True(t, bytes.Equal(model, got), "step %d: %d bytes read, %d expected", i, len(got), len(model))
		off, ln := uint64(rng.IntN(len(model)+1)), uint64(rng.IntN(2*objChunk)+1)
		got = do(t, s, objstore.Op{Kind: objstore.Read, Pool: "p", OID: "o", Offset: off, Length: ln}).Data
		require.True(t, bytes.Equal(model[off:min(off+ln, uint64(len(model)))], got), "step %d: range read", i)
	}
	st := do(t, s, objstore.Op{Kind: objstore.PoolStat, Pool: "p"}).Stats
	require.Equal(t, objstore.PoolStats{Objects: 1, Bytes: uint64(len(model)), KB: (uint64(len(model)) + 1023) / 1024}, st)
}

func TestObjectsDurableAndChecked(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	s := b.Objects()
	do(t, s, objstore.Op{Kind: objstore.CreatePool, Pool: "p"})
	do(t, s, objstore.Op{Kind: objstore.WriteFull, Pool: "p", Namespace: "n", OID: "o", Data: []byte("kept")})
	do(t, s, objstore.Op{Kind: objstore.OmapSet, Pool: "p", Namespace: "n", OID: "o", Vals: map[string][]byte{"k": []byte("v")}})
	require.NoError(t, b.Close())

	var out bytes.Buffer
	require.NoError(t, Check(dir, &out), "%s", out.String())
	require.Contains(t, out.String(), "rados: 1 pools, 1 objects")

	b, err = Open(dir, Options{})
	require.NoError(t, err)
	s = b.Objects()
	require.Equal(t, "kept", string(do(t, s, objstore.Op{Kind: objstore.Read, Pool: "p", Namespace: "n", OID: "o"}).Data), "durable across reopen")
	require.Equal(t, []objstore.Pool{{Name: "p", ID: 1}}, do(t, s, objstore.Op{Kind: objstore.ListPools}).Pools)

	// Damage the data chunk and the omap value in place: both are refused
	// with -EIO, not served.
	require.NoError(t, b.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketRados).Bucket(poolBucket(1)).Bucket(objKey("n", "o"))
		raw := bytes.Clone(ob.Bucket(partData).Get(chunkIndex(0)))
		raw[len(raw)-1] ^= 1
		if err := ob.Bucket(partData).Put(chunkIndex(0), raw); err != nil {
			return err
		}
		raw = bytes.Clone(ob.Bucket(partOmap).Get([]byte("k")))
		raw[len(raw)-1] ^= 1
		return ob.Bucket(partOmap).Put([]byte("k"), raw)
	}))
	for _, op := range []objstore.Op{
		{Kind: objstore.Read, Pool: "p", Namespace: "n", OID: "o"},
		{Kind: objstore.OmapGetByKeys, Pool: "p", Namespace: "n", OID: "o", Keys: []string{"k"}},
		{Kind: objstore.OmapGet, Pool: "p", Namespace: "n", OID: "o", Max: 5},
	} {
		_, err := objstore.Do(context.Background(), s, op)
		require.Equal(t, -int(syscall.EIO), objectformat.ErrnoOf(err), "%s: %v", op.Kind, err)
		require.ErrorContains(t, err, "checksum")
	}
	// Rewriting the damaged data whole replaces it.
	do(t, s, objstore.Op{Kind: objstore.WriteFull, Pool: "p", Namespace: "n", OID: "o", Data: []byte("new")})
	require.Equal(t, "new", string(do(t, s, objstore.Op{Kind: objstore.Read, Pool: "p", Namespace: "n", OID: "o"}).Data))
	require.NoError(t, b.Close())

	out.Reset()
	require.Error(t, Check(dir, &out))
	require.Contains(t, out.String(), "omap key 'k'")

	// An object whose metadata is damaged is refused, and can be removed.
	b, err = Open(dir, Options{})
	require.NoError(t, err)
	defer b.Close()
	s = b.Objects()
	require.NoError(t, b.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketRados).Bucket(poolBucket(1)).Bucket(objKey("n", "o"))
		raw := bytes.Clone(ob.Get(partMeta))
		raw[len(raw)-1] ^= 1
		return ob.Put(partMeta, raw)
	}))
	_, err = objstore.Do(context.Background(), s, objstore.Op{Kind: objstore.Stat, Pool: "p", Namespace: "n", OID: "o"})
	require.Equal(t, -int(syscall.EIO), objectformat.ErrnoOf(err), "%v", err)
	do(t, s, objstore.Op{Kind: objstore.Remove, Pool: "p", Namespace: "n", OID: "o"})
	_, err = objstore.Do(context.Background(), s, objstore.Op{Kind: objstore.Stat, Pool: "p", Namespace: "n", OID: "o"})
	require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
}

func TestObjectsConcurrent(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	s := b.Objects()
	do(t, s, objstore.Op{Kind: objstore.CreatePool, Pool: "p"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				_, err := objstore.Do(context.Background(), s, objstore.Op{Kind: objstore.Append, Pool: "p", OID: "log", Data: []byte{byte('a' + i)}})
				if err != nil {
					t.Error(err)
				}
				_, err = objstore.Do(context.Background(), s, objstore.Op{Kind: objstore.OmapSet, Pool: "p", OID: "log", Vals: map[string][]byte{string(rune('a'+i)) + string(rune('a'+j)): nil}})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, uint64(160), do(t, s, objstore.Op{Kind: objstore.Stat, Pool: "p", OID: "log"}).Size)
	res := do(t, s, objstore.Op{Kind: objstore.OmapGet, Pool: "p", OID: "log", Max: 1000})
	require.Len(t, res.Vals, 160)
}
