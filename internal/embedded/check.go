package embedded

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Check reports on the store in dir without changing it (ceph-mgr
// --check-store): it opens the database read-only (which fails if a
// daemon holds it), checks its page structure, runs bbolt's consistency
// check, and verifies every value's checksum (and every chunk of the
// values stored out of line). It prints what it found to
// w and returns an error if the store has any problem or cannot be
// checked.
func Check(dir string, w io.Writer) error {
	path := filepath.Join(dir, DBName)
	fmt.Fprintf(w, "checking %s (read-only)\n", path)
	if err := checkFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no store: %s does not exist (ceph-mgr creates it on its first start)", path)
		}
		return err
	}
	db, lay, err := openChecked(path, 100*time.Millisecond, true)
	if errors.Is(err, ErrInUse) {
		return fmt.Errorf("%s is held by a running ceph-mgr: stop it to check the store (a running daemon reports damage it found as %s in its health)", path, HealthCode)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	problems := 0
	problem := func(format string, args ...any) {
		fmt.Fprintf(w, "  PROBLEM: "+format+"\n", args...)
		problems++
	}
	fmt.Fprintf(w, "  file: %d bytes, %d pages of %d bytes in use, last transaction %d\n", lay.size, lay.meta.pgid, lay.pageSize, lay.meta.txid)
	for _, warn := range lay.warnings {
		problem("%s", warn)
	}
	c, scanErr, err := read(db, false, 20)
	switch {
	case scanErr != nil:
		problem("not a gomgr store: %v", scanErr)
	case err != nil:
		problem("%v", err)
	case c.empty:
		fmt.Fprintln(w, "  no buckets: a store never initialised (ceph-mgr initialises it on its next start)")
	default:
		switch c.format {
		case formatLegacy:
			fmt.Fprintln(w, "  store format 0: values without checksums (ceph-mgr adds them on its next start)")
		default:
			fmt.Fprintf(w, "  store format %d: every value has a CRC32C checksum\n", c.format)
		}
		if c.fsidErr != nil {
			problem("meta 'fsid' (the cluster id) is unreadable: %v", c.fsidErr)
		} else {
			fmt.Fprintf(w, "  fsid %s\n", c.fsid)
		}
		for _, name := range []string{string(bucketConfig), string(bucketKV)} {
			bad := c.corrupt[name]
			fmt.Fprintf(w, "  %s: %d values", name, c.counts[name])
			if n := c.outOfLine[name]; n > 0 {
				fmt.Fprintf(w, " (%d of more than %d KiB, stored in chunks)", n, inlineMax>>10)
			}
			if len(bad) > 0 {
				fmt.Fprintf(w, ", %d failing their checksum (not served)", len(bad))
			}
			fmt.Fprintln(w)
			for _, k := range slices.Sorted(maps.Keys(bad)) {
				problem("%s '%s': %v", name, k, bad[k])
			}
		}
		var pools, objs, nobj int
		var objProblems []string
		if err := guard(func() error {
			return db.View(func(tx *bolt.Tx) error {
				pools, objs, objProblems, nobj = checkObjects(tx, 20)
				return nil
			})
		}); err != nil {
			problem("reading the object store: %v", err)
		}
		fmt.Fprintf(w, "  rados: %d pools, %d objects\n", pools, objs)
		for _, p := range objProblems {
			problem("rados %s", p)
		}
		if nobj > len(objProblems) {
			problem("rados: %d more problems", nobj-len(objProblems))
		}
		if o := c.orphans; len(o.list) > 0 {
			problem("%d chunks (%d bytes) belong to no value (left by damage): they are never served, and ceph-mgr removes them on its next start", o.chunks, o.bytes)
		}
	}
	if err == nil && scanErr == nil {
		for _, p := range c.checks {
			problem("bbolt check: %s", p)
		}
		if c.nchecks > len(c.checks) {
			problem("bbolt check: %d more problems", c.nchecks-len(c.checks))
		} else if c.nchecks == 0 {
			fmt.Fprintln(w, "  bbolt consistency check: ok")
		}
	}
	if problems > 0 {
		return fmt.Errorf("%s: %d problem(s) found", path, problems)
	}
	fmt.Fprintln(w, "store check: ok")
	return nil
}
