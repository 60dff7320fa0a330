package embedded

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
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
			if c, scanErr = scan(tx, keep); scanErr != nil {
				return scanErr
			}
			c.checks, c.nchecks = boltCheck(tx, max)
			return nil
		})
	})
	return c, scanErr, err
}

// scan reads and verifies every value of a store. The file must have
// passed inspect, so bbolt can walk it safely. An error means the file is
// not a gomgr store.
func scan(tx *bolt.Tx, keep bool) (*contents, error) {
	c := &contents{values: map[string]map[string]string{}, corrupt: map[string]map[string]error{}, counts: map[string]int{}}
	var names []string
	if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if b == nil {
			return fmt.Errorf("its top level holds %q, which is not a bucket", name)
		}
		switch string(name) {
		case string(bucketConfig), string(bucketKV), string(bucketMeta):
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
			s, err := unseal(k, v)
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
	return c, nil
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
// migrates a format-0 store to the current format: every value sealed, in
// the one transaction tx.
func initialise(tx *bolt.Tx, c *contents) error {
	for _, name := range [][]byte{bucketConfig, bucketKV, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketConfig, bucketKV} {
		b := tx.Bucket(name)
		for k, v := range c.values[string(name)] {
			kb := []byte(k)
			if err := b.Put(kb, seal(kb, v)); err != nil {
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
