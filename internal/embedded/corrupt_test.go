package embedded

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

const (
	nFill  = 300
	secret = "THE-SECRET-VALUE"
)

func fillKey(i int) string   { return fmt.Sprintf("mgr/t/k%03d", i) }
func fillValue(i int) string { return strings.Repeat(fmt.Sprintf("v%03d-", i), 20) }

// fill writes a store big enough for branch pages (the bulk in one
// transaction, to keep the test fast), then a few single writes, and
// returns the database file's bytes.
func fill(t testing.TB, dir string) []byte { return fillN(t, dir, nFill) }

func fillN(t testing.TB, dir string, n int) []byte {
	t.Helper()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	require.NoError(t, b.update(func(tx *bolt.Tx) error {
		for i := range n {
			k := []byte(fillKey(i))
			if err := tx.Bucket(bucketKV).Put(k, seal(k, fillValue(i))); err != nil {
				return err
			}
		}
		return nil
	}))
	ctx := context.Background()
	require.NoError(t, b.Config().Set(ctx, "mgr/t/opt", "value"))
	require.NoError(t, b.KV().Set(ctx, "target", secret))
	require.NoError(t, b.KV().Set(ctx, "last", "x"))
	require.NoError(t, b.Close())
	return usedPages(t, dir)
}

// usedPages returns the pages in use of the database file in dir (bbolt
// grows the file ahead of its needs): what tests damage or fuzz.
func usedPages(t testing.TB, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, DBName))
	require.NoError(t, err)
	ps, _ := pagesOf(data)
	return data[:int64(newest(data, ps).pgid)*ps]
}

// page is a page header found in a database file.
type page struct {
	id           int64
	flags, count uint16
}

// pagesOf parses a database file's page headers; ps is its page size.
func pagesOf(data []byte) (ps int64, pages []page) {
	ps = int64(ne.Uint32(data[pageHeaderLen+8:]))
	for id := int64(2); (id+1)*ps <= int64(len(data)); {
		off := id * ps
		if int64(ne.Uint64(data[off:])) != id {
			id++
			continue
		}
		pages = append(pages, page{id, ne.Uint16(data[off+8:]), ne.Uint16(data[off+10:])})
		id += int64(ne.Uint32(data[off+12:])) + 1
	}
	return ps, pages
}

// kvRoot returns the offset of the config-key bucket's root page (a
// branch page once fill has run).
func kvRoot(t *testing.T, data []byte) int64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.db")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	var root int64
	require.NoError(t, db.View(func(tx *bolt.Tx) error { root = int64(tx.Bucket(bucketKV).Root()); return nil }))
	ps, _ := pagesOf(data)
	require.Equal(t, uint16(branchPage), ne.Uint16(data[root*ps+8:]))
	return root * ps
}

// leafOf returns the offset of the leaf page holding the first copy of
// fill's key i (written once, so the copy is live).
func leafOf(t *testing.T, data []byte, i int) int64 {
	t.Helper()
	ps, _ := pagesOf(data)
	off := int64(bytes.Index(data, []byte(fillKey(i))))
	require.Positive(t, off)
	off = off / ps * ps
	require.Equal(t, uint16(leafPage), ne.Uint16(data[off+8:]))
	return off
}

func newest(data []byte, ps int64) meta {
	m0, m1 := decodeMeta(data[:ps]), decodeMeta(data[ps:2*ps])
	if m1.err == "" && (m0.err != "" || m1.txid > m0.txid) {
		return m1
	}
	return m0
}

func put32(b []byte, off int64, v uint32) { ne.PutUint32(b[off:], v) }
func put64(b []byte, off int64, v uint64) { ne.PutUint64(b[off:], v) }

// flipAll flips a bit in every copy of s in data (old copies stay in
// freed pages).
func flipAll(t *testing.T, data []byte, s string) {
	t.Helper()
	n := 0
	for i := 0; ; n++ {
		j := bytes.Index(data[i:], []byte(s))
		if j < 0 {
			break
		}
		data[i+j+len(s)/2] ^= 0x04
		i += j + len(s)
	}
	require.NotZero(t, n, "%q not in the file", s)
}

// TestDamagedFiles damages real database files and checks that Open never
// panics, refuses what it cannot use with an error saying what is wrong
// and how to start over on purpose, leaves the file as it was, and serves
// what it can use without serving a value that fails its checksum.
func TestDamagedFiles(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, data []byte) []byte
		// refused: Open fails with an error containing all of these.
		refused []string
		// otherwise the store opens, and check inspects it.
		check func(t *testing.T, b *Backend)
		// checkOut: ceph-mgr --check-store's output contains these.
		checkOut []string
	}{
		{
			name:     "empty file",
			damage:   func(*testing.T, []byte) []byte { return nil },
			refused:  []string{"is empty (0 bytes)", "to start a new, empty store on purpose, move the file aside (mv "},
			checkOut: []string{"checking "},
		},
		{
			name:    "truncated to 100 bytes",
			damage:  func(_ *testing.T, d []byte) []byte { return d[:100] },
			refused: []string{"is damaged: the file is 100 bytes, too short for a bbolt database", "--check-store --data", "mv "},
		},
		{
			name: "truncated to half",
			damage: func(_ *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				return d[:int64(len(d))/2/ps*ps]
			},
			refused: []string{"is damaged: the file is truncated"},
		},
		{
			name:    "not a bbolt file",
			damage:  func(*testing.T, []byte) []byte { return bytes.Repeat([]byte("not a database\n"), 4096) },
			refused: []string{"both bbolt meta pages are invalid", "mv "},
		},
		{
			name: "both meta pages damaged",
			damage: func(_ *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				d[pageHeaderLen] ^= 0xff
				d[ps+pageHeaderLen+50] ^= 0xff
				return d
			},
			refused: []string{"meta pages are invalid"},
		},
		{
			name: "newest meta page damaged",
			damage: func(_ *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				m0, m1 := decodeMeta(d[:ps]), decodeMeta(d[ps:2*ps])
				off := int64(0)
				if m1.txid > m0.txid {
					off = ps
				}
				d[off+pageHeaderLen+50] ^= 0x01 // in txid: the checksum fails
				return d
			},
			check: func(t *testing.T, b *Backend) {
				v, ok := b.KV().Get("target")
				require.True(t, ok, "bbolt falls back to the other meta page")
				require.Equal(t, secret, v)
				h := b.HealthChecks()[HealthCode]
				require.Equal(t, module.SeverityWarning, h.Severity)
				require.Contains(t, h.Summary, "meta page")
				require.Contains(t, strings.Join(h.Detail, "\n"), "checksum mismatch")
			},
			checkOut: []string{"PROBLEM: bbolt meta page", "checksum mismatch"},
		},
		{
			name: "branch element points past the file",
			damage: func(t *testing.T, d []byte) []byte {
				put64(d, kvRoot(t, d)+pageHeaderLen+8, 1<<40)
				return d
			},
			refused:  []string{`is damaged: bucket "config-key" refers to page 1099511627776, outside the pages in use`, "--check-store"},
			checkOut: []string{"checking "},
		},
		{
			name: "branch element points at the meta page",
			damage: func(t *testing.T, d []byte) []byte {
				put64(d, kvRoot(t, d)+pageHeaderLen+elementLen+8, 1)
				return d
			},
			refused: []string{"refers to page 1, outside the pages in use"},
		},
		{
			name: "branch element key outside its page",
			damage: func(t *testing.T, d []byte) []byte {
				put32(d, kvRoot(t, d)+pageHeaderLen, 1<<30)
				return d
			},
			refused: []string{"element 0 lies outside the page"},
		},
		{
			name: "leaf page header names another page",
			damage: func(t *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				off := leafOf(t, d, 100)
				put64(d, off, uint64(off/ps)+7)
				return d
			},
			refused: []string{"says it is page"},
		},
		{
			name: "leaf page type flags",
			damage: func(t *testing.T, d []byte) []byte {
				d[leafOf(t, d, 100)+8] = 0x08
				return d
			},
			refused: []string{"type flags 0x8"},
		},
		{
			name: "leaf element value size past the page",
			damage: func(t *testing.T, d []byte) []byte {
				put32(d, leafOf(t, d, 100)+pageHeaderLen+12, 1<<31)
				return d
			},
			refused: []string{"element 0 lies outside the page"},
		},
		{
			name: "leaf element count past the page",
			damage: func(t *testing.T, d []byte) []byte {
				ne.PutUint16(d[leafOf(t, d, 100)+10:], 0xfff0)
				return d
			},
			refused: []string{"claims 65520 elements"},
		},
		{
			name: "freelist entry past the file",
			damage: func(t *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				m := newest(d, ps)
				require.NotEqual(t, noFreelist, m.freelist)
				off := int64(m.freelist) * ps
				require.NotZero(t, ne.Uint16(d[off+10:]), "the freelist has entries")
				put64(d, off+pageHeaderLen, 1<<50)
				return d
			},
			refused: []string{"the freelist page", "lists page 1125899906842624"},
		},
		{
			name: "freelist count past its page",
			damage: func(t *testing.T, d []byte) []byte {
				ps, _ := pagesOf(d)
				off := int64(newest(d, ps).freelist) * ps
				ne.PutUint16(d[off+10:], 0xffff)
				put64(d, off+pageHeaderLen, 1<<40)
				return d
			},
			refused: []string{"claims 1099511627777 entries"},
		},
		{
			name:   "flipped byte inside a value",
			damage: func(t *testing.T, d []byte) []byte { flipAll(t, d, secret); return d },
			check: func(t *testing.T, b *Backend) {
				_, ok := b.KV().Get("target")
				require.False(t, ok, "a value failing its checksum is not served")
				require.NotContains(t, b.KV().List(""), "target")
				err := backend.StoreCorrupt(b.KV(), "target")
				require.ErrorIs(t, err, syscall.EIO)
				require.ErrorContains(t, err, "config-key 'target': the stored value fails its checksum (checksum mismatch")
				require.NoError(t, backend.StoreCorrupt(b.KV(), "mgr/t/k001"))
				v, ok := b.KV().Get("mgr/t/k001")
				require.True(t, ok)
				require.Equal(t, fillValue(1), v, "the other values are served")
				h := b.HealthChecks()[HealthCode]
				require.Equal(t, module.SeverityWarning, h.Severity)
				require.Equal(t, "the stored value of config-key 'target' fails its checksum", h.Summary)
				require.Len(t, h.Detail, 1)

				// A monitor command that reads it (a module's mon_command)
				// answers -EIO too.
				res := b.Cluster().Command(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "config-key get", "key": "target"}, nil)
				require.Equal(t, -int(syscall.EIO), res.Retval, res.Stderr)

				// Setting the key replaces the damaged value.
				require.NoError(t, b.KV().Set(ctx, "target", "new"))
				require.NoError(t, backend.StoreCorrupt(b.KV(), "target"))
				require.Empty(t, b.HealthChecks())
			},
			checkOut: []string{"config-key: 302 values, 1 failing their checksum", "PROBLEM: config-key 'target': checksum mismatch"},
		},
		{
			name: "flipped byte inside a key, out of order",
			damage: func(t *testing.T, d []byte) []byte {
				k := []byte(fillKey(150))
				n := 0
				for i := bytes.Index(d, k); i >= 0; i = bytes.Index(d, k) {
					d[i+len(k)-3] = '9' // k150 -> k950
					n++
				}
				require.NotZero(t, n)
				return d
			},
			check: func(t *testing.T, b *Backend) {
				require.Error(t, backend.StoreCorrupt(b.KV(), "mgr/t/k950"), "the key is part of the checksum")
				_, ok := b.KV().Get("mgr/t/k950")
				require.False(t, ok)
				v, _ := b.KV().Get("target")
				require.Equal(t, secret, v, "the store stays readable")
				err := b.KV().Set(ctx, "k", "v")
				require.ErrorIs(t, err, syscall.EIO, "bbolt's check failed: writes are refused")
				require.ErrorContains(t, err, "writes are refused (bbolt's consistency check found")
				require.ErrorIs(t, b.KV().Delete(ctx, "target"), syscall.EIO)
				h := b.HealthChecks()[HealthCode]
				require.Equal(t, module.SeverityError, h.Severity)
				require.Contains(t, h.Summary, "the store is damaged and refuses writes; the stored value of config-key 'mgr/t/k950' fails its checksum")
			},
			checkOut: []string{"PROBLEM: bbolt check: ", "PROBLEM: config-key 'mgr/t/k950': checksum mismatch"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DBName)
			data := tc.damage(t, fill(t, dir))
			require.NoError(t, os.WriteFile(path, data, 0o600))

			b, err := Open(dir, Options{})
			if tc.refused != nil {
				require.Error(t, err)
				for _, want := range tc.refused {
					require.ErrorContains(t, err, want)
				}
				require.ErrorContains(t, err, path, "the error names the file")
				after, rerr := os.ReadFile(path)
				require.NoError(t, rerr)
				require.True(t, bytes.Equal(data, after), "a refused file is left as it was")
			} else {
				require.NoError(t, err)
				tc.check(t, b)
				require.NoError(t, b.Close())
				require.NoError(t, os.WriteFile(path, data, 0o600)) // undo check's repairs for Check
			}

			var out strings.Builder
			err = Check(dir, &out)
			require.Error(t, err, "every damaged file fails the check:\n%s", &out)
			for _, want := range tc.checkOut {
				require.Contains(t, out.String(), want)
			}
		})
	}
}

// TestFreshAndEmpty: a missing file is a fresh start; a bbolt file with no
// buckets (a store whose first start crashed before its first commit) is
// initialised; symlinks, directories and foreign bbolt files are refused.
func TestFreshAndEmpty(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, err = os.Stat(filepath.Join(dir, DBName+".new"))
	require.ErrorIs(t, err, os.ErrNotExist, "the temporary file is gone")

	bare := t.TempDir()
	db, err := bolt.Open(filepath.Join(bare, DBName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	b, err = Open(bare, Options{})
	require.NoError(t, err)
	require.Len(t, b.Cluster().FSID(), 36)
	require.NoError(t, b.Close())

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"symlink", func(t *testing.T, path string) {
			require.NoError(t, os.Symlink(filepath.Join(dir, DBName), path))
		}, "is a symbolic link"},
		{"directory", func(t *testing.T, path string) { require.NoError(t, os.Mkdir(path, 0o700)) }, "it is not a regular file"},
		{"foreign bbolt file", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			require.NoError(t, err)
			require.NoError(t, db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err }))
			require.NoError(t, db.Close())
		}, `it holds a bucket "users" that gomgr never writes`},
		{"newer format", func(t *testing.T, path string) {
			writeLegacy(t, path, map[string]string{"format": "2", "fsid": "x"}, nil)
		}, "the store has format 2, newer than this ceph-mgr understands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			tc.setup(t, filepath.Join(d, DBName))
			_, err := Open(d, Options{})
			require.ErrorContains(t, err, tc.want)
			require.Error(t, Check(d, io.Discard))
		})
	}
}

// writeLegacy writes a store as gomgr did before values had checksums.
func writeLegacy(t *testing.T, path string, meta, kv map[string]string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		for name, vals := range map[string]map[string]string{"meta": meta, "config-key": kv, "config": {"mgr/hello/place": "Mars"}} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for k, v := range vals {
				if err := b.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
}

// TestMigrateLegacy: a store written before values had checksums keeps
// every value and its fsid, and is migrated once, in one transaction.
func TestMigrateLegacy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DBName)
	const fsid = "0b5c1f7e-3f0a-4d9c-9a57-1f2e3d4c5b6a"
	kv := map[string]string{"mgr/.gomgr/enabled_modules": `["hello"]`, "a": "1", "empty": ""}
	for i := range 50 {
		kv[fmt.Sprint("k", i)] = strings.Repeat("x", i*40)
	}
	kv["long"] = randomValue(2*chunkSize+7, 1) // stored out of line once migrated
	writeLegacy(t, path, map[string]string{"fsid": fsid}, kv)
	var out strings.Builder
	require.NoError(t, Check(dir, &out))
	require.Contains(t, out.String(), "store format 0: values without checksums")

	for range 2 { // the second open finds the migrated store
		b, err := Open(dir, Options{})
		require.NoError(t, err)
		require.Equal(t, fsid, b.Cluster().FSID())
		require.Equal(t, kv, b.KV().List(""))
		v, _ := b.Config().Get("mgr/hello/place")
		require.Equal(t, "Mars", v)
		require.Empty(t, b.HealthChecks())
		require.NoError(t, b.Close())
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		require.Equal(t, "1", string(tx.Bucket(bucketMeta).Get(keyFormat)))
		raw := tx.Bucket(bucketKV).Get([]byte("a"))
		require.Equal(t, seal([]byte("a"), "1"), raw, "values are stored sealed")
		h, err := parseChunked([]byte("long"), tx.Bucket(bucketKV).Get([]byte("long")))
		require.NoError(t, err, "a long value is stored out of line")
		require.Equal(t, 3, h.count())
		return nil
	}))
	out.Reset()
	require.NoError(t, Check(dir, &out))
	require.Contains(t, out.String(), "store format 1")
	require.Contains(t, out.String(), "config-key: 54 values (1 of more than 256 KiB, stored in chunks)")
}

// TestCheck: a clean store passes; a store held by a daemon is reported
// as such; a missing one is an error.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir)
	var out strings.Builder
	require.NoError(t, Check(dir, &out))
	for _, want := range []string{"config: 1 values", "config-key: 302 values", "bbolt consistency check: ok", "store check: ok"} {
		require.Contains(t, out.String(), want)
	}
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	err = Check(dir, io.Discard)
	require.ErrorContains(t, err, "is held by a running ceph-mgr: stop it to check the store")
	require.NoError(t, b.Close())
	require.ErrorContains(t, Check(t.TempDir(), io.Discard), "no store: ")
}

func TestSeal(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "too short for its checksum header"},
		{"header only, wrong sum", []byte{1, 0, 0, 0, 0}, "checksum mismatch"},
		{"unknown version", append([]byte{2}, seal([]byte("k"), "v")[1:]...), "unknown value header version 2"},
		{"other key", seal([]byte("j"), "v"), "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unseal([]byte("k"), tc.raw)
			require.ErrorContains(t, err, tc.want)
		})
	}
	for _, v := range []string{"", "v", strings.Repeat("\x00\xff", 1000)} {
		got, err := unseal([]byte("k"), seal([]byte("k"), v))
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
}

// TestGuard: a panic, and a fault reading a mapping past the end of its
// file (what a damaged page id does to bbolt), come back as errors.
func TestGuard(t *testing.T) {
	err := guard(func() error { panic("assertion failed: Page expected to be: 5") })
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "bbolt failed reading it: assertion failed")

	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	ps := os.Getpagesize()
	require.NoError(t, f.Truncate(int64(ps)))
	m, err := syscall.Mmap(int(f.Fd()), 0, 2*ps, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	defer syscall.Munmap(m)
	var got byte
	err = guard(func() error { got = m[ps+1]; return nil })
	require.ErrorContains(t, err, "bbolt failed reading it", "the fault (%d) is an error", got)
	require.Equal(t, []byte{0}, m[:1], "and the goroutine goes on")
}

// TestWriteFindsDamage: a bbolt panic during a write (damage found only
// then) fails that write with -EIO, and the store then refuses writes but
// stays readable, with an error-level MGR_STORE_CORRUPT.
func TestWriteFindsDamage(t *testing.T) {
	ctx := context.Background()
	b, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.KV().Set(ctx, "k", "v"))
	err = b.update(func(*bolt.Tx) error { panic("assertion failed: page 7: has unexpected type/flags: 0") })
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "writes are refused (bbolt failed reading it: assertion failed: page 7")
	err = b.KV().Set(ctx, "k", "w")
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "--check-store --data ")
	v, _ := b.KV().Get("k")
	require.Equal(t, "v", v)
	h := b.HealthChecks()[HealthCode]
	require.Equal(t, module.SeverityError, h.Severity)
	require.Equal(t, "the store is damaged and refuses writes", h.Summary)
}
