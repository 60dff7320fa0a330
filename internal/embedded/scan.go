package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

var (
	bucketConfig = []byte("config")
	bucketKV     = []byte("config-key")
	bucketMeta   = []byte("meta")
)

// contents is what scan read from a store.
type contents struct {
	// empty: the file has no buckets at all, a store never initialised
	// (so nothing can be lost by initialising it).
	empty   bool
	format  int
	fsid    string
	fsidErr error
	// values and corrupt, by bucket name: the values that pass their
	// checksum (kept only if asked) and why the others fail it.
	values  map[string]map[string]string
	corrupt map[string]map[string]error
	counts  map[string]int
	// outOfLine counts, by bucket name, the values stored in chunks.
	outOfLine map[string]int
	// orphans are the chunks no value names.
	orphans orphanChunks
	// checks holds up to the asked number of the problems bbolt's
	// consistency check found; nchecks counts them all.
	checks  []string
	nchecks int
}

// read scans a store and runs bbolt's consistency check on it, in one
// read transaction, keeping up to max of the check's problems. scanErr
// means the file is not a gomgr store; err, that bbolt failed reading it.
func read(db *bolt.DB, keep bool, max int) (c *contents, scanErr, err error) {
	err = guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			// The check first, while the values are not in memory yet:
			// it touches a key in every chunk (see dropResident).
			checks, n := boltCheck(tx, max)
			dropResident(tx)
			defer dropResident(tx)
			if c, scanErr = scan(tx, keep); scanErr != nil {
				return scanErr
			}
			c.checks, c.nchecks = checks, n
			return nil
		})
	})
	return c, scanErr, err
}

// scan reads and verifies every value of a store. The file must have
// passed inspect, so bbolt can walk it safely. An error means the file is
// not a gomgr store.
func scan(tx *bolt.Tx, keep bool) (*contents, error) {
	c := &contents{values: map[string]map[string]string{}, corrupt: map[string]map[string]error{}, counts: map[string]int{}, outOfLine: map[string]int{}}
	var names []string
	if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if b == nil {
			return fmt.Errorf("its top level holds %q, which is not a bucket", name)
		}
		switch string(name) {
		case string(bucketConfig), string(bucketKV), string(bucketMeta), string(bucketChunks):
			names = append(names, string(name))
			return nil
		case string(bucketRados):
			// The object store is read on demand (objects.go), not
			// loaded; Check verifies it.
			names = append(names, string(name))
			return nil
		}
		return fmt.Errorf("it holds a bucket %q that gomgr never writes", name)
	}); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		c.empty = true
		return c, nil
	}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return nil, errors.New("it has no meta bucket")
	}
	var err error
	if c.format, err = parseFormat(meta.Get(keyFormat)); err != nil {
		return nil, err
	}
	chunks := tx.Bucket(bucketChunks)
	if c.format == formatLegacy && chunks != nil {
		return nil, fmt.Errorf("it has format 0 and a bucket %q, which only format 1 has", bucketChunks)
	}
	claims := chunkClaims{count: map[uint64]uint64{}, valid: map[uint64]bool{}}
	switch raw := meta.Get(keyFSID); {
	case raw == nil:
		c.fsidErr = errors.New("missing")
	case c.format == formatLegacy:
		c.fsid = string(raw)
	default:
		c.fsid, c.fsidErr = unseal(keyFSID, raw)
	}
	for _, name := range [][]byte{bucketConfig, bucketKV} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		vals, bad := map[string]string{}, map[string]error{}
		err := b.ForEach(func(k, v []byte) error {
			if v == nil {
				return fmt.Errorf("bucket %q holds a bucket %q, which gomgr never writes", name, k)
			}
			c.counts[string(name)]++
			if c.format == formatLegacy {
				if keep {
					vals[string(k)] = string(v)
				}
				return nil
			}
			s, long, err := readValue(chunks, k, v, keep, claims)
			if long {
				c.outOfLine[string(name)]++
				dropResident(tx) // so the file and the copies are not both resident
			}
			switch {
			case err != nil:
				bad[string(k)] = err
			case keep:
				vals[string(k)] = s
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.values[string(name)], c.corrupt[string(name)] = vals, bad
	}
	if c.orphans, err = orphans(tx, chunks, claims.count); err != nil {
		return nil, err
	}
	return c, nil
}

// chunkClaims records the chunk sets the values of a store name: by chunk
// id, the number of chunks of the values naming it (for a damaged header,
// all of them: they are kept with it), and the ids a valid header names.
type chunkClaims struct {
	count map[uint64]uint64
	valid map[uint64]bool
}

func (c chunkClaims) claim(id, n uint64) { c.count[id] = max(c.count[id], n) }

// readValue checks one stored value of a format-1 store and returns it
// (with keep; otherwise ""), and whether it is stored out of line.
func readValue(chunks *bolt.Bucket, key, raw []byte, keep bool, claims chunkClaims) (string, bool, error) {
	if len(raw) == 0 || raw[0] != chunkedVersion {
		s, err := unseal(key, raw)
		return s, false, err
	}
	h, err := parseChunked(key, raw)
	if err != nil {
		if len(raw) >= chunkedLen {
			// Its chunks stay with it, for whoever examines the damage.
			claims.claim(binary.BigEndian.Uint64(raw[5:]), math.MaxUint64)
		}
		return "", true, err
	}
	claims.claim(h.id, uint64(h.count()))
	if claims.valid[h.id] {
		return "", true, fmt.Errorf("its chunks (id %d) are named by another value too", h.id)
	}
	claims.valid[h.id] = true
	s, err := readChunked(chunks, h, keep)
	return s, true, err
}

// dropResident takes the database file's pages out of the process's
// resident memory: reading a store touches every page of it through
// bbolt's mapping, which would count the whole file on top of the copies
// of the values (and a kernel with large page-cache folios maps a whole
// folio, up to megabytes, for each page touched, so even reading one key
// per chunk maps most of the file). The pages stay in the kernel's page
// cache, and bbolt faults back in those it reads again: for a shared file
// mapping nothing else changes. tx (open) keeps bbolt from remapping
// meanwhile. Only memory use is at stake, so a failure is ignored.
func dropResident(tx *bolt.Tx) {
	ps := int64(os.Getpagesize())
	n := (tx.Size() + ps - 1) / ps * ps
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(n), unix.MADV_DONTNEED)
}

// boltCheck runs bbolt's consistency check on tx and returns up to max of
// the problems it finds, and how many it found.
func boltCheck(tx *bolt.Tx, max int) (problems []string, n int) {
	for err := range tx.Check() {
		if n < max {
			problems = append(problems, err.Error())
		}
		n++
	}
	return problems, n
}

// initialise writes the buckets and meta values of a new store, or
// migrates a format-0 store to the current format: every value rewritten
// with its checksum (the long ones out of line), in the one transaction
// tx.
func initialise(tx *bolt.Tx, c *contents) error {
	for _, name := range [][]byte{bucketConfig, bucketKV, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketConfig, bucketKV} {
		b := tx.Bucket(name)
		for k, v := range c.values[string(name)] {
			if err := write(tx, b, []byte(k), v); err != nil {
				return fmt.Errorf("rewrite %s %q: %w", name, k, err)
			}
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyFSID, seal(keyFSID, c.fsid)); err != nil {
		return err
	}
	return meta.Put(keyFormat, []byte(fmt.Sprint(formatCurrent)))
}
