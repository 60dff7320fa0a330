package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// put stores value under key in bucket b of tx, replacing what the key
// held, and the chunks of a long value it held unless that value was
// found damaged (keepOld): the chunks of a damaged value may be another
// value's (its chunk id is not to be trusted), so they are left for the
// next open, which removes the chunks no value names.
func put(tx *bolt.Tx, b *bolt.Bucket, key []byte, value string, keepOld bool) error {
	if !keepOld {
		if err := dropChunks(tx, key, b.Get(key)); err != nil {
			return err
		}
	}
	return write(tx, b, key, value)
}

// remove deletes key from bucket b of tx, with the chunks of its value
// unless that value was found damaged (see put).
func remove(tx *bolt.Tx, b *bolt.Bucket, key []byte, keepOld bool) error {
	if !keepOld {
		if err := dropChunks(tx, key, b.Get(key)); err != nil {
			return err
		}
	}
	return b.Delete(key)
}

// write stores value under key in bucket b of tx: inline, or out of line
// (see format.go) if it is longer than inlineMax. It does not look at
// what the key held.
//
// The chunks are slices of value itself: bbolt keeps a value given to Put
// until the transaction ends (it copies it only into its pages), and a
// string never changes, so a long write costs bbolt's page buffers and
// no copy of its own.
func write(tx *bolt.Tx, b *bolt.Bucket, key []byte, value string) error {
	if len(value) <= inlineMax {
		return b.Put(key, seal(key, value))
	}
	chunks, err := tx.CreateBucketIfNotExists(bucketChunks)
	if err != nil {
		return fmt.Errorf("create the chunks bucket: %w", err)
	}
	id, err := chunks.NextSequence()
	if err != nil {
		return err
	}
	set, err := chunks.CreateBucket(chunkSetName(id))
	if err != nil {
		return fmt.Errorf("create chunk set %d: %w", id, err)
	}
	data := unsafe.Slice(unsafe.StringData(value), len(value))
	header := chunkedHeader(key, id, data)
	ck := make([]byte, 4) // bbolt copies keys
	for i := 0; i*chunkSize < len(data); i++ {
		binary.BigEndian.PutUint32(ck, uint32(i))
		if err := set.Put(ck, data[i*chunkSize:min((i+1)*chunkSize, len(data))]); err != nil {
			return fmt.Errorf("write chunk %d: %w", i, err)
		}
	}
	return b.Put(key, header)
}

// dropChunks deletes the chunks of old, the entry key holds, if it is an
// out-of-line header that passes its checksum. The chunks a damaged
// header names are left alone, like those of a value found damaged (see
// put).
func dropChunks(tx *bolt.Tx, key, old []byte) error {
	if len(old) == 0 || old[0] != chunkedVersion {
		return nil
	}
	h, err := parseChunked(key, old)
	chunks := tx.Bucket(bucketChunks)
	if err != nil || chunks == nil {
		return nil
	}
	if err := chunks.DeleteBucket(chunkSetName(h.id)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return fmt.Errorf("remove the chunks of the old value: %w", err)
	}
	return nil
}

func chunkSetName(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// readChunked reads and checks the chunks of the out-of-line value h
// describes; with keep, it returns the value (one copy out of the
// database's memory), otherwise "".
func readChunked(chunks *bolt.Bucket, h chunked, keep bool) (string, error) {
	n := h.count()
	var set *bolt.Bucket
	if chunks != nil {
		set = chunks.Bucket(chunkSetName(h.id))
	}
	if n > 0 && set == nil {
		return "", fmt.Errorf("its %d chunks (id %d) are missing", n, h.id)
	}
	var parts [][]byte
	var c *bolt.Cursor
	var k, v []byte
	ck := make([]byte, chunkKeyLen)
	for i := range n {
		if i == 0 {
			c = set.Cursor()
			k, v = c.First()
		} else {
			k, v = c.Next()
		}
		lo, hi := h.span(i)
		switch {
		case len(k) != 4 || binary.BigEndian.Uint32(k) != uint32(i):
			return "", fmt.Errorf("chunk %d of %d (id %d) is missing", i, n, h.id)
		case uint64(len(v)) != hi-lo:
			return "", fmt.Errorf("chunk %d of %d (id %d) holds %d bytes, want %d", i, n, h.id, len(v), hi-lo)
		}
		if stored, got := binary.BigEndian.Uint32(h.sums[4*i:]), sum(chunkKey(ck, h.id, i), v); stored != got {
			return "", fmt.Errorf("chunk %d of %d (id %d) fails its checksum (stored %08x, computed %08x)", i, n, h.id, stored, got)
		}
		if keep {
			parts = append(parts, v)
		}
	}
	if !keep || h.size == 0 {
		return "", nil
	}
	// The chunks exist and have their sizes, so h.size is bounded by the
	// file: a damaged header cannot make this allocation huge.
	buf := make([]byte, h.size)
	for i, p := range parts {
		lo, _ := h.span(i)
		copy(buf[lo:], p)
	}
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

// orphan is an entry of the chunks bucket that no value names: a chunk
// key in chunk set set, a whole chunk set (key nil), or (set nil) a key
// directly in the chunks bucket.
type orphan struct{ set, key []byte }

// orphanChunks is what orphans found.
type orphanChunks struct {
	list   []orphan
	chunks int   // the chunks they hold
	bytes  int64 // and their bytes
}

// orphans finds the entries of chunks that no value names: named holds,
// by chunk id, the number of chunks of the values that name them (see
// chunkClaims).
func orphans(tx *bolt.Tx, chunks *bolt.Bucket, named map[uint64]uint64) (o orphanChunks, err error) {
	if chunks == nil {
		return o, nil
	}
	seen := 0
	err = chunks.ForEach(func(name, v []byte) error {
		if v != nil {
			o.list = append(o.list, orphan{key: bytes.Clone(name)})
			o.chunks++
			o.bytes += int64(len(v))
			return nil
		}
		n, ok := uint64(0), false
		if len(name) == 8 {
			n, ok = named[binary.BigEndian.Uint64(name)]
		}
		if !ok {
			o.list = append(o.list, orphan{set: bytes.Clone(name)})
		}
		return chunks.Bucket(name).ForEach(func(k, v []byte) error {
			if v == nil {
				return fmt.Errorf("bucket %q holds a bucket %q inside %q, which gomgr never writes", bucketChunks, k, name)
			}
			if seen++; seen%64 == 0 {
				dropResident(tx) // reading each chunk's key maps much of it
			}
			if ok && len(k) == 4 && uint64(binary.BigEndian.Uint32(k)) < n {
				return nil
			}
			if ok {
				o.list = append(o.list, orphan{set: bytes.Clone(name), key: bytes.Clone(k)})
			}
			o.chunks++
			o.bytes += int64(len(v))
			return nil
		})
	})
	return o, err
}

// removeOrphans deletes what orphans found, in tx.
func removeOrphans(tx *bolt.Tx, list []orphan) error {
	chunks := tx.Bucket(bucketChunks)
	for _, o := range list {
		var err error
		switch {
		case o.set == nil:
			err = chunks.Delete(o.key)
		case o.key == nil:
			err = chunks.DeleteBucket(o.set)
		default:
			err = chunks.Bucket(o.set).Delete(o.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
