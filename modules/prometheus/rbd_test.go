package prometheus

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/gomgr/gomgr/pkg/rbd"
)

// fakePerf is the active mgr's OSD perf queries: each GetOSDPerfCounters
// hands out the next of results, once.
type fakePerf struct {
	next    int
	queries map[int]module.OSDPerfQuery
	results []module.OSDPerfCounters
	addErr  error
	getErr  error
	removed []int
}

func (f *fakePerf) AddOSDPerfQuery(_ context.Context, q module.OSDPerfQuery) (int, error) {
	if f.addErr != nil {
		return 0, f.addErr
	}
	if err := q.Validate(); err != nil {
		return 0, err
	}
	f.next++
	f.queries[f.next] = q
	return f.next, nil
}

func (f *fakePerf) GetOSDPerfCounters(_ context.Context, id int) (module.OSDPerfCounters, error) {
	if f.getErr != nil {
		return module.OSDPerfCounters{}, f.getErr
	}
	if _, ok := f.queries[id]; !ok {
		return module.OSDPerfCounters{}, fmt.Errorf("no query %d", id)
	}
	if len(f.results) == 0 {
		return module.OSDPerfCounters{}, nil
	}
	r := f.results[0]
	f.results = f.results[1:]
	return r, nil
}

func (f *fakePerf) RemoveOSDPerfQuery(_ context.Context, id int) error {
	delete(f.queries, id)
	f.removed = append(f.removed, id)
	return nil
}

// fakeLister is pools' namespaces and images.
type fakeLister struct {
	ns    map[string][]string
	imgs  map[string][]rbd.Image // "pool/ns"
	calls int
}

func (l *fakeLister) namespaces(_ context.Context, pool string) ([]string, error) {
	l.calls++
	return l.ns[pool], nil
}

func (l *fakeLister) namespaceExists(_ context.Context, pool, ns string) (bool, error) {
	for _, n := range l.ns[pool] {
		if n == ns {
			return true, nil
		}
	}
	return false, nil
}

func (l *fakeLister) images(_ context.Context, pool, ns string) ([]rbd.Image, error) {
	if pool == "broken" {
		return nil, fmt.Errorf("%w", syscall.EIO)
	}
	return l.imgs[pool+"/"+ns], nil
}

const rbdOSDMap = `{"pools": [
	{"pool": 1, "pool_name": "rbd", "application_metadata": {"rbd": {}}},
	{"pool": 2, "pool_name": "data", "application_metadata": {"rbd": {}}},
	{"pool": 3, "pool_name": "cephfs", "application_metadata": {"cephfs": {}}},
	{"pool": 4, "pool_name": "broken", "application_metadata": {"rbd": {}}}]}`

func group(pool, ns, objPool, image string, c ...uint64) module.OSDPerfGroup {
	g := module.OSDPerfGroup{K: [][]string{{pool}, {ns}, {objPool, image}}}
	for i := 0; i < len(c); i += 2 {
		g.C = append(g.C, [2]uint64{c[i], c[i+1]})
	}
	return g
}

func TestParseRBDPools(t *testing.T) {
	om := decodeMap(t, rbdOSDMap)
	all := map[string]bool{}
	for _, tc := range []struct {
		option string
		want   map[string]map[string]bool
	}{
		{"", map[string]map[string]bool{}},
		{"rbd", map[string]map[string]bool{"rbd": all}},
		{"rbd/ns1, rbd/ns2  data", map[string]map[string]bool{"rbd": {"ns1": true, "ns2": true}, "data": all}},
		{"rbd/ns1,rbd", map[string]map[string]bool{"rbd": all}},
		{"rbd,rbd/ns1", map[string]map[string]bool{"rbd": all}},
		{"rbd/*,rbd/ns1", map[string]map[string]bool{"rbd": all}},
		{"rbd/", map[string]map[string]bool{"rbd": all}},
		{"rbd/a/b", map[string]map[string]bool{"rbd": all}},
		{"*", map[string]map[string]bool{"rbd": all, "data": all, "broken": all}},
		{"*/ns1", map[string]map[string]bool{"rbd": {"ns1": true}, "data": {"ns1": true}, "broken": {"ns1": true}}},
		{"cephfs,nosuchpool", map[string]map[string]bool{}},
	} {
		got := parseRBDPools(tc.option, om)
		assert.True(t, rbdPoolsEqual(tc.want, got), "%q: %v", tc.option, got)
		assert.Len(t, got, len(tc.want), tc.option)
	}
}

func TestRBDStats(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	r := newRBDStats()
	r.now = func() time.Time { return now }
	perf := &fakePerf{queries: map[int]module.OSDPerfQuery{}}
	lister := &fakeLister{
		ns: map[string][]string{"rbd": {"ns1"}},
		imgs: map[string][]rbd.Image{
			"rbd/":     {{ID: "a1", Name: "img1"}, {ID: "a2", Name: "img2"}},
			"rbd/ns1":  {{ID: "b1", Name: "nsimg"}},
			"data/":    {{ID: "c1", Name: "other"}},
			"data/ns1": {{ID: "zz", Name: "absent namespace"}},
		},
	}
	var errors []string
	env := rbdEnv{poolsOption: "rbd", interval: 300 * time.Second, osdMap: decodeMap(t, rbdOSDMap), perf: perf, lister: lister,
		logError: func(msg string, args ...any) { errors = append(errors, fmt.Sprint(msg, args)) },
		logDebug: func(string, ...any) {}}
	scrape := func() *scrape {
		t.Helper()
		s := newScrape()
		require.NoError(t, r.collect(ctx, s, env))
		return s
	}

	// The first collection lists the pool and adds Pacific's query; the
	// counters are the reports' totals, in the image's own pool (no pool
	// id in the object name) or the one named in it (a data pool).
	perf.results = []module.OSDPerfCounters{{Counters: []module.OSDPerfGroup{
		group("1", "", "", "a1", 3, 0, 1, 0, 4096, 0, 0, 0, 900, 3, 50, 1),
		group("7", "", "1", "a2", 1, 0, 0, 0, 512, 0, 0, 0, 10, 1, 0, 0),  // data in pool 7, image in 1
		group("1", "", "", "unknown", 9, 0, 9, 0, 9, 0, 9, 0, 9, 9, 9, 9), // not listed even after a refresh
		{K: [][]string{{"1"}}}, // not the query's key
	}}}
	s := scrape()
	require.Len(t, perf.queries, 1)
	q := perf.queries[1]
	assert.Equal(t, []module.OSDPerfSubKey{{Type: "pool_id", Regex: "^(1)$"}, {Type: "namespace", Regex: "^(.*)$"},
		{Type: "object_name", Regex: `^(?:rbd|journal)_data\.(?:([0-9]+)\.)?([^.]+)\.`}}, q.KeyDescriptor)
	assert.Equal(t, []string{"write_ops", "read_ops", "write_bytes", "read_bytes", "write_latency", "read_latency"}, q.PerformanceCounterDescriptors)
	assert.Equal(t, []string{"{rbd,,img1} 3", "{rbd,,img2} 1", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_ops"))
	assert.Equal(t, []string{"{rbd,,img1} 4096", "{rbd,,img2} 512", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_bytes"))
	assert.Equal(t, []string{"{rbd,,img1} 900", "{rbd,,img2} 10", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_latency_sum"))
	assert.Equal(t, []string{"{rbd,,img1} 3", "{rbd,,img2} 1", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_latency_count"))
	assert.Equal(t, []string{"{rbd,,img1} 1", "{rbd,,img2} 0", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_read_latency_count"))
	dyn := func(name string) *family {
		f := dynamicOf(s)[exposedName(name)]
		require.NotNil(t, f, name)
		return f
	}
	f := dyn("rbd_write_latency_sum")
	assert.Equal(t, "RBD image writes latency (msec) Total", f.help)
	assert.Equal(t, counter, f.typ)
	assert.Equal(t, []string{"pool", "namespace", "image"}, f.labels)
	assert.Equal(t, "RBD image writes latency (msec) Count", dyn("rbd_write_latency_count").help)
	assert.Equal(t, "RBD image bytes read", dyn("rbd_read_bytes").help)
	assert.Equal(t, counter, dyn("rbd_read_ops").typ)
	assert.Len(t, dynamicOf(s), 8)
	listed := lister.calls
	assert.Equal(t, 1, listed, "listed once: at the start (so not again for the unknown image)")

	// The next report adds to the totals; the pools are not listed again
	// before the refresh interval.
	perf.results = []module.OSDPerfCounters{{Counters: []module.OSDPerfGroup{group("1", "", "", "a1", 2, 0, 0, 0, 100, 0, 0, 0, 20, 2, 0, 0)}}}
	s = scrape()
	assert.Equal(t, []string{"{rbd,,img1} 5", "{rbd,,img2} 1", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_ops"))
	assert.Equal(t, listed, lister.calls)
	// A report of an image created since: listed again at once.
	lister.imgs["rbd/"] = append(lister.imgs["rbd/"], rbd.Image{ID: "a3", Name: "img3"})
	perf.results = []module.OSDPerfCounters{{Counters: []module.OSDPerfGroup{group("1", "", "", "a3", 7, 0, 0, 0, 1, 0, 0, 0, 2, 7, 0, 0)}}}
	s = scrape()
	assert.Equal(t, listed+1, lister.calls)
	assert.Equal(t, []string{"{rbd,,img1} 5", "{rbd,,img2} 1", "{rbd,,img3} 7", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_ops"))
	now = now.Add(300 * time.Second)
	s = scrape()
	assert.Equal(t, listed+2, lister.calls, "listed again at the interval")
	assert.Equal(t, []string{"{rbd,,img1} 5", "{rbd,,img2} 1", "{rbd,,img3} 7", "{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_ops"), "the totals stay")

	// Other pools: the query follows (removed, added again with the new
	// regexes); a namespace that does not exist is left out, a pool that
	// cannot be listed logged.
	env.poolsOption = "rbd/ns1 data/ns1 broken"
	s = scrape()
	assert.Equal(t, []int{1}, perf.removed)
	require.Len(t, perf.queries, 1)
	q = perf.queries[2]
	assert.Equal(t, "^(1|2|4)$", q.KeyDescriptor[0].Regex)
	assert.Equal(t, "^(.*)$", q.KeyDescriptor[1].Regex, "broken: every namespace")
	assert.Equal(t, []string{"{rbd,ns1,nsimg} 0"}, rendered(s, "rbd_write_ops"))
	assert.Contains(t, fmt.Sprint(errors), "failed listing pool broken")
	env.poolsOption = "rbd/ns1 data/ns1 rbd/ns.2"
	lister.ns["rbd"] = append(lister.ns["rbd"], "ns.2")
	scrape()
	assert.Equal(t, `^(ns\.2|ns1)$`, perf.queries[3].KeyDescriptor[1].Regex)

	// The query gone (the mgr restarted): added again at the next
	// collection.
	perf.getErr = objectformat.NewErrorResponseCode("gone", -int(syscall.ENOENT))
	scrape()
	assert.NotContains(t, perf.queries, 3, "removed, in case it was there")
	perf.getErr = nil
	scrape()
	assert.Contains(t, perf.queries, 4)

	// No pools: the query is removed and there are no rbd families.
	env.poolsOption, env.osdMap = "", nil
	s = scrape()
	assert.Empty(t, perf.queries)
	assert.Empty(t, dynamicOf(s))

	// Where the query cannot be added (attached, embedded): no rbd
	// families, the error logged once.
	perf.addErr = module.ErrOSDPerfQueryUnsupported
	env.poolsOption, env.osdMap = "rbd", decodeMap(t, rbdOSDMap)
	errors = nil
	for range 3 {
		assert.Empty(t, dynamicOf(scrape()))
	}
	assert.Len(t, errors, 1)
	assert.Contains(t, errors[0], "OSD perf queries need the active ceph-mgr")

	r.shutdown(ctx, perf, env.logError)
	assert.Empty(t, r.pools)
}
