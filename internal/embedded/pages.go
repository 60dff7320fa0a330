package embedded

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
)

// The bbolt file layout (format version 2), as far as inspect needs it to
// prove that bbolt can walk the file without reading outside it. bbolt
// trusts page ids and element offsets it reads from the file: a damaged
// one makes it panic or fault, or allocate without bound. inspect checks
// every such number with plain reads before bbolt follows any of them.
const (
	boltMagic     = 0xED0CDAED
	boltVersion   = 2
	pageHeaderLen = 16 // id u64, flags u16, count u16, overflow u32
	elementLen    = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	inBucketLen   = 16 // root pgid u64, sequence u64
	metaSumLen    = 56 // the meta fields covered by its FNV-64a checksum
	minPageSize   = 1024
	noFreelist    = ^uint64(0)

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01
)

var ne = binary.NativeEndian // bbolt writes its structures in memory order

// meta is a decoded meta page.
type meta struct {
	pageSize       uint32
	root, freelist uint64
	pgid, txid     uint64
	err            string // why the page is invalid ("" if valid)
}

func decodeMeta(b []byte) meta {
	m := meta{}
	if len(b) < pageHeaderLen+metaSumLen+8 {
		m.err = "short read"
		return m
	}
	f := b[pageHeaderLen:]
	sum := fnv.New64a()
	sum.Write(f[:metaSumLen])
	m.pageSize = ne.Uint32(f[8:])
	m.root = ne.Uint64(f[16:])
	m.freelist = ne.Uint64(f[32:])
	m.pgid = ne.Uint64(f[40:])
	m.txid = ne.Uint64(f[48:])
	switch {
	case ne.Uint32(f[0:]) != boltMagic:
		m.err = "not a bbolt meta page (bad magic)"
	case ne.Uint32(f[4:]) != boltVersion:
		m.err = fmt.Sprintf("bbolt format version %d, want %d", ne.Uint32(f[4:]), boltVersion)
	case ne.Uint64(f[metaSumLen:]) != sum.Sum64():
		m.err = "checksum mismatch"
	}
	return m
}

// layout is what inspect learnt about a database file.
type layout struct {
	size     int64
	pageSize int64
	meta     meta     // the meta page bbolt uses: the valid one with the higher txid
	warnings []string // damage bbolt works around (a bad meta page)
}

// inspect checks a database file's structure: the meta pages, that the
// file holds every page they claim, the freelist page, and every branch,
// leaf and bucket reachable from the root: page ids in range, each page
// referenced once and of the right type, every element inside its page.
// An error means bbolt cannot safely read the file.
func inspect(f *os.File) (*layout, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	l := &layout{size: st.Size()}
	if l.size < 2*minPageSize {
		return nil, fmt.Errorf("the file is %d bytes, too short for a bbolt database (truncated, or not a store)", l.size)
	}
	// The page size is in the first meta page; if that one is damaged,
	// find the second one at the page sizes bbolt supports.
	var metas [2]meta
	buf := make([]byte, pageHeaderLen+metaSumLen+8)
	read := func(off int64) meta {
		if _, err := f.ReadAt(buf, off); err != nil {
			return meta{err: "short read"}
		}
		return decodeMeta(buf)
	}
	metas[0] = read(0)
	if metas[0].err == "" && (metas[0].pageSize < minPageSize || int64(metas[0].pageSize) > l.size/2) {
		metas[0].err = fmt.Sprintf("page size %d", metas[0].pageSize)
	}
	if metas[0].err == "" {
		l.pageSize = int64(metas[0].pageSize)
		if metas[1] = read(l.pageSize); metas[1].err == "" && metas[1].pageSize != metas[0].pageSize {
			metas[1].err = fmt.Sprintf("page size %d, page 0 says %d", metas[1].pageSize, metas[0].pageSize)
		}
	} else {
		metas[1] = meta{err: "not found"}
		for ps := int64(minPageSize); ps <= 16<<20 && ps+int64(len(buf)) <= l.size; ps <<= 1 {
			if m := read(ps); m.err == "" && int64(m.pageSize) == ps {
				metas[1], l.pageSize = m, ps
				break
			}
		}
	}
	switch {
	case metas[0].err != "" && metas[1].err != "":
		return nil, fmt.Errorf("both bbolt meta pages are invalid (page 0: %s; page 1: %s): not a bbolt database, or damaged beyond what bbolt can recover", metas[0].err, metas[1].err)
	case metas[0].err != "":
		l.meta = metas[1]
	case metas[1].err != "":
		l.meta = metas[0]
	case metas[1].txid > metas[0].txid:
		l.meta = metas[1]
	default:
		l.meta = metas[0]
	}
	for i, m := range metas {
		if m.err != "" {
			l.warnings = append(l.warnings, fmt.Sprintf("bbolt meta page %d is invalid (%s); the store was read from the other one, as of transaction %d (a write acknowledged after it may be lost)", i, m.err, l.meta.txid))
		}
	}
	if l.meta.pgid < 2 || l.meta.pgid > uint64(l.size/l.pageSize) {
		return nil, fmt.Errorf("the file is truncated: it has %d bytes, and its meta page says it holds %d pages of %d bytes", l.size, l.meta.pgid, l.pageSize)
	}
	w := walker{f: f, l: l, seen: map[uint64]bool{0: true, 1: true}}
	if l.meta.freelist != noFreelist {
		if err := w.freelist(l.meta.freelist); err != nil {
			return nil, err
		}
	}
	if err := w.tree(l.meta.root, "the root bucket"); err != nil {
		return nil, err
	}
	return l, nil
}

// walker reads pages with bounds checks; seen holds every page referenced
// so far (a second reference is damage, and ends cycles).
type walker struct {
	f    *os.File
	l    *layout
	seen map[uint64]bool
}

type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func (w *walker) header(id uint64, what string) (pageHeader, error) {
	var h pageHeader
	if id < 2 || id >= w.l.meta.pgid {
		return h, fmt.Errorf("%s refers to page %d, outside the pages in use [2, %d)", what, id, w.l.meta.pgid)
	}
	var b [pageHeaderLen]byte
	if _, err := w.f.ReadAt(b[:], int64(id)*w.l.pageSize); err != nil {
		return h, fmt.Errorf("read page %d: %w", id, err)
	}
	h = pageHeader{ne.Uint64(b[0:]), ne.Uint16(b[8:]), ne.Uint16(b[10:]), ne.Uint32(b[12:])}
	if h.id != id {
		return h, fmt.Errorf("page %d (%s) says it is page %d", id, what, h.id)
	}
	if uint64(h.overflow) >= w.l.meta.pgid-id {
		return h, fmt.Errorf("page %d (%s) claims %d overflow pages, past the last page in use", id, what, h.overflow)
	}
	for i := id; i <= id+uint64(h.overflow); i++ {
		if w.seen[i] {
			return h, fmt.Errorf("page %d (%s) is referenced twice", i, what)
		}
		w.seen[i] = true
	}
	return h, nil
}

// span is the byte length of a page and its overflow pages.
func (w *walker) span(h pageHeader) uint64 { return uint64(h.overflow+1) * uint64(w.l.pageSize) }

func (w *walker) freelist(id uint64) error {
	h, err := w.header(id, "the freelist")
	if err != nil {
		return err
	}
	if h.flags != freelistPage {
		return fmt.Errorf("the freelist page %d has type flags %#x", id, h.flags)
	}
	n := uint64(h.count)
	if h.count == 0xFFFF { // the real count is the first element
		var b [8]byte
		if _, err := w.f.ReadAt(b[:], int64(id)*w.l.pageSize+pageHeaderLen); err != nil {
			return fmt.Errorf("read page %d: %w", id, err)
		}
		n = ne.Uint64(b[:]) + 1
	}
	if n > (w.span(h)-pageHeaderLen)/8 {
		return fmt.Errorf("the freelist page %d claims %d entries, more than it holds", id, n)
	}
	ids := make([]byte, n*8)
	if _, err := w.f.ReadAt(ids, int64(id)*w.l.pageSize+pageHeaderLen); err != nil {
		return fmt.Errorf("read page %d: %w", id, err)
	}
	first := 0
	if h.count == 0xFFFF {
		first = 1
	}
	for i := first; i < int(n); i++ {
		if free := ne.Uint64(ids[i*8:]); free < 2 || free >= w.l.meta.pgid {
			return fmt.Errorf("the freelist page %d lists page %d, outside the pages in use [2, %d)", id, free, w.l.meta.pgid)
		}
	}
	return nil
}

// tree checks a bucket's pages from its root page.
func (w *walker) tree(root uint64, what string) error {
	stack := []uint64{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		h, err := w.header(id, what)
		if err != nil {
			return err
		}
		if h.flags != branchPage && h.flags != leafPage {
			return fmt.Errorf("page %d of %s has type flags %#x, not a branch or leaf page", id, what, h.flags)
		}
		if h.flags == branchPage && h.count == 0 {
			return fmt.Errorf("branch page %d of %s has no elements", id, what)
		}
		span := w.span(h)
		if pageHeaderLen+uint64(h.count)*elementLen > span {
			return fmt.Errorf("page %d of %s claims %d elements, more than it holds", id, what, h.count)
		}
		elems := make([]byte, int(h.count)*elementLen)
		base := int64(id) * w.l.pageSize
		if _, err := w.f.ReadAt(elems, base+pageHeaderLen); err != nil {
			return fmt.Errorf("read page %d: %w", id, err)
		}
		for i := range int(h.count) {
			e := elems[i*elementLen:]
			at := uint64(pageHeaderLen + i*elementLen) // the element's offset in the page
			if h.flags == branchPage {
				if at+uint64(ne.Uint32(e[0:]))+uint64(ne.Uint32(e[4:])) > span {
					return fmt.Errorf("branch page %d of %s: element %d lies outside the page", id, what, i)
				}
				stack = append(stack, ne.Uint64(e[8:]))
				continue
			}
			flags, pos, ksize, vsize := ne.Uint32(e[0:]), uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
			if at+pos+ksize+vsize > span {
				return fmt.Errorf("leaf page %d of %s: element %d lies outside the page", id, what, i)
			}
			if flags&^bucketLeaf != 0 {
				return fmt.Errorf("leaf page %d of %s: element %d has unknown flags %#x", id, what, i, flags)
			}
			if flags&bucketLeaf == 0 {
				continue
			}
			val := make([]byte, vsize)
			if _, err := w.f.ReadAt(val, base+int64(at+pos+ksize)); err != nil {
				return fmt.Errorf("read page %d: %w", id, err)
			}
			key := make([]byte, ksize)
			if _, err := w.f.ReadAt(key, base+int64(at+pos)); err != nil {
				return fmt.Errorf("read page %d: %w", id, err)
			}
			if err := w.bucket(val, fmt.Sprintf("bucket %q", key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket checks a bucket entry's value: a bucket header, then either a
// root page id or, for an inline bucket, a leaf page inside the value.
func (w *walker) bucket(val []byte, what string) error {
	if len(val) < inBucketLen {
		return fmt.Errorf("%s: bucket header is %d bytes, want %d", what, len(val), inBucketLen)
	}
	if root := ne.Uint64(val); root != 0 {
		return w.tree(root, what)
	}
	p := val[inBucketLen:]
	if len(p) < pageHeaderLen {
		return fmt.Errorf("%s: inline bucket too short", what)
	}
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if flags != leafPage {
		return fmt.Errorf("%s: inline bucket page has type flags %#x", what, flags)
	}
	if pageHeaderLen+count*elementLen > len(p) {
		return fmt.Errorf("%s: inline bucket claims %d elements, more than it holds", what, count)
	}
	for i := range count {
		e := p[pageHeaderLen+i*elementLen:]
		at := uint64(pageHeaderLen + i*elementLen)
		end := at + uint64(ne.Uint32(e[4:])) + uint64(ne.Uint32(e[8:])) + uint64(ne.Uint32(e[12:]))
		if ne.Uint32(e[0:]) != 0 || end > uint64(len(p)) {
			return fmt.Errorf("%s: inline bucket element %d is damaged", what, i)
		}
	}
	return nil
}
