package prometheus

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomgr/gomgr/pkg/module"
)

// scrapeMemo is what a module keeps of its last scrapes' work for the
// next ones, each part used only where the next scrape's input is the
// same (a cluster changes little between two scrapes): the decoded text
// of health and mon_status, the perf counters' families by counter, and
// the families' order in the text. Every part is bounded.
type scrapeMemo struct {
	mu sync.Mutex // texts and order
	// texts is the last decoded JSON of each wrapped get() (health,
	// mon_status) with its text; the decoded value is shared by the
	// scrapes that read the same text, which only read it.
	texts map[string]decodedText
	// perf is the families of a perf counter (perfSamples'), by its
	// schema entry: the host's entries are shared from one reading to
	// the next (module.PerfCounterInfo), so a counter's families are
	// worked out once. Emptied at maxCached (entries of schemas gone).
	perfMu sync.Mutex // held by perfSamples
	perf   map[perfInfoKey]perfEntry
	// order is the last sorted scrape's families, sorted by name: a
	// scrape whose families are all there sorts them by their positions
	// there, not by their names.
	order familyOrder
}

type decodedText struct {
	text  string
	value map[string]any
}

// perfInfoKey is a counter's schema entry, and whether its daemon is an
// RGW (label instance_id, not ceph_daemon).
type perfInfoKey struct {
	info *module.PerfCounterInfo
	rgw  bool
}

// perfEntry is a counter's declared families and their label names.
type perfEntry struct {
	decl  perfDecl
	names []string
}

// familyOrder is a scrape's families sorted by name, and by slot each
// one's position there.
type familyOrder struct {
	sorted []*family
	rank   []int32 // by slot: 1 + the family's index in sorted, 0 for none
}

func newFamilyOrder(sorted []*family) familyOrder {
	o := familyOrder{sorted: slices.Clone(sorted)}
	n := 0
	for _, f := range sorted {
		n = max(n, f.slot+1)
	}
	o.rank = make([]int32, n)
	for i, f := range sorted {
		o.rank[f.slot] = int32(i + 1)
	}
	return o
}

// place sorts fams (distinct families) as they are in o.sorted, and
// reports whether it could: whether each is there.
func (o familyOrder) place(fams []*family) bool {
	at := make([]*family, len(o.sorted))
	for _, f := range fams {
		if f.slot <= 0 || f.slot >= len(o.rank) {
			return false
		}
		r := o.rank[f.slot]
		if r == 0 || o.sorted[r-1] != f {
			return false
		}
		at[r-1] = f
	}
	i := 0
	for _, f := range at {
		if f != nil {
			fams[i] = f
			i++
		}
	}
	return true
}

// decode is the decoded JSON text of get(name)'s {"json": text} (m), the
// last scrape's value where the text is the same.
func (mm *scrapeMemo) decode(name string, m map[string]any) (map[string]any, error) {
	text, _ := m["json"].(string)
	if mm == nil {
		return decodeText(name, text)
	}
	mm.mu.Lock()
	last, ok := mm.texts[name]
	mm.mu.Unlock()
	if ok && last.text == text {
		return last.value, nil
	}
	v, err := decodeText(name, text)
	if err != nil {
		return nil, err
	}
	mm.mu.Lock()
	if mm.texts == nil {
		mm.texts = map[string]decodedText{}
	}
	if len(mm.texts) < maxCached {
		mm.texts[name] = decodedText{text, v}
	}
	mm.mu.Unlock()
	return v, nil
}

// decodeText decodes get(name)'s JSON text ("" is an empty object).
func decodeText(name, text string) (map[string]any, error) {
	if text == "" {
		return map[string]any{}, nil
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("get %s: decoding its JSON: %w", name, err)
	}
	return out, nil
}

// perfFamilies is the declared families of counter c of daemon (rgw: an
// RGW's), whose statistic type is typ, and their label names.
func (mm *scrapeMemo) perfFamilies(daemon string, rgw bool, c module.PerfCounter, typ prometheus.ValueType) perfEntry {
	work := func() perfEntry {
		p, names, _ := perfPathLabels(daemon, c.Path)
		return perfEntry{declaredPerfFamilies(p, c.Description, c.Type, typ, names), names}
	}
	if mm == nil || c.PerfCounterInfo == nil {
		return work()
	}
	k := perfInfoKey{c.PerfCounterInfo, rgw}
	// perfSamples holds mm.perfMu.
	if e, ok := mm.perf[k]; ok {
		return e
	}
	e := work()
	if mm.perf == nil || len(mm.perf) >= maxCached {
		mm.perf = map[perfInfoKey]perfEntry{}
	}
	mm.perf[k] = e
	return e
}

// sortFamilies sorts fams (distinct families) by name before escaping,
// as client_golang's registry does, in place: by their order in the
// last sort's where all of them were there.
func (mm *scrapeMemo) sortFamilies(fams []*family) {
	byName := func(a, b *family) int { return strings.Compare(a.text.full, b.text.full) }
	if mm == nil {
		slices.SortFunc(fams, byName)
		return
	}
	mm.mu.Lock()
	last := mm.order
	mm.mu.Unlock()
	if last.place(fams) {
		return
	}
	slices.SortFunc(fams, byName)
	o := newFamilyOrder(fams)
	mm.mu.Lock()
	mm.order = o
	mm.mu.Unlock()
}
