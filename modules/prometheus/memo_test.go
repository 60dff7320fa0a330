package prometheus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// TestMemoDecode: a wrapped get()'s text is decoded once while it stays
// the same (the scrapes share the value), again when it changes; a text
// that does not decode is an error each time, never kept.
func TestMemoDecode(t *testing.T) {
	var mm scrapeMemo
	wrap := func(text string) map[string]any { return map[string]any{"json": text} }
	a, err := mm.decode("health", wrap(`{"status": "HEALTH_OK"}`))
	require.NoError(t, err)
	b, err := mm.decode("health", wrap(`{"status": "HEALTH_OK"}`))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%p", a), fmt.Sprintf("%p", b), "the same text: the same value")
	other, err := mm.decode("mon_status", wrap(`{"status": "HEALTH_OK"}`))
	require.NoError(t, err)
	assert.NotEqual(t, fmt.Sprintf("%p", a), fmt.Sprintf("%p", other), "by name")
	c, err := mm.decode("health", wrap(`{"status": "HEALTH_WARN"}`))
	require.NoError(t, err)
	assert.Equal(t, "HEALTH_WARN", c["status"])
	for range 2 {
		_, err = mm.decode("health", wrap(`{"status": `))
		require.ErrorContains(t, err, "get health: decoding its JSON")
	}
	d, err := mm.decode("health", wrap(`{"status": "HEALTH_WARN"}`))
	require.NoError(t, err)
	assert.Equal(t, "HEALTH_WARN", d["status"])
	empty, err := mm.decode("health", map[string]any{})
	require.NoError(t, err)
	assert.Empty(t, empty)
	var none *scrapeMemo // a scrape without a module's memo
	e, err := none.decode("health", wrap(`{"status": "HEALTH_ERR"}`))
	require.NoError(t, err)
	assert.Equal(t, "HEALTH_ERR", e["status"])
}

// TestMemoSortFamilies: whatever the families of each scrape (kept from
// the last, new, fewer, in any order), they come out sorted by name as a
// sort would give them.
func TestMemoSortFamilies(t *testing.T) {
	var pool []*family
	for i := range 60 {
		name := fmt.Sprintf("memo_test_%02d_%s", (i*37)%60, strings.Repeat("x", i%3))
		pool = append(pool, declaredFamily(name, "help", gauge, daemonLabel))
	}
	// A copy with a slot of a scrape's, as a family past maxCached is.
	c := *declaredFamily("memo_test_copy", "help", gauge, daemonLabel)
	c.slot = staticSlots() + maxCached + 7
	pool = append(pool, &c)
	var mm scrapeMemo
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := r.IntN(len(pool) + 1)
		fams := slices.Clone(pool)
		r.Shuffle(len(fams), func(i, j int) { fams[i], fams[j] = fams[j], fams[i] })
		fams = fams[:n]
		want := slices.Clone(fams)
		slices.SortFunc(want, func(a, b *family) int { return strings.Compare(a.text.full, b.text.full) })
		mm.sortFamilies(fams)
		require.Equal(t, want, fams, "round %d", round)
	}
	fams := slices.Clone(pool[:5])
	mm.order = familyOrder{}
	mm.sortFamilies(fams)
	assert.Len(t, mm.order.sorted, 5, "the last sort is kept")
	less := slices.Clone(pool[1:3])
	mm.sortFamilies(less)
	assert.Len(t, mm.order.sorted, 5, "placed by the last sort, not sorted again")
}

// TestMemoPerfFamilies: a counter's families are worked out once for
// its schema entry (an RGW's apart), and the memo is emptied when full.
func TestMemoPerfFamilies(t *testing.T) {
	var mm scrapeMemo
	info := &module.PerfCounterInfo{Path: "osd.op_r", Description: "reads", Type: module.PerfCounterU64 | module.PerfCounterCounter}
	c := module.PerfCounter{PerfCounterInfo: info, Value: 3}
	e := mm.perfFamilies("osd.0", false, c, counter)
	assert.Equal(t, []string{"ceph_daemon"}, e.names)
	require.NotNil(t, e.decl.plain)
	assert.Equal(t, "osd_op_r", e.decl.plain.name)
	assert.Same(t, e.decl.plain, mm.perfFamilies("osd.1", false, c, counter).decl.plain)
	rgw := mm.perfFamilies("rgw.a", true, c, counter)
	assert.Equal(t, []string{"instance_id"}, rgw.names)
	assert.Len(t, mm.perf, 2)
	for i := len(mm.perf); i < maxCached; i++ {
		mm.perf[perfInfoKey{info: &module.PerfCounterInfo{}}] = perfEntry{}
	}
	mm.perfFamilies("osd.0", false, module.PerfCounter{PerfCounterInfo: &module.PerfCounterInfo{Path: "osd.op_w", Type: module.PerfCounterU64}}, gauge)
	assert.Len(t, mm.perf, 1, "emptied when full, then the new entry")
}

// TestScrapeFamilyOwner: declared families keep their slots from one
// scrape to the next (no copy); of two whose names escape alike the
// first a scrape uses is the name's, and one with other label names
// does not fit.
func TestScrapeFamilyOwner(t *testing.T) {
	a := declaredFamily("memo_owner.x", "first", gauge, daemonLabel)
	b := declaredFamily("memo_owner_x", "second", counter, daemonLabel)
	other := declaredFamily("memo_owner-x", "labels", gauge, []string{"instance_id"})
	require.NotZero(t, a.slot)
	assert.Equal(t, a.id, b.id, "one exposed name")
	assert.NotEqual(t, a.slot, b.slot)
	for range 2 {
		s := newScrape()
		assert.Same(t, a, s.scrapeFamily(a, daemonLabel), "the declared family itself")
		assert.Same(t, a, s.scrapeFamily(b, daemonLabel), "the name's first")
		assert.Nil(t, s.scrapeFamily(other, []string{"instance_id"}))
	}
	s := newScrape()
	assert.Same(t, b, s.scrapeFamily(b, daemonLabel), "another scrape, another first")
	assert.Same(t, b, s.scrapeFamily(a, daemonLabel))
}
