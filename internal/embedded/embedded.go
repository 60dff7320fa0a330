// Package embedded is the daemon's default backend: options and the KV
// store persisted in a bbolt database on local disk, with no Ceph cluster.
//
// Every write is a bbolt transaction committed with fsync before it
// returns, so an acknowledged write survives kill -9 and power loss. Reads
// come from an in-memory copy loaded at open. Cluster-state questions are
// answered from this local state and clearly say there is no monitor
// connection: HaveMonConnection is false, maps are empty skeletons marked
// "gomgr_embedded", and commands that need monitors fail with -ENOTCONN;
// the config and config-key monitor commands work locally.
//
// The same file holds the modules' RADOS objects (module.Handle.Rados;
// objects.go): pools, namespaces, data, omap and xattrs, read on demand
// rather than loaded, every value checksummed and every operation one
// fsynced transaction.
//
// Values longer than 256 KiB are stored out of line, in chunks of their
// own (see format.go), so writing one costs about its size in memory and
// I/O, however many other long values the store holds; after Open has
// read the file, its pages are dropped from the process's resident
// memory (the values are held once, in the in-memory copy).
//
// The store guards what it holds. Every value is stored with a CRC32C
// checksum (see format.go); Open verifies them all, and a value that fails
// is never served: the key reads as absent, Corrupt reports -EIO for it,
// and the MGR_STORE_CORRUPT health check names it until the key is set or
// removed. A missing database file is a fresh start; an existing file that
// is empty, truncated, not a bbolt database, or damaged is refused with an
// error that says so and how to start a new store on purpose (move the
// file aside): the store never silently starts over. Before bbolt reads a
// file, its page structure is checked (pages.go), and a bbolt panic or a
// fault on the mapped file is turned into an error; if bbolt's own
// consistency check fails, or a write finds damage, the store stays
// readable but refuses writes. Check reports on a store without a daemon
// (ceph-mgr --check-store).
package embedded

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
)

// DBName is the database file inside the data directory.
const DBName = "gomgr.db"

// HealthCode is the health check a damaged store raises.
const HealthCode = "MGR_STORE_CORRUPT"

// ErrInUse: another process holds the database file's lock.
var ErrInUse = errors.New("the database is in use by another process")

// Backend is the embedded backend.
type Backend struct {
	db       *bolt.DB
	path     string
	config   *store
	kv       *store
	fsid     string
	warnings []string // damage found at open that bbolt works around

	cleanup error // why the orphan chunks found at open are still there

	mu     sync.Mutex
	broken error // non-nil once the file proved damaged: writes are refused

	backend.Subscribers
}

var (
	_ backend.Backend         = (*Backend)(nil)
	_ backend.HealthReporter  = (*Backend)(nil)
	_ backend.CorruptReporter = (*store)(nil)
)

// Options tune Open.
type Options struct {
	// Timeout bounds the wait for the database file lock held by another
	// process (0: 50 ms).
	Timeout time.Duration
}

// Open opens the database in dir, creating it if the file does not exist.
// An existing file must hold a gomgr store: Open refuses an empty,
// truncated or damaged file, or any other file, and never replaces it.
// A store written before values had checksums is migrated once.
func Open(dir string, opts Options) (*Backend, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, DBName)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	if err := prepare(path, timeout); err != nil {
		return nil, err
	}
	db, lay, err := openChecked(path, timeout, false)
	if err != nil {
		return nil, err
	}
	b := &Backend{db: db, path: path, warnings: lay.warnings}
	b.config = &store{b: b, bucket: bucketConfig, notify: true}
	b.kv = &store{b: b, bucket: bucketKV}
	if err := b.load(); err != nil {
		db.Close()
		return nil, err
	}
	return b, nil
}

// prepare checks what is at path before bbolt opens it, and creates a new
// store if nothing is.
func prepare(path string, timeout time.Duration) error {
	err := checkFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path, timeout)
	}
	return err
}

// checkFile refuses a path that cannot hold a store: a symlink, not a
// regular file, or an empty file. A missing file is an fs.ErrNotExist.
func checkFile(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: refusing to follow it (the store must be a regular file)", path)
	case !fi.Mode().IsRegular():
		return notAStore(path, fmt.Errorf("it is not a regular file (%s)", fi.Mode().Type()))
	case fi.Size() == 0:
		return fmt.Errorf("%s is empty (0 bytes): it holds no store, and starting a new one here could replace state that was meant to be in it (was the file truncated, or the disk full?); %s",
			path, howToStartOver(path))
	}
	return nil
}

// create makes a new store at path. It is built under a temporary name
// and linked into place complete, so path never names a partly written
// store, even after a crash.
func create(path string, timeout time.Duration) error {
	tmp := path + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	db, err := openBolt(tmp, timeout, false, os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return initialise(tx, &contents{fsid: newUUID()}) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, unlike rename, never replaces a store another process
		// created meanwhile; that one is then used.
		if err = os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
			err = nil
		}
	}
	_ = os.Remove(tmp)
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// initialMmapSize is how much of the file bbolt maps for writing from the
// start (address space, not memory: only pages read become resident).
// When a commit grows the file past the mapping, bbolt maps it again, and
// first copies every node the transaction holds to the heap (all of a
// long value being written, once more) so nothing points into the old
// mapping; beyond this size that happens once per GiB of growth (bbolt
// grows the mapping in 1 GiB steps), not at each doubling of the file.
const initialMmapSize = (1 << 30) * (strconv.IntSize / 64) // none on 32-bit systems

// allocSize is how far past what it needs bbolt grows the file (and
// fsyncs its size): bbolt's 16 MiB would make even an empty store a
// 16 MiB file once the mapping is larger than that.
const allocSize = 1 << 20

// openBolt opens a bbolt file without following a symlink, turning its
// errors (and panics) into ones that say what is wrong with the file.
func openBolt(path string, timeout time.Duration, readOnly bool, flags int) (*bolt.DB, error) {
	var f *os.File
	opts := &bolt.Options{Timeout: timeout, ReadOnly: readOnly, OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag|flags|syscall.O_NOFOLLOW, perm)
		return f, err
	}}
	if !readOnly {
		opts.InitialMmapSize = initialMmapSize
	}
	var db *bolt.DB
	err := guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if err == nil {
		db.AllocSize = allocSize
		return db, nil
	}
	if f != nil {
		_ = f.Close() // after a panic, bbolt has not closed it
	}
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w (a running ceph-mgr, or ceph-mgr --check-store)", path, ErrInUse)
	case isPanic(err):
		return nil, damaged(path, err)
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return nil, notAStore(path, fmt.Errorf("bbolt: %w", err))
}

// openChecked opens an existing store file once its page structure has
// been checked (see inspect). The check runs under bbolt's shared lock,
// so no daemon writes meanwhile; a read-only open keeps that handle.
func openChecked(path string, timeout time.Duration, readOnly bool) (*bolt.DB, *layout, error) {
	ro, err := openBolt(path, timeout, true, 0)
	if err != nil {
		// bbolt's reason for refusing a file ("file size too small") may
		// be less clear than inspect's ("truncated"); nobody holds it now.
		var pathErr *fs.PathError
		if errors.Is(err, ErrInUse) || errors.As(err, &pathErr) {
			return nil, nil, err
		}
		if _, ierr := inspectPath(path); ierr != nil && !errors.As(ierr, &pathErr) {
			return nil, nil, damaged(path, ierr)
		}
		return nil, nil, err
	}
	lay, err := inspectPath(path)
	if err != nil {
		ro.Close()
		return nil, nil, damaged(path, err)
	}
	if readOnly {
		return ro, lay, nil
	}
	if err := ro.Close(); err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := openBolt(path, timeout, false, 0)
	return db, lay, err
}

func inspectPath(path string) (*layout, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return inspect(f)
}

// load reads and verifies the whole store, initialises or migrates it if
// needed, and fills the in-memory copies.
func (b *Backend) load() error {
	c, scanErr, err := read(b.db, true, 5)
	switch {
	case scanErr != nil:
		return notAStore(b.path, scanErr)
	case err != nil:
		return damaged(b.path, err)
	case c.fsidErr != nil:
		return damaged(b.path, fmt.Errorf("its cluster id (meta fsid) is unreadable: %w", c.fsidErr))
	}
	if c.nchecks > 0 {
		b.setBroken(fmt.Errorf("bbolt's consistency check found %d problem(s): %s", c.nchecks, strings.Join(c.checks, "; ")))
		if c.empty {
			return damaged(b.path, b.broken)
		}
	}
	if c.empty {
		c.fsid = newUUID()
	}
	if (c.empty || c.format == formatLegacy) && b.broken == nil {
		err := guard(func() error { return b.db.Update(func(tx *bolt.Tx) error { return initialise(tx, c) }) })
		if err != nil {
			return fmt.Errorf("initialise %s (format %d to %d): %w", b.path, c.format, formatCurrent, err)
		}
	}
	if o := c.orphans; len(o.list) > 0 && b.broken == nil {
		if err := b.update(func(tx *bolt.Tx) error { return removeOrphans(tx, o.list) }); err != nil {
			// Orphans harm nothing; the next open tries again.
			b.cleanup = fmt.Errorf("removing %d chunks (%d bytes) that no value names failed: %w", o.chunks, o.bytes, err)
		}
	}
	b.fsid = c.fsid
	for _, s := range []*store{b.config, b.kv} {
		s.Replace(c.values[string(s.bucket)])
		s.corrupt = c.corrupt[string(s.bucket)]
	}
	return nil
}

func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Config implements backend.Backend.
func (b *Backend) Config() backend.Store { return b.config }

// KV implements backend.Backend.
func (b *Backend) KV() backend.Store { return b.kv }

// Cluster implements backend.Backend.
func (b *Backend) Cluster() backend.Cluster { return cluster{b} }

// Close closes the database.
func (b *Backend) Close() error { return b.db.Close() }

// Path is the database file.
func (b *Backend) Path() string { return b.path }

func (b *Backend) setBroken(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		b.broken = err
	}
}

// writable returns the reason writes are refused, if they are.
func (b *Backend) writable() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		return nil
	}
	return fmt.Errorf("%w: %s is damaged, so writes are refused (%v); copy out what you need, stop ceph-mgr, and see ceph-mgr --check-store --data %s",
		syscall.EIO, b.path, b.broken, filepath.Dir(b.path))
}

// update runs a write transaction; damage it finds makes the store
// refuse further writes.
func (b *Backend) update(fn func(*bolt.Tx) error) error {
	if err := b.writable(); err != nil {
		return err
	}
	err := guard(func() error { return b.db.Update(fn) })
	if isPanic(err) {
		b.setBroken(err)
		return b.writable()
	}
	return err
}

// HealthChecks implements backend.HealthReporter: MGR_STORE_CORRUPT names
// the values that fail their checksum and the damage found in the file.
func (b *Backend) HealthChecks() map[string]module.HealthCheck {
	var summary, detail []string
	sev := module.SeverityWarning
	if err := b.writable(); err != nil {
		sev = module.SeverityError
		summary = append(summary, "the store is damaged and refuses writes")
		detail = append(detail, err.Error())
	}
	var bad []string
	for _, s := range []*store{b.config, b.kv} {
		for _, k := range s.corruptKeys() {
			bad = append(bad, fmt.Sprintf("%s '%s'", s.bucket, k))
			detail = append(detail, s.Corrupt(k).Error())
		}
	}
	switch len(bad) {
	case 0:
	case 1:
		summary = append(summary, "the stored value of "+bad[0]+" fails its checksum")
	default:
		summary = append(summary, fmt.Sprintf("%d stored values fail their checksums", len(bad)))
	}
	if len(b.warnings) > 0 {
		summary = append(summary, "a bbolt meta page of the store is damaged")
		detail = append(detail, b.warnings...)
	}
	if b.cleanup != nil {
		summary = append(summary, "orphan chunks could not be removed from the store")
		detail = append(detail, b.cleanup.Error())
	}
	if len(detail) == 0 {
		return nil
	}
	return map[string]module.HealthCheck{HealthCode: {Severity: sev, Summary: strings.Join(summary, "; "), Count: len(detail), Detail: detail}}
}

// store is one bucket with an in-memory copy of the values that pass
// their checksum.
type store struct {
	backend.StringMap
	b      *Backend
	bucket []byte
	notify bool
	wmu    sync.Mutex // serialises writers, so readers never wait for an fsync

	cmu     sync.Mutex
	corrupt map[string]error // keys whose stored value fails its checksum
}

// Corrupt implements backend.CorruptReporter: an -EIO error for a key
// whose stored value fails its checksum (Get reports it absent).
func (s *store) Corrupt(key string) error {
	s.cmu.Lock()
	why, ok := s.corrupt[key]
	s.cmu.Unlock()
	if !ok {
		return nil
	}
	return fmt.Errorf("%s '%s': the stored value fails its checksum (%v), so it is not served until the key is set or removed: %w",
		s.bucket, key, why, syscall.EIO)
}

func (s *store) isCorrupt(key string) bool {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	_, ok := s.corrupt[key]
	return ok
}

func (s *store) corruptKeys() []string {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return slices.Sorted(maps.Keys(s.corrupt))
}

// replaced records that key no longer holds a corrupt value.
func (s *store) replaced(key string) {
	s.cmu.Lock()
	delete(s.corrupt, key)
	s.cmu.Unlock()
}

func (s *store) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return errors.New("empty key")
	}
	k := []byte(key)
	s.wmu.Lock()
	damaged := s.isCorrupt(key)
	err := s.b.update(func(tx *bolt.Tx) error { return put(tx, tx.Bucket(s.bucket), k, value, damaged) })
	if err == nil {
		s.Put(key, value)
		s.replaced(key)
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if s.notify {
		s.b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: key})
	}
	return nil
}

func (s *store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	_, existed := s.Get(key)
	damaged := s.isCorrupt(key)
	err := s.b.update(func(tx *bolt.Tx) error { return remove(tx, tx.Bucket(s.bucket), []byte(key), damaged) })
	if err == nil {
		s.Remove(key)
		s.replaced(key)
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if s.notify && existed {
		s.b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: key})
	}
	return nil
}
