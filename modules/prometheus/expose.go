package prometheus

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/gomgr/gomgr/pkg/module"
)

// A scrape's samples and their text. The text is what client_golang's
// registry (Gather: families sorted by their names before escaping,
// samples by their label values in label-name order, label pairs by
// name) and expfmt's text encoder (0.0.4, names escaped with
// underscores) write for the same samples, byte for byte
// (TestEncodeMatchesClientGolang), written here directly: through the
// registry a scrape of 10,000 OSDs cost seconds, in constant metrics,
// protobuf structs and their sorting, hashing and escaping.

// sample is one value of a family, its label values the scrape's
// labels[off:off+len(family.labels)] (shared by consecutive samples with
// the same values). It holds no pointer, so the
// garbage collector never scans a scrape's samples.
type sample struct {
	value float64
	off   int32 // its first label value in scrape.labels
	slot  int32 // its family's slot (scrape.bySlot)
}

// scrape accumulates the samples of one collection; setting a family's
// label set twice keeps the last value, as Pacific's dict does.
type scrape struct {
	sizeHint
	samples []sample
	labels  []string // the samples' label values, in order set
	// lastOff and lastN are the last label values added to labels.
	lastOff, lastN int32
	// bySlot is the family of each slot used (family.slot, or extra's
	// for a family without one of its own), counts its samples; fams
	// the families in the order of their first sample.
	bySlot []*family
	counts []int32
	fams   []*family
	extra  map[*family]int
	// owner is, by exposed name (family.id), the family of that name
	// this scrape uses: the first declared (Pacific's "if path not in
	// self.metrics"). dynamic is the same for a name without an id
	// (declared past maxCached), whose families are copies with slots
	// of this scrape's (nextDyn on).
	owner   []*family
	dynamic map[string]*family
	nextDyn int
	servers map[serviceKey]service    // list_servers, read once a scrape
	gets    map[string]map[string]any // get()s read more than once a scrape
	memo    *scrapeMemo               // the module's, nil for none
}

func newScrape() *scrape { return newScrapeSized(sizeHint{}) }

// sizeHint is the size of a scrape like the last one, so the next
// allocates its room at once.
type sizeHint struct {
	samples, labels, families, text int
}

func newScrapeSized(h sizeHint) *scrape {
	slots := max(h.families, staticSlots()+1)
	return &scrape{sizeHint: h, samples: make([]sample, 0, h.samples), labels: make([]string, 0, h.labels),
		bySlot: make([]*family, 0, slots), counts: make([]int32, 0, slots),
		owner: make([]*family, declaredIDs()+1), nextDyn: staticSlots() + maxCached + 1}
}

// hint is the size of this scrape.
func (s *scrape) hint(text int) sizeHint {
	return sizeHint{samples: len(s.samples), labels: len(s.labels), families: len(s.counts), text: text}
}

// family is smp's family.
func (s *scrape) family(smp sample) *family { return s.bySlot[smp.slot] }

// labelsOf is smp's label values (in its family's label order).
func (s *scrape) labelsOf(smp sample) []string {
	n := int32(len(s.bySlot[smp.slot].labels))
	return s.labels[smp.off : smp.off+n : smp.off+n]
}

// familiesOf is the families named prefix+name for each of names, for a
// loop that sets them for many daemons or pools (set looks a name up
// each call); each must be declared.
func familiesOf(prefix string, names []string) []*family {
	out := make([]*family, len(names))
	for i, name := range names {
		if out[i] = families[prefix+name]; out[i] == nil {
			panic("prometheus: undeclared family " + prefix + name)
		}
	}
	return out
}

// set records name{labels} = v; name must be one of families.
func (s *scrape) set(name string, v float64, labels ...string) {
	f := families[name]
	if f == nil {
		panic("prometheus: undeclared family " + name)
	}
	s.add(f, v, labels)
}

// serviceList is Pacific's get_service_list, read once a scrape (Pacific
// reads it in every collector that needs it).
func (s *scrape) serviceList(ctx context.Context, h *module.Handle) (map[serviceKey]service, error) {
	if s.servers == nil {
		servers, err := serviceList(ctx, h)
		if err != nil {
			return nil, err
		}
		s.servers = servers
	}
	return s.servers, nil
}

// scrapeGets are the get()s of a scrape, each with the parts of it the
// collectors read: fetched at its start in one GetMany (one crossing
// bridged, not one a name), then read from the scrape. The map is
// shared (scrapeGetsOf's), not to be modified.
func scrapeGets(release string) map[string]module.Fields {
	scrapeGetsMu.Lock()
	defer scrapeGetsMu.Unlock()
	if g, ok := scrapeGetsOf[release]; ok {
		return g
	}
	g := newScrapeGets(release)
	if len(scrapeGetsOf) < 8 { // a mgr's release name: one
		scrapeGetsOf[release] = g
	}
	return g
}

var (
	scrapeGetsMu sync.Mutex
	scrapeGetsOf = map[string]map[string]module.Fields{}
)

func newScrapeGets(release string) map[string]module.Fields {
	return map[string]module.Fields{
		"health":         nil,
		"df":             nil,
		"osd_pool_stats": nil,
		"osd_stats":      nil,
		"mon_status":     nil,
		"mgr_map":        mgrStatusFields(release),
		"osd_map":        nil,
		"osd_map_crush":  nil,
		"osd_metadata":   nil,
		"pg_summary":     nil,
		"fs_map":         nil,
		// Of every PG's and OSD's statistics, the repaired objects of
		// each pool.
		"pg_dump": {"pool_stats": {"poolid": nil, "stat_sum": {"num_objects_repaired": nil}}},
	}
}

// prefetch gets names (scrapeGets) for the scrape's collectors.
func (s *scrape) prefetch(ctx context.Context, h *module.Handle, names map[string]module.Fields) error {
	got, err := h.GetMany(ctx, names)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if s.gets == nil {
		s.gets = make(map[string]map[string]any, len(got))
	}
	for name, v := range got {
		s.gets[name] = asMap(v)
	}
	return nil
}

// getMap is getMap(ctx, h, name) read once a scrape (prefetched, or on
// first use).
func (s *scrape) getMap(ctx context.Context, h *module.Handle, name string) (map[string]any, error) {
	return s.getMapFields(ctx, h, name, nil)
}

// getMapFields is getMapFields(ctx, h, name, fields) read once a scrape;
// every read of a name in a scrape asks for the same fields.
func (s *scrape) getMapFields(ctx context.Context, h *module.Handle, name string, fields module.Fields) (map[string]any, error) {
	if v, ok := s.gets[name]; ok {
		return v, nil
	}
	v, err := getMapFields(ctx, h, name, fields)
	if err != nil {
		return nil, err
	}
	if s.gets == nil {
		s.gets = map[string]map[string]any{}
	}
	s.gets[name] = v
	return v, nil
}

// getJSON is the decoded JSON of name ("health", "mon_status"), read
// once a scrape.
func (s *scrape) getJSON(ctx context.Context, h *module.Handle, name string) (map[string]any, error) {
	m, err := s.getMap(ctx, h, name)
	if err != nil {
		return nil, err
	}
	return s.memo.decode(name, m)
}

// exposedName is the name a family's samples have in the text:
// "ceph_<name>", escaped as expfmt's text encoder escapes names
// (underscores for what the classic name syntax does not allow).
func exposedName(name string) string {
	return model.EscapeName("ceph_"+name, model.NameEscapingScheme)
}

// declared is the perf counters' families as declared (newFamily's
// work), shared by the scrapes: a cluster's counters are the same from
// one scrape to the next. Bounded: maxCached. A family it keeps has a
// slot of its own, after the static families' (no scrape copies it),
// and an id for its exposed name (families whose names escape alike
// share it), both for good.
var declared boundedCache[familyKey, *family]

type familyKey struct {
	name, help string
	typ        prometheus.ValueType
	labels     labelsKey
}

// declaredNames is the ids of the exposed names of declared's families
// (1 on), and the number of slots given (under declared's lock).
var declaredNames struct {
	ids   map[string]int32
	slots int
	n     atomic.Int32 // len(ids)
}

// declaredIDs is how many exposed names have an id.
func declaredIDs() int { return int(declaredNames.n.Load()) }

// declaredFamily is the family declared with these, never to be modified.
func declaredFamily(name, help string, typ prometheus.ValueType, labelNames []string) *family {
	k := familyKey{name: name, help: help, typ: typ, labels: keyOfLabels(labelNames)}
	return declared.getStoring(k, func() *family {
		f := newFamily(name, help, typ, slices.Clone(labelNames))
		f.text.static = staticExposed()[f.text.exposed]
		return f
	}, func(f *family) { // kept: its slot and name id (declared's lock held)
		if f.text.static {
			return
		}
		d := &declaredNames
		if d.ids == nil {
			d.ids = map[string]int32{}
		}
		id, ok := d.ids[f.text.exposed]
		if !ok {
			id = int32(len(d.ids) + 1)
			d.ids[f.text.exposed] = id
			d.n.Store(int32(len(d.ids)))
		}
		d.slots++
		f.slot, f.id = staticSlots()+d.slots, id
	})
}

// nameID is the id of an exposed name, 0 if it has none.
func nameID(exposed string) int32 {
	declared.mu.Lock()
	defer declared.mu.Unlock()
	return declaredNames.ids[exposed]
}

// dynamicFamily returns the family of this scrape (a perf counter's)
// named name, declared by its first use as Pacific's are ("if path not
// in self.metrics"), or nil if one with these labels does not fit: a
// static family's name, or other label names. Names are compared as
// exposed, so two that escape alike are one family.
func (s *scrape) dynamicFamily(name, help string, typ prometheus.ValueType, labelNames []string) *family {
	return s.scrapeFamily(declaredFamily(name, help, typ, labelNames), labelNames)
}

// scrapeFamily is dynamicFamily for a declared family (declaredFamily).
func (s *scrape) scrapeFamily(decl *family, labelNames []string) *family {
	if decl.text.static {
		return nil
	}
	id := decl.id
	if id == 0 { // not kept by declared (past maxCached): the name's id, if it has one
		id = nameID(decl.text.exposed)
	}
	var f *family
	if id > 0 {
		if int(id) >= len(s.owner) {
			s.owner = append(s.owner, make([]*family, int(id)+1-len(s.owner))...)
		}
		f = s.owner[id]
	} else {
		f = s.dynamic[decl.text.exposed]
	}
	if f == nil {
		f = decl
		if decl.slot == 0 { // a copy with a slot of this scrape's
			c := *decl
			f = &c
			f.slot = s.nextDyn
			s.nextDyn++
		}
		if id > 0 {
			s.owner[id] = f
		} else {
			if s.dynamic == nil {
				s.dynamic = map[string]*family{}
			}
			s.dynamic[decl.text.exposed] = f
		}
	}
	if !slices.Equal(f.labels, labelNames) {
		return nil
	}
	return f
}

// setDynamic records name{labelNames=labels} = v in a family of this
// scrape (dynamicFamily); a sample that does not fit its family is left
// out, and setDynamic reports false.
func (s *scrape) setDynamic(name, help string, typ prometheus.ValueType, labelNames []string, v float64, labels ...string) bool {
	f := s.dynamicFamily(name, help, typ, labelNames)
	if f == nil || len(labels) != len(labelNames) {
		return false
	}
	s.add(f, v, labels)
	return true
}

// add records f{labels} = v; labels must be as many as f's label
// names (a declared family's callers, and setDynamic, see to it).
func (s *scrape) add(f *family, v float64, labels []string) {
	if len(labels) != len(f.labels) {
		panic(fmt.Sprintf("prometheus: family %s takes %d labels, given %d", f.name, len(f.labels), len(labels)))
	}
	slot := f.slot
	if slot == 0 {
		if s.extra == nil {
			s.extra = map[*family]int{}
		}
		if slot = s.extra[f]; slot == 0 {
			slot = s.nextDyn
			s.nextDyn++
			s.extra[f] = slot
		}
	}
	if slot >= len(s.counts) {
		n := slot + 1 - len(s.counts)
		s.counts = append(s.counts, make([]int32, n)...)
		s.bySlot = append(s.bySlot, make([]*family, n)...)
	}
	if s.counts[slot] == 0 {
		s.fams = append(s.fams, f)
		s.bySlot[slot] = f
	}
	s.counts[slot]++
	// A sample with the label values of the one before (a daemon's perf
	// counters, its status families) shares them.
	off := int32(len(s.labels))
	if n := int32(len(labels)); n > 0 && n == s.lastN && slices.Equal(s.labels[s.lastOff:s.lastOff+n], labels) {
		off = s.lastOff
	} else {
		s.labels = append(s.labels, labels...)
		s.lastOff, s.lastN = off, n
	}
	s.samples = append(s.samples, sample{value: v, off: off, slot: int32(slot)})
}

// slotOf is f's slot in this scrape, 0 if it has no sample.
func (s *scrape) slotOf(f *family) int {
	slot := f.slot
	if slot == 0 {
		slot = s.extra[f]
	}
	if slot == 0 || slot >= len(s.counts) || s.bySlot[slot] != f {
		return 0
	}
	return slot
}

// bySlotIndex is the indices of the samples grouped by their slots, each
// slot's in order set: slot k's are idx[start[k]:start[k+1]].
func (s *scrape) bySlotIndex() (idx, start []int32) {
	start = make([]int32, len(s.counts)+1)
	for k, c := range s.counts {
		start[k+1] = start[k] + c
	}
	next := slices.Clone(start[:len(s.counts)])
	idx = make([]int32, len(s.samples))
	for i, smp := range s.samples {
		idx[next[smp.slot]] = int32(i)
		next[smp.slot]++
	}
	return idx, start
}

// staticSlots gives every static family its slot, once (after every
// init has declared them), and returns how many there are.
var staticSlots = sync.OnceValue(func() int {
	names := slices.Sorted(maps.Keys(families))
	for i, name := range names {
		families[name].slot = i + 1
	}
	return len(names)
})

// staticExposed is the exposed names of the static families, once
// every init has declared them (services.go's init adds some: computed
// at the package's variable initialization, they would be missing, and a
// perf counter of such a name would get a second family of it).
var staticExposed = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for name := range families {
		m[exposedName(name)] = true
	}
	return m
})

// typeText is a family type's word in the text format.
func typeText(t prometheus.ValueType) string {
	switch t {
	case prometheus.CounterValue:
		return "counter"
	case prometheus.GaugeValue:
		return "gauge"
	}
	return "untyped"
}

// encode is the samples in the Prometheus text format (writeTo's text).
func (s *scrape) encode() ([]byte, error) {
	var out bytes.Buffer
	out.Grow(s.sizeHint.text + s.sizeHint.text/8)
	_, err := s.writeTo(&out)
	return out.Bytes(), err
}

// chunkSize is how much text writeTo gathers before each write: the
// text is not held whole (5 MiB at 1,000 OSDs), and each write is large
// enough to cost one system call in a response's chunk.
const chunkSize = 256 << 10

// chunks are writeTo's buffers: at most one a scrape running, so what
// is kept from one scrape to the next is bounded by chunkSize, whatever
// the cluster's size.
var chunks = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize+4096); return &b }}

// writeTo writes the samples in the Prometheus text format to w and
// returns how many bytes it wrote, stopping at w's first error. A family
// whose name is not UTF-8, and a sample with a label value that is not,
// are left out, as client_golang refuses them.
func (s *scrape) writeTo(w io.Writer) (int64, error) {
	fams := make([]*family, 0, len(s.fams))
	for _, f := range s.fams {
		if f.text.validName { // client_golang refuses the others
			fams = append(fams, f)
		}
	}
	// By name before escaping, as the registry sorts them.
	s.memo.sortFamilies(fams)
	bp := chunks.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= chunkSize+4096 { // not a long line's growth
			*bp = buf[:0]
			chunks.Put(bp)
		}
	}()
	var total int64
	flush := func() error {
		n, err := w.Write(buf)
		total += int64(n)
		buf = buf[:0]
		return err
	}
	all, start := s.bySlotIndex()
	for _, f := range fams {
		fm := &f.text
		slot := s.slotOf(f)
		idx := all[start[slot]:start[slot+1]]
		n := int32(len(f.labels))
		labelsAt := func(j int32) []string {
			off := s.samples[j].off
			return s.labels[off : off+n]
		}
		// Samples by their label values in label-name order, equal
		// label sets by when they were set: the last is kept. They
		// usually come in order (perf counters by daemon), which one
		// pass sees.
		sorted, dups := true, false
		for i := 1; i < len(idx) && sorted; i++ {
			switch c := compareLabels(labelsAt(idx[i-1]), labelsAt(idx[i]), fm.order); {
			case c > 0:
				sorted = false
			case c == 0:
				dups = true
			}
		}
		if !sorted {
			slices.SortFunc(idx, func(a, b int32) int {
				if c := compareLabels(labelsAt(a), labelsAt(b), fm.order); c != 0 {
					return c
				}
				return cmp.Compare(a, b)
			})
			dups = true // not looked for
		}
		start := len(buf)
		buf = append(buf, fm.header...)
		written := 0
	samples:
		for i, j := range idx {
			labels := labelsAt(j)
			if dups && i+1 < len(idx) && slices.Equal(labels, labelsAt(idx[i+1])) {
				continue // set again later
			}
			line := len(buf)
			if len(fm.order) > 0 {
				for n, k := range fm.order {
					buf = append(buf, fm.segs[n]...)
					var valid bool
					if buf, valid = appendLabelValue(buf, labels[k]); !valid {
						buf = buf[:line] // client_golang refuses the sample
						continue samples
					}
				}
				buf = append(buf, `"} `...)
			} else {
				buf = append(buf, fm.exposed...)
				buf = append(buf, ' ')
			}
			buf = appendFloat(buf, s.samples[j].value)
			buf = append(buf, '\n')
			written++
			// Only after a sample: a family left with none is cut
			// from buf, which must still hold its header.
			if len(buf) >= chunkSize {
				if err := flush(); err != nil {
					return total, fmt.Errorf("prometheus: writing the metrics: %w", err)
				}
			}
		}
		if written == 0 { // a family with no sample is left out
			buf = buf[:start]
		}
	}
	if len(buf) > 0 {
		if sw, ok := w.(sizedWriter); ok && total == 0 {
			sw.wholeSize(len(buf)) // the whole text, in one write
		}
		if err := flush(); err != nil {
			return total, fmt.Errorf("prometheus: writing the metrics: %w", err)
		}
	}
	return total, nil
}

// sizedWriter is a writer writeTo tells the text's length before its
// one write, when the whole text fits in a chunk: an HTTP response then
// has a Content-Length, not the chunked encoding.
type sizedWriter interface {
	io.Writer
	wholeSize(n int)
}

// compareLabels orders two label sets by their values in order (the
// positions of the label names, sorted).
func compareLabels(a, b []string, order []int) int {
	if len(order) == 1 {
		return strings.Compare(a[0], b[0])
	}
	for _, k := range order {
		if c := strings.Compare(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

// appendLabelValue appends label value v escaped (appendEscaped, with
// quotes) and reports whether v is UTF-8; if not, b may hold part of it.
// One pass over a value of printable ASCII, the usual one.
func appendLabelValue(b []byte, v string) ([]byte, bool) {
	i := 0
	for ; i < len(v); i++ {
		if c := v[i]; c >= utf8.RuneSelf || c == '\\' || c == '\n' || c == '"' {
			break
		}
	}
	if i == len(v) {
		return append(b, v...), true
	}
	if !utf8.ValidString(v[i:]) {
		return b, false
	}
	return appendEscaped(b, v, true), true
}

// appendEscaped is expfmt's escaping: a backslash and a new line (and
// with quote a double quote) escaped with a backslash.
func appendEscaped(b []byte, v string, quote bool) []byte {
	i := 0
	for ; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == '\n' || (c == '"' && quote) {
			break
		}
	}
	if i == len(v) {
		return append(b, v...)
	}
	b = append(b, v[:i]...)
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat is expfmt's number format.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case f > -1e6 && f < 1e6 && f == math.Trunc(f):
		// What 'g' writes for an integer of up to six digits.
		return strconv.AppendInt(b, int64(f), 10)
	case f > -(1<<53) && f < 1<<53 && f == math.Trunc(f):
		return appendIntExp(b, int64(f))
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendIntExp is what 'g' writes for an integer of seven digits or more
// that a float64 holds exactly (|n| < 2^53): its shortest form is its own
// digits without the trailing zeros (any other integer is another
// float64), in exponent form, "d.ddde+XX" (the exponent 6 to 15: two
// digits).
func appendIntExp(b []byte, n int64) []byte {
	u := uint64(n)
	if n < 0 {
		b = append(b, '-')
		u = uint64(-n)
	}
	var d [20]byte
	i := len(d)
	for u >= 10 {
		q := u / 10
		i--
		d[i] = byte('0' + u - q*10)
		u = q
	}
	i--
	d[i] = byte('0' + u)
	digits := d[i:]
	exp := len(digits) - 1
	end := len(digits)
	for end > 1 && digits[end-1] == '0' {
		end--
	}
	b = append(b, digits[0])
	if end > 1 {
		b = append(b, '.')
		b = append(b, digits[1:end]...)
	}
	return append(b, 'e', '+', byte('0'+exp/10), byte('0'+exp%10))
}
