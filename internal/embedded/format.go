package embedded

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Store format versions, kept as text under "format" in the meta bucket.
//
//   - 0 (no "format" key): values stored as they are, written by gomgr
//     before values had checksums. Open migrates such a store to format 1
//     in one transaction.
//
//   - 1: every value in the config, config-key and meta buckets (except
//     "format" itself) has a checksum, in one of two forms chosen by its
//     first byte:
//
//     1, inline (values of up to inlineMax bytes): the CRC32C (Castagnoli)
//     of the key then the value, big-endian, then the value.
//
//     2, out of line (longer values): the entry is a header, and the
//     value is in the "chunks" bucket, in a chunk set of its own (a
//     bucket named by the header's chunk id, u64 big-endian), cut into
//     chunks of the header's chunk size, each under its index (u32
//     big-endian). The header is the CRC32C of the key then the rest of
//     the header, the chunk id, the value's length (u64), the chunk size
//     (u32), then one CRC32C per chunk, of the chunk id and index (as in
//     the keys) then the chunk's bytes. Every write of a long value takes
//     a new chunk id (the chunks bucket's sequence) and removes the chunk
//     set of the value it replaces in the same transaction. As a value's
//     chunks share bbolt pages with no other value's, writing it rewrites
//     no other value's bytes (bbolt's copy-on-write would rewrite every
//     value sharing a leaf page with it, and a leaf holds at least two).
//
//     A value that fails a checksum, or whose chunks are missing or of
//     the wrong size, is never served as if valid. Chunks no valid entry
//     names (orphans, left only by damage) are ignored, reported by
//     Check, and removed when the store is next opened for writing.
const (
	formatLegacy  = 0
	formatCurrent = 1

	sealVersion    = 1
	sealLen        = 5
	chunkedVersion = 2
	chunkedLen     = 25 // the out-of-line header before its chunk checksums
	chunkKeyLen    = 12 // chunk id and index, as a chunk's checksum covers them

	// inlineMax is the longest value stored inline; chunkSize the size of
	// the chunks of longer ones (bbolt puts two to four in a leaf page).
	inlineMax = 256 << 10
	chunkSize = 1 << 20
	// maxChunkSize bounds the chunk size a header may claim.
	maxChunkSize = 1 << 30
)

var (
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
	keyFormat    = []byte("format")
	keyFSID      = []byte("fsid")
	bucketChunks = []byte("chunks")
)

func sum(key []byte, value []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, key), castagnoli, value)
}

// seal returns value with its checksum header, built in one allocation.
func seal(key []byte, value string) []byte {
	b := make([]byte, sealLen+len(value))
	b[0] = sealVersion
	copy(b[sealLen:], value)
	binary.BigEndian.PutUint32(b[1:], sum(key, b[sealLen:]))
	return b
}

// unseal checks an inline value and returns it (copied out of the
// database's memory).
func unseal(key, raw []byte) (string, error) {
	if len(raw) < sealLen {
		return "", fmt.Errorf("%d bytes, too short for its checksum header", len(raw))
	}
	if raw[0] != sealVersion {
		return "", fmt.Errorf("unknown value header version %d", raw[0])
	}
	if want, got := binary.BigEndian.Uint32(raw[1:]), sum(key, raw[sealLen:]); want != got {
		return "", fmt.Errorf("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	return string(raw[sealLen:]), nil
}

// chunked is a decoded out-of-line header.
type chunked struct {
	id    uint64
	size  uint64 // the value's length
	chunk uint64 // the chunk size
	sums  []byte // one big-endian CRC32C per chunk
}

func (h chunked) count() int { return len(h.sums) / 4 }

// span is the byte range of chunk i in the value.
func (h chunked) span(i int) (lo, hi uint64) {
	lo = uint64(i) * h.chunk
	return lo, min(lo+h.chunk, h.size)
}

func chunkKey(buf []byte, id uint64, i int) []byte {
	binary.BigEndian.PutUint64(buf, id)
	binary.BigEndian.PutUint32(buf[8:], uint32(i))
	return buf[:chunkKeyLen]
}

// chunkedHeader returns the header of value stored out of line as chunk
// id, with every chunk's checksum.
func chunkedHeader(key []byte, id uint64, value []byte) []byte {
	n := (len(value) + chunkSize - 1) / chunkSize
	b := make([]byte, chunkedLen+4*n)
	b[0] = chunkedVersion
	binary.BigEndian.PutUint64(b[5:], id)
	binary.BigEndian.PutUint64(b[13:], uint64(len(value)))
	binary.BigEndian.PutUint32(b[21:], chunkSize)
	var ck [chunkKeyLen]byte
	for i := range n {
		lo, hi := i*chunkSize, min((i+1)*chunkSize, len(value))
		binary.BigEndian.PutUint32(b[chunkedLen+4*i:], sum(chunkKey(ck[:], id, i), value[lo:hi]))
	}
	binary.BigEndian.PutUint32(b[1:], sum(key, b[5:]))
	return b
}

// parseChunked checks an out-of-line header (whose first byte is
// chunkedVersion) and decodes it; h.sums aliases raw.
func parseChunked(key, raw []byte) (h chunked, err error) {
	if len(raw) < chunkedLen {
		return h, fmt.Errorf("%d bytes, too short for an out-of-line value header", len(raw))
	}
	if want, got := binary.BigEndian.Uint32(raw[1:]), sum(key, raw[5:]); want != got {
		return h, fmt.Errorf("out-of-line value header checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	h = chunked{id: binary.BigEndian.Uint64(raw[5:]), size: binary.BigEndian.Uint64(raw[13:]), chunk: uint64(binary.BigEndian.Uint32(raw[21:])), sums: raw[chunkedLen:]}
	if h.chunk == 0 || h.chunk > maxChunkSize {
		return h, fmt.Errorf("out-of-line value header has chunk size %d", h.chunk)
	}
	n := h.size / h.chunk
	if h.size%h.chunk != 0 {
		n++
	}
	if len(h.sums)%4 != 0 || uint64(len(h.sums)/4) != n {
		return h, fmt.Errorf("out-of-line value header has %d bytes of chunk checksums, and %d bytes in chunks of %d need %d", len(h.sums), h.size, h.chunk, n*4)
	}
	return h, nil
}

// parseFormat reads the meta bucket's format value (nil: format 0).
func parseFormat(v []byte) (int, error) {
	if v == nil {
		return formatLegacy, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < formatCurrent {
		return 0, fmt.Errorf("the store format %q is not one gomgr writes", v)
	}
	if n > formatCurrent {
		return 0, fmt.Errorf("the store has format %d, newer than this ceph-mgr understands (%d): run a newer ceph-mgr", n, formatCurrent)
	}
	return n, nil
}
