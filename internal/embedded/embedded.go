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
package embedded

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gomgr/gomgr/pkg/module"
)

var (
	bucketConfig = []byte("config")
	bucketKV     = []byte("config-key")
	bucketMeta   = []byte("meta")
)

// DBName is the database file inside the data directory.
const DBName = "gomgr.db"

// Backend is the embedded backend.
type Backend struct {
	db     *bolt.DB
	config *store
	kv     *store
	fsid   string

	module.Subscribers
}

var _ module.Backend = (*Backend)(nil)

// Options tune Open.
type Options struct {
	// Timeout bounds the wait for the database file lock held by another
	// process (0: fail at once).
	Timeout time.Duration
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, opts Options) (*Backend, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, DBName)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the database is in use by another daemon", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b := &Backend{db: db}
	b.config = &store{b: b, bucket: bucketConfig, notify: true}
	b.kv = &store{b: b, bucket: bucketKV}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketConfig, bucketKV, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if f := meta.Get([]byte("fsid")); f != nil {
			b.fsid = string(f)
			return nil
		}
		b.fsid = newUUID()
		return meta.Put([]byte("fsid"), []byte(b.fsid))
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	for _, s := range []*store{b.config, b.kv} {
		if err := s.load(); err != nil {
			db.Close()
			return nil, err
		}
	}
	return b, nil
}

func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Config implements module.Backend.
func (b *Backend) Config() module.Store { return b.config }

// KV implements module.Backend.
func (b *Backend) KV() module.Store { return b.kv }

// Cluster implements module.Backend.
func (b *Backend) Cluster() module.Cluster { return cluster{b} }

// Close closes the database.
func (b *Backend) Close() error { return b.db.Close() }

// Path is the database file.
func (b *Backend) Path() string { return b.db.Path() }

// store is one bucket with an in-memory copy.
type store struct {
	module.StringMap
	b      *Backend
	bucket []byte
	notify bool
	wmu    sync.Mutex // serialises writers, so readers never wait for an fsync
}

func (s *store) load() error {
	m := map[string]string{}
	err := s.b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(s.bucket).ForEach(func(k, v []byte) error {
			m[string(k)] = string(v)
			return nil
		})
	})
	s.Replace(m)
	return err
}

func (s *store) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return errors.New("empty key")
	}
	s.wmu.Lock()
	err := s.b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(s.bucket).Put([]byte(key), []byte(value)) })
	if err == nil {
		s.Put(key, value)
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if s.notify {
		s.b.Emit(module.Event{Kind: module.ConfigChanged, Key: key})
	}
	return nil
}

func (s *store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	_, existed := s.Get(key)
	err := s.b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(s.bucket).Delete([]byte(key)) })
	if err == nil {
		s.Remove(key)
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if s.notify && existed {
		s.b.Emit(module.Event{Kind: module.ConfigChanged, Key: key})
	}
	return nil
}
