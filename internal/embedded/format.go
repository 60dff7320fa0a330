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
//   - 1: every value in the config, config-key and meta buckets (except
//     "format" itself) is sealed: a version byte (1), the CRC32C
//     (Castagnoli) of the key then the value, big-endian, then the value.
//     A value that fails it is never served as if valid.
const (
	formatLegacy  = 0
	formatCurrent = 1

	sealVersion = 1
	sealLen     = 5
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	keyFormat  = []byte("format")
	keyFSID    = []byte("fsid")
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

// unseal checks a sealed value and returns it (copied out of the
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
