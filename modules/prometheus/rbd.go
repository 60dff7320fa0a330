package prometheus

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/rbd"
)

// RBD per-image stats (Pacific's get_rbd_stats): an OSD perf query groups
// the ops on RBD data and journal objects by pool, namespace and image id
// (from the object names: rbd_data.<id>., rbd_data.<pool id>.<id>. for a
// data pool, journal_data.<pool id>.<id>.); the images' names come from
// librbd's omaps (pkg/rbd). The OSDs report to the active ceph-mgr only:
// bridged there are stats, attached and embedded the query is refused
// (-EOPNOTSUPP, logged once) and there are no rbd families, as in Pacific
// when add_osd_perf_query fails.

// rbdCounter is one of Pacific's counters_info, in its order.
type rbdCounter struct {
	key, desc string
	latency   bool // PERFCOUNTER_LONGRUNAVG: _sum and _count
}

var rbdCounters = []rbdCounter{
	{"write_ops", "RBD image writes count", false},
	{"read_ops", "RBD image reads count", false},
	{"write_bytes", "RBD image bytes written", false},
	{"read_bytes", "RBD image bytes read", false},
	{"write_latency", "RBD image writes latency (msec)", true},
	{"read_latency", "RBD image reads latency (msec)", true},
}

var rbdLabels = []string{"pool", "namespace", "image"}

// rbdObjectRegex is the query's object_name sub-key: the pool id (when
// the data is in another pool than the image) and the image id.
const rbdObjectRegex = `^(?:rbd|journal)_data\.(?:([0-9]+)\.)?([^.]+)\.`

var rbdPoolsSplit = regexp.MustCompile(`[\s,]+`)

// rbdPerf is the OSD perf query API (*module.Handle's).
type rbdPerf interface {
	AddOSDPerfQuery(ctx context.Context, q module.OSDPerfQuery) (int, error)
	GetOSDPerfCounters(ctx context.Context, id int) (module.OSDPerfCounters, error)
	RemoveOSDPerfQuery(ctx context.Context, id int) error
}

// rbdLister lists a pool's namespaces and a namespace's images.
type rbdLister interface {
	namespaces(ctx context.Context, pool string) ([]string, error)
	namespaceExists(ctx context.Context, pool, ns string) (bool, error)
	images(ctx context.Context, pool, ns string) ([]rbd.Image, error)
}

// radosLister lists through the module's RADOS API.
type radosLister struct{ h *module.Handle }

func (l radosLister) namespaces(ctx context.Context, pool string) ([]string, error) {
	return rbd.ListNamespaces(ctx, l.h.Rados().IOContext(pool))
}

func (l radosLister) namespaceExists(ctx context.Context, pool, ns string) (bool, error) {
	return rbd.NamespaceExists(ctx, l.h.Rados().IOContext(pool), ns)
}

func (l radosLister) images(ctx context.Context, pool, ns string) ([]rbd.Image, error) {
	io := l.h.Rados().IOContext(pool)
	io.SetNamespace(ns)
	return rbd.ListImages(ctx, io)
}

type rbdImage struct {
	name string
	c    [][2]uint64 // by rbdCounters: the totals since the image was listed
}

type rbdPool struct {
	name    string
	nsNames map[string]bool                 // configured; empty: every namespace
	images  map[string]map[string]*rbdImage // namespace -> image id -> image
}

// rbdStats is Pacific's self.rbd_stats: the pools, their images and
// counter totals, the query. Its methods run one at a time (mu).
type rbdStats struct {
	mu          sync.Mutex
	pools       map[int64]*rbdPool
	refreshTime time.Time
	query       *module.OSDPerfQuery
	queryID     int
	addErr      string // the last add_osd_perf_query error logged
	now         func() time.Time
}

func newRBDStats() *rbdStats {
	return &rbdStats{pools: map[int64]*rbdPool{}, now: time.Now}
}

// rbdEnv is what a collection of the stats reads and logs through.
type rbdEnv struct {
	poolsOption string
	interval    time.Duration // rbd_stats_pools_refresh_interval
	osdMap      map[string]any
	perf        rbdPerf
	lister      rbdLister
	logError    func(msg string, args ...any)
	logDebug    func(msg string, args ...any)
}

// parseRBDPools is the rbd_stats_pools parsing of Pacific's
// get_rbd_stats: "pool[/namespace]" entries, comma or space separated,
// "*" for every pool with the rbd application (or namespace); only
// pools with the rbd application count. The answer maps each pool to
// its namespaces, empty for all.
func parseRBDPools(option string, osdMap map[string]any) map[string]map[string]bool {
	rbdPools := map[string]bool{}
	var rbdPoolList []string
	for _, p := range asList(osdMap["pools"]) {
		pool := asMap(p)
		if _, ok := asMap(pool["application_metadata"])["rbd"]; ok {
			name := asString(pool["pool_name"])
			rbdPools[name] = true
			rbdPoolList = append(rbdPoolList, name)
		}
	}
	type key struct {
		pool, ns string
		all      bool // no namespace given
	}
	var keys []key
	for _, x := range rbdPoolsSplit.Split(option, -1) {
		if x == "" {
			continue
		}
		// As Python's x.split('/', 2): "a/b/c" names no namespace.
		s := strings.SplitN(x, "/", 3)
		k := key{pool: s[0], all: len(s) != 2}
		if len(s) == 2 {
			k.ns = s[1]
		}
		if k.pool == "*" {
			for _, p := range rbdPoolList {
				keys = append(keys, key{p, k.ns, k.all})
			}
		} else if rbdPools[k.pool] { // a deleted pool is left out
			keys = append(keys, k)
		}
	}
	pools := map[string]map[string]bool{}
	all := map[string]bool{}
	for _, k := range keys {
		if k.all || k.ns == "" || k.ns == "*" {
			all[k.pool] = true
		}
		if pools[k.pool] == nil {
			pools[k.pool] = map[string]bool{}
		}
		pools[k.pool][k.ns] = true
	}
	for p := range all { // any entry for every namespace wins
		pools[p] = map[string]bool{}
	}
	return pools
}

// collect is get_rbd_stats: the samples of the configured pools' images.
func (r *rbdStats) collect(ctx context.Context, s *scrape, env rbdEnv) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	pools := parseRBDPools(env.poolsOption, env.osdMap)
	current := map[string]map[string]bool{}
	for id, p := range r.pools {
		if _, ok := pools[p.name]; !ok {
			delete(r.pools, id)
		} else {
			current[p.name] = p.nsNames
		}
	}
	refreshed := false
	if len(pools) > 0 {
		if !rbdPoolsEqual(current, pools) || !r.now().Before(r.refreshTime.Add(env.interval)) {
			r.refresh(ctx, pools, env)
			refreshed = true
		}
	}
	ids := slices.Sorted(maps.Keys(r.pools))
	idStrs := make([]string, len(ids))
	for i, id := range ids {
		idStrs[i] = strconv.FormatInt(id, 10)
	}
	poolRegex := "^(" + strings.Join(idStrs, "|") + ")$"
	nsSet := map[string]bool{}
	for _, p := range r.pools {
		if len(p.nsNames) == 0 {
			nsSet = nil
			break
		}
		for ns := range p.nsNames {
			nsSet[ns] = true
		}
	}
	nsRegex := "^(.*)$"
	if len(nsSet) > 0 {
		var quoted []string
		for _, ns := range slices.Sorted(maps.Keys(nsSet)) {
			quoted = append(quoted, regexp.QuoteMeta(ns))
		}
		nsRegex = "^(" + strings.Join(quoted, "|") + ")$"
	}
	if r.query != nil && (r.query.KeyDescriptor[0].Regex != poolRegex || r.query.KeyDescriptor[1].Regex != nsRegex) {
		r.dropQuery(ctx, env)
	}
	if len(r.pools) == 0 {
		return nil
	}
	if r.query == nil {
		q := module.OSDPerfQuery{
			KeyDescriptor: []module.OSDPerfSubKey{
				{Type: "pool_id", Regex: poolRegex},
				{Type: "namespace", Regex: nsRegex},
				{Type: "object_name", Regex: rbdObjectRegex},
			},
		}
		for _, c := range rbdCounters {
			q.PerformanceCounterDescriptors = append(q.PerformanceCounterDescriptors, c.key)
		}
		id, err := env.perf.AddOSDPerfQuery(ctx, q)
		if err != nil {
			// Every collection tries again; the error is logged when
			// it changes (attached and embedded it always fails).
			if msg := err.Error(); msg != r.addErr {
				r.addErr = msg
				env.logError("failed to add the RBD stats OSD perf query", "err", err)
			}
			return nil
		}
		r.addErr = ""
		r.query, r.queryID = &q, id
	}
	res, err := env.perf.GetOSDPerfCounters(ctx, r.queryID)
	if err != nil {
		// The query is gone (bridged: the shim's connection was
		// closed, the mgr restarted) or unreadable: removed (if it is
		// still there; an error is expected) and added again at the next
		// collection.
		env.logError("failed to get the RBD stats OSD perf counters", "query", r.queryID, "err", err)
		_ = env.perf.RemoveOSDPerfQuery(ctx, r.queryID)
		r.query = nil
		return nil
	}
	for _, c := range res.Counters {
		if len(c.K) < 3 || len(c.K[0]) < 1 || len(c.K[1]) < 1 || len(c.K[2]) < 2 {
			continue // not the query's key
		}
		// Without a pool id in the object name, the image is in the
		// pool of the object.
		idStr := c.K[2][0]
		if idStr == "" {
			idStr = c.K[0][0]
		}
		poolID, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil {
			continue
		}
		if _, ok := r.pools[poolID]; !ok && !refreshed {
			r.refresh(ctx, pools, env)
			refreshed = true
		}
		pool := r.pools[poolID]
		if pool == nil {
			continue
		}
		ns := c.K[1][0]
		if _, ok := pool.images[ns]; !ok {
			continue
		}
		imageID := c.K[2][1]
		if _, ok := pool.images[ns][imageID]; !ok && !refreshed {
			r.refresh(ctx, pools, env)
			refreshed = true
			if pool = r.pools[poolID]; pool == nil {
				continue
			}
		}
		img := pool.images[ns][imageID]
		if img == nil {
			continue
		}
		for i := range min(len(c.C), len(img.c)) {
			img.c[i][0] += c.C[i][0]
			img.c[i][1] += c.C[i][1]
		}
	}
	for _, id := range ids {
		pool := r.pools[id]
		if pool == nil {
			continue
		}
		for _, ns := range slices.Sorted(maps.Keys(pool.images)) {
			images := pool.images[ns]
			for _, imgID := range slices.Sorted(maps.Keys(images)) {
				img := images[imgID]
				labels := []string{pool.name, ns, img.name}
				for i, c := range rbdCounters {
					if c.latency {
						s.setDynamic("rbd_"+c.key+"_sum", c.desc+" Total", counter, rbdLabels, float64(img.c[i][0]), labels...)
						s.setDynamic("rbd_"+c.key+"_count", c.desc+" Count", counter, rbdLabels, float64(img.c[i][1]), labels...)
					} else {
						s.setDynamic("rbd_"+c.key, c.desc, counter, rbdLabels, float64(img.c[i][0]), labels...)
					}
				}
			}
		}
	}
	return nil
}

func rbdPoolsEqual(a, b map[string]map[string]bool) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]bool) bool { return maps.Equal(x, y) })
}

// dropQuery removes the query (a failure is logged: bridged, the shim
// removes it at the latest when its connection closes).
func (r *rbdStats) dropQuery(ctx context.Context, env rbdEnv) {
	if r.query == nil {
		return
	}
	if err := env.perf.RemoveOSDPerfQuery(ctx, r.queryID); err != nil {
		env.logError("failed to remove the RBD stats OSD perf query", "query", r.queryID, "err", err)
	}
	r.query = nil
}

// shutdown is Pacific's shutdown_rbd_stats.
func (r *rbdStats) shutdown(ctx context.Context, perf rbdPerf, logError func(string, ...any)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropQuery(ctx, rbdEnv{perf: perf, logError: logError})
	clear(r.pools)
}

// refresh is refresh_rbd_stats_pools: list the pools' namespaces and
// images again, keeping the totals of the images still there.
func (r *rbdStats) refresh(ctx context.Context, pools map[string]map[string]bool, env rbdEnv) {
	env.logDebug("refreshing rbd pools", "pools", fmt.Sprint(pools))
	ids := map[string]int64{}
	for _, p := range asList(env.osdMap["pools"]) {
		pool := asMap(p)
		ids[asString(pool["pool_name"])] = int64(asFloat(pool["pool"]))
	}
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		if err := r.refreshPool(ctx, name, ids, pools[name], env); err != nil {
			env.logError(fmt.Sprintf("failed listing pool %s: %v", name, err))
		}
	}
	r.refreshTime = r.now()
}

func (r *rbdStats) refreshPool(ctx context.Context, name string, ids map[string]int64, cfgNS map[string]bool, env rbdEnv) error {
	id, ok := ids[name]
	if !ok {
		return fmt.Errorf("no pool %s in the OSD map", name)
	}
	var nsNames []string
	if len(cfgNS) > 0 {
		nsNames = slices.Sorted(maps.Keys(cfgNS))
	} else {
		listed, err := env.lister.namespaces(ctx, name)
		if err != nil {
			return err
		}
		nsNames = append([]string{""}, listed...)
	}
	pool := r.pools[id]
	if pool == nil {
		pool = &rbdPool{images: map[string]map[string]*rbdImage{}}
		r.pools[id] = pool
	}
	pool.name, pool.nsNames = name, cfgNS
	for ns := range pool.images {
		if !slices.Contains(nsNames, ns) {
			delete(pool.images, ns)
		}
	}
	for _, ns := range nsNames {
		if ns != "" {
			ok, err := env.lister.namespaceExists(ctx, name, ns)
			if err != nil {
				return err
			}
			if !ok {
				env.logDebug(fmt.Sprintf("unknown namespace %s for pool %s", ns, name))
				continue
			}
		}
		listed, err := env.lister.images(ctx, name, ns)
		if err != nil {
			return err
		}
		old := pool.images[ns]
		images := map[string]*rbdImage{}
		for _, im := range listed {
			img := &rbdImage{name: im.Name, c: make([][2]uint64, len(rbdCounters))}
			if o := old[im.ID]; o != nil {
				img.c = o.c
			}
			images[im.ID] = img
		}
		pool.images[ns] = images
	}
	return nil
}

// getRBDStats is the collection's get_rbd_stats, with this mgr's
// (localized) rbd_stats_pools and rbd_stats_pools_refresh_interval.
func (m *Module) getRBDStats(ctx context.Context, s *scrape) error {
	env := rbdEnv{
		poolsOption: defaults.RBDStatsPools,
		interval:    time.Duration(defaults.RBDStatsPoolsRefresh) * time.Second,
		perf:        m.mgr,
		lister:      radosLister{m.mgr},
		logError:    m.mgr.Log().Error,
		logDebug:    m.mgr.Log().Debug,
	}
	if v, err := m.mgr.LocalizedOption("rbd_stats_pools"); err == nil {
		if str, ok := v.(string); ok {
			env.poolsOption = str
		}
	}
	if v, err := m.mgr.LocalizedOption("rbd_stats_pools_refresh_interval"); err == nil {
		if n, ok := v.(int64); ok {
			env.interval = time.Duration(n) * time.Second
		}
	}
	// Without pools (the default) there is nothing to look up: the
	// collection only drops what an earlier value left.
	if strings.TrimSpace(env.poolsOption) != "" {
		om, err := getMap(ctx, m.mgr, "osd_map")
		if err != nil {
			return err
		}
		env.osdMap = om
	}
	return m.rbd.collect(ctx, s, env)
}
