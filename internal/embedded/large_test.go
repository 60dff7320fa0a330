package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

// randomValue is n pseudo-random bytes, the same for the same seed.
func randomValue(n int, seed uint64) string {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return string(b)
}

// requireSame compares long values without printing them.
func requireSame(t *testing.T, want, got, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: length", what)
	require.True(t, want == got, "%s: the bytes differ", what)
}

// inBolt runs fn in a write transaction on the closed store in dir,
// bypassing the store (to damage it, or to look at its raw entries).
func inBolt(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, DBName), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(fn))
}

// rawLayout returns, for the closed store in dir, the first byte of each
// config-key entry and the number of chunks stored.
func rawLayout(t *testing.T, dir string) (kinds map[string]byte, chunks int) {
	t.Helper()
	kinds = map[string]byte{}
	inBolt(t, dir, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketConfig, bucketKV} {
			_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
				kinds[string(name)+"/"+string(k)] = v[0]
				return nil
			})
		}
		if c := tx.Bucket(bucketChunks); c != nil {
			return c.ForEachBucket(func(name []byte) error {
				chunks += c.Bucket(name).Stats().KeyN
				return nil
			})
		}
		return nil
	})
	return kinds, chunks
}

// TestLargeValues: values longer than inlineMax are stored in chunks, read
// back identical after reopening, and overwriting or deleting one leaves
// no chunk of the old value behind.
func TestLargeValues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	want := map[string]string{
		"big":    randomValue(3*chunkSize+12345, 1), // 4 chunks
		"edge":   randomValue(inlineMax, 2),         // inline
		"edge+1": randomValue(inlineMax+1, 3),       // 1 chunk
	}
	for k, v := range want {
		require.NoError(t, b.KV().Set(ctx, k, v))
	}
	opt := randomValue(2*chunkSize, 4) // 2 chunks
	require.NoError(t, b.Config().Set(ctx, "mgr/x/big", opt))
	reopen := func() {
		t.Helper()
		require.NoError(t, b.Close())
		b, err = Open(dir, Options{})
		require.NoError(t, err)
		require.Empty(t, b.HealthChecks())
	}
	check := func(chunks int) {
		t.Helper()
		reopen()
		for k, v := range want {
			got, ok := b.KV().Get(k)
			require.True(t, ok, k)
			requireSame(t, v, got, k)
		}
		require.Len(t, b.KV().List(""), len(want))
		got, _ := b.Config().Get("mgr/x/big")
		requireSame(t, opt, got, "the config value")
		require.NoError(t, b.Close())
		kinds, n := rawLayout(t, dir)
		for k, v := range want {
			if len(v) > inlineMax {
				require.Equal(t, byte(chunkedVersion), kinds["config-key/"+k], "%s is stored out of line", k)
			} else {
				require.Equal(t, byte(sealVersion), kinds["config-key/"+k], "%s is stored inline", k)
			}
		}
		require.Equal(t, chunks, n, "chunks stored: those of the current values, no others")
		var out strings.Builder
		require.NoError(t, Check(dir, &out), "%s", &out)
		b, err = Open(dir, Options{})
		require.NoError(t, err)
	}
	check(4 + 1 + 2)

	var out strings.Builder
	require.NoError(t, b.Close())
	require.NoError(t, Check(dir, &out))
	require.Contains(t, out.String(), "config-key: 3 values (2 of more than 256 KiB, stored in chunks)")
	require.Contains(t, out.String(), "config: 1 values (1 of more than 256 KiB, stored in chunks)")
	b, err = Open(dir, Options{})
	require.NoError(t, err)

	want["big"] = randomValue(chunkSize+1, 5) // shorter: 2 chunks
	require.NoError(t, b.KV().Set(ctx, "big", want["big"]))
	check(2 + 1 + 2)

	want["big"] = "small now"
	require.NoError(t, b.KV().Set(ctx, "big", want["big"]))
	check(1 + 2)

	require.NoError(t, b.KV().Set(ctx, "big", randomValue(2*chunkSize, 6)))
	require.NoError(t, b.KV().Delete(ctx, "big"))
	delete(want, "big")
	_, ok := b.KV().Get("big")
	require.False(t, ok)
	check(1 + 2)

	require.NoError(t, b.KV().Delete(ctx, "edge+1"))
	require.NoError(t, b.Config().Delete(ctx, "mgr/x/big"))
	delete(want, "edge+1")
	opt = ""
	require.NoError(t, b.Config().Set(ctx, "mgr/x/big", opt))
	check(0)
	require.NoError(t, b.Close())
}

// TestLargeSetAllocations: writing a long value into a store that holds
// others allocates about the value's size (bbolt's page buffers), not a
// copy of it and of its neighbours (which a value inline in a leaf with
// others costs, every write: bbolt rewrites whole leaves), nor a copy of
// everything the transaction holds each time the file outgrows bbolt's
// mapping.
func TestLargeSetAllocations(t *testing.T) {
	const size = 16 << 20
	ctx := context.Background()
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	src := randomValue(size+8, 1)
	var before, after runtime.MemStats
	for i := range 6 {
		v := src[i : i+size] // distinct values, sharing one buffer
		runtime.ReadMemStats(&before)
		require.NoError(t, b.KV().Set(ctx, string(rune('a'+i)), v))
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("set %d of %d bytes allocated %d bytes (%.2fx)", i+1, size, alloc, float64(alloc)/size)
		require.Less(t, alloc, uint64(size*3/2), "set %d of a %d-byte value into a store holding %d such values allocated %d bytes", i+1, size, i, alloc)
	}
}

// damagedLarge writes a store holding two long values, "a" (4 chunks,
// chunk id 1) and "b" (2 chunks, id 2), and a short one, and closes it.
func damagedLarge(t *testing.T, dir string) (a, bv string) {
	t.Helper()
	ctx := context.Background()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	a, bv = randomValue(3*chunkSize+100, 1), randomValue(2*chunkSize, 2)
	require.NoError(t, b.KV().Set(ctx, "a", a))
	require.NoError(t, b.KV().Set(ctx, "b", bv))
	require.NoError(t, b.KV().Set(ctx, "s", "short"))
	require.NoError(t, b.Close())
	return a, bv
}

// TestDamagedChunks: a long value whose chunk or header is damaged is
// withheld and reported exactly as a damaged inline value is. Setting or
// removing the key leaves the damaged value's chunks (they might be
// another value's); Check reports chunks no value names, and the next
// open removes them.
func TestDamagedChunks(t *testing.T) {
	ctx := context.Background()
	set := func(tx *bolt.Tx, id uint64) *bolt.Bucket { return tx.Bucket(bucketChunks).Bucket(chunkSetName(id)) }
	idx := func(i uint32) []byte { return binary.BigEndian.AppendUint32(nil, i) }
	const aLen = 3*chunkSize + 100
	for _, tc := range []struct {
		name string
		// damage changes the closed store in dir.
		damage func(t *testing.T, dir, a, b string)
		// corrupt: the key found damaged, and why (empty: none).
		corrupt, why string
		// orphans: Check's report of orphan chunks, before the store is
		// opened, and after the corrupt key is set (or removed, with rm).
		orphans, orphansAfter string
		rm                    bool
	}{
		{
			name: "flipped byte in a chunk",
			damage: func(t *testing.T, dir, a, _ string) {
				path := filepath.Join(dir, DBName)
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				flipAll(t, data, a[2*chunkSize+1000:2*chunkSize+1064])
				require.NoError(t, os.WriteFile(path, data, 0o600))
			},
			corrupt: "a", why: "chunk 2 of 4 (id 1) fails its checksum (stored ",
			orphansAfter: fmt.Sprintf("4 chunks (%d bytes)", aLen),
		},
		{
			name: "chunk missing",
			damage: func(t *testing.T, dir, _, _ string) {
				inBolt(t, dir, func(tx *bolt.Tx) error { return set(tx, 1).Delete(idx(3)) })
			},
			corrupt: "a", why: "chunk 3 of 4 (id 1) is missing",
			orphansAfter: fmt.Sprintf("3 chunks (%d bytes)", 3*chunkSize), rm: true,
		},
		{
			name: "chunk truncated",
			damage: func(t *testing.T, dir, a, _ string) {
				inBolt(t, dir, func(tx *bolt.Tx) error {
					return set(tx, 1).Put(idx(1), []byte(a[chunkSize:chunkSize+1000]))
				})
			},
			corrupt: "a", why: "chunk 1 of 4 (id 1) holds 1000 bytes, want 1048576",
			orphansAfter: fmt.Sprintf("4 chunks (%d bytes)", aLen-chunkSize+1000),
		},
		{
			name: "damaged header",
			damage: func(t *testing.T, dir, _, _ string) {
				inBolt(t, dir, func(tx *bolt.Tx) error {
					raw := append([]byte(nil), tx.Bucket(bucketKV).Get([]byte("a"))...)
					raw[chunkedLen+1] ^= 0x10
					return tx.Bucket(bucketKV).Put([]byte("a"), raw)
				})
			},
			corrupt: "a", why: "out-of-line value header checksum mismatch",
			orphansAfter: fmt.Sprintf("4 chunks (%d bytes)", aLen), rm: true,
		},
		{
			name: "damaged header naming another value's chunks",
			damage: func(t *testing.T, dir, _, _ string) {
				inBolt(t, dir, func(tx *bolt.Tx) error {
					raw := append([]byte(nil), tx.Bucket(bucketKV).Get([]byte("a"))...)
					raw[12] = 2 // the chunk id: 1 -> 2, b's
					return tx.Bucket(bucketKV).Put([]byte("a"), raw)
				})
			},
			corrupt: "a", why: "out-of-line value header checksum mismatch",
			// a's chunks are named by nothing now (the open removes them);
			// b's are not removed when a is set.
			orphans: fmt.Sprintf("4 chunks (%d bytes)", aLen),
		},
		{
			name: "orphan chunks",
			damage: func(t *testing.T, dir, _, _ string) {
				inBolt(t, dir, func(tx *bolt.Tx) error {
					stray, err := tx.Bucket(bucketChunks).CreateBucket(chunkSetName(99))
					if err != nil {
						return err
					}
					if err := stray.Put(idx(0), []byte("0123456789")); err != nil {
						return err
					}
					if err := set(tx, 2).Put(idx(2), []byte("x")); err != nil { // past b's 2 chunks
						return err
					}
					return tx.Bucket(bucketChunks).Put([]byte("junk"), []byte("ab"))
				})
			},
			orphans: "3 chunks (13 bytes)",
		},
		{
			name: "two values name the same chunks",
			damage: func(t *testing.T, dir, _, b string) {
				inBolt(t, dir, func(tx *bolt.Tx) error {
					return tx.Bucket(bucketKV).Put([]byte("c"), chunkedHeader([]byte("c"), 2, []byte(b)))
				})
			},
			corrupt: "c", why: "its chunks (id 2) are named by another value too",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, bv := damagedLarge(t, dir)
			tc.damage(t, dir, a, bv)
			reportsOrphans := func(out, orphans string) {
				t.Helper()
				if orphans != "" {
					require.Contains(t, out, "PROBLEM: "+orphans+" belong to no value")
				} else {
					require.NotContains(t, out, "belong to no value", "a damaged value's chunks stay with it")
				}
			}
			var out strings.Builder
			require.Error(t, Check(dir, &out), "every damaged store fails the check:\n%s", &out)
			if tc.corrupt != "" {
				require.Contains(t, out.String(), "PROBLEM: config-key '"+tc.corrupt+"': "+tc.why)
			}
			reportsOrphans(out.String(), tc.orphans)

			b, err := Open(dir, Options{})
			require.NoError(t, err)
			served := map[string]string{"a": a, "b": bv, "s": "short"}
			if tc.corrupt != "" {
				_, ok := b.KV().Get(tc.corrupt)
				require.False(t, ok, "a damaged value is not served")
				require.NotContains(t, b.KV().List(""), tc.corrupt)
				err := backend.StoreCorrupt(b.KV(), tc.corrupt)
				require.ErrorIs(t, err, syscall.EIO)
				require.ErrorContains(t, err, "config-key '"+tc.corrupt+"': the stored value fails its checksum ("+tc.why)
				res := b.Cluster().Command(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "config-key get", "key": tc.corrupt}, nil)
				require.Equal(t, -int(syscall.EIO), res.Retval, res.Stderr)
				h := b.HealthChecks()[HealthCode]
				require.Equal(t, "the stored value of config-key '"+tc.corrupt+"' fails its checksum", h.Summary)
				delete(served, tc.corrupt)
				if tc.rm {
					require.NoError(t, b.KV().Delete(ctx, tc.corrupt))
				} else {
					served[tc.corrupt] = randomValue(chunkSize+5, 9)
					require.NoError(t, b.KV().Set(ctx, tc.corrupt, served[tc.corrupt]), "setting the key replaces the damaged value")
				}
				require.NoError(t, backend.StoreCorrupt(b.KV(), tc.corrupt))
			}
			require.Empty(t, b.HealthChecks())
			require.NoError(t, b.Close())
			out.Reset()
			err = Check(dir, &out)
			reportsOrphans(out.String(), tc.orphansAfter)
			if tc.orphansAfter == "" {
				require.NoError(t, err, "%s", &out)
			} else {
				require.Error(t, err, "%s", &out)
			}

			// The next open removes the orphans, and only them.
			b, err = Open(dir, Options{})
			require.NoError(t, err)
			require.Empty(t, b.HealthChecks())
			require.Len(t, b.KV().List(""), len(served))
			for k, v := range served {
				got, ok := b.KV().Get(k)
				require.True(t, ok, "%s is served", k)
				requireSame(t, v, got, k)
			}
			require.NoError(t, b.Close())
			out.Reset()
			require.NoError(t, Check(dir, &out), "%s", &out)
		})
	}
}

// TestChunksBucketShape: a chunks bucket in a format-0 store, or a bucket
// inside a chunk set, is not something gomgr writes.
func TestChunksBucketShape(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"format 0 with chunks", func(t *testing.T, dir string) {
			writeLegacy(t, filepath.Join(dir, DBName), map[string]string{"fsid": "x"}, nil)
			inBolt(t, dir, func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucketChunks); return err })
		}, `it has format 0 and a bucket "chunks", which only format 1 has`},
		{"bucket in a chunk set", func(t *testing.T, dir string) {
			damagedLarge(t, dir)
			inBolt(t, dir, func(tx *bolt.Tx) error {
				_, err := tx.Bucket(bucketChunks).Bucket(chunkSetName(2)).CreateBucket([]byte("x"))
				return err
			})
		}, `bucket "chunks" holds a bucket "x" inside "\x00\x00\x00\x00\x00\x00\x00\x02", which gomgr never writes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, err := Open(dir, Options{})
			require.ErrorContains(t, err, tc.want)
			require.Error(t, Check(dir, io.Discard))
		})
	}
}
