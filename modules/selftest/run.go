package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// waitTimeout bounds every wait of a run (notifications, option changes
// reaching the logger).
const waitTimeout = 5 * time.Second

// run is "mgr self-test run".
func (m *Module) run(ctx context.Context, _ *runArgs) objectformat.Result {
	if !m.runMu.TryLock() {
		return objectformat.Failed(-int(syscall.EBUSY), "a self-test run is already in progress")
	}
	defer m.runMu.Unlock()
	m.h.Log().Info("Running self-test procedure...")
	r := newRunner(ctx, m)
	r.run("getters", r.testGetters)
	r.run("cluster data", r.testClusterData)
	r.run("daemons", r.testDaemons)
	r.run("perf counters", r.testPerfCounters)
	r.run("options", r.testOptions)
	r.run("localized options", r.testLocalizedOptions)
	r.run("other modules' options", r.testModuleOptions)
	r.run("kv store", r.testStore)
	r.run("health", r.testHealth)
	r.run("commands", r.testCommands)
	r.run("commands, completed", r.testCommandsCompleted)
	r.run("remote", r.testRemote)
	r.run("logging", r.testLogging)
	r.run("misc", r.testMisc)
	r.run("osd map", r.testOSDMap)
	r.run("ceph options", r.testCephOptions)
	r.run("rados", r.testRados)
	res := r.finish("Self-test succeeded")
	m.h.Log().Info("Finished self-test procedure.", "failed_checks", len(r.failures))
	return res
}

// runner runs checks and collects every failure instead of stopping at
// the first one.
type runner struct {
	ctx      context.Context
	m        *Module
	h        *module.Handle
	section  string
	failures []string
	cleanups []cleanup
}

type cleanup struct {
	what string
	fn   func(ctx context.Context) error
}

func newRunner(ctx context.Context, m *Module) *runner {
	return &runner{ctx: ctx, m: m, h: m.h}
}

// run runs one section; a panic in it is a failure, not the end of the
// run.
func (r *runner) run(section string, fn func()) {
	r.section = section
	defer func() {
		if p := recover(); p != nil {
			r.failf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	fn()
}

// finish undoes the run's changes (last first) and builds the reply.
func (r *runner) finish(okMsg string) objectformat.Result {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*waitTimeout)
	defer cancel()
	r.section = "cleanup"
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		c := r.cleanups[i]
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.failf("%s: panic: %v", c.what, p)
				}
			}()
			if err := c.fn(ctx); err != nil {
				r.failf("%s: %v", c.what, err)
			}
		}()
	}
	if len(r.failures) == 0 {
		return objectformat.Result{Stderr: okMsg}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Self-test failed: %d check(s) failed:", len(r.failures))
	for _, f := range r.failures {
		b.WriteString("\n  - " + f)
	}
	return objectformat.Failed(-int(syscall.EINVAL), b.String())
}

func (r *runner) failf(format string, args ...any) {
	r.failures = append(r.failures, r.section+": "+fmt.Sprintf(format, args...))
}

func (r *runner) check(ok bool, format string, args ...any) bool {
	if !ok {
		r.failf(format, args...)
	}
	return ok
}

// ok fails when err is not nil.
func (r *runner) ok(what string, err error) bool {
	if err != nil {
		r.failf("%s: unexpected error: %v", what, err)
		return false
	}
	return true
}

// fails checks that err is an error with the errno (0: any) whose text
// holds contains.
func (r *runner) fails(what string, err error, errno int, contains string) {
	if err == nil {
		r.failf("%s: succeeded, want an error", what)
		return
	}
	if errno != 0 && objectformat.ErrnoOf(err) != errno {
		r.failf("%s: error %q has errno %d, want %d", what, err, objectformat.ErrnoOf(err), errno)
	}
	if !strings.Contains(err.Error(), contains) {
		r.failf("%s: error %q does not mention %q", what, err, contains)
	}
}

// equal compares values and their types.
func (r *runner) equal(what string, got, want any) bool {
	if !reflect.DeepEqual(got, want) {
		r.failf("%s: got %#v (%T), want %#v (%T)", what, got, got, want, want)
		return false
	}
	return true
}

func (r *runner) addCleanup(what string, fn func(ctx context.Context) error) {
	r.cleanups = append(r.cleanups, cleanup{what, fn})
}

// waitFor polls cond until it holds or the wait times out.
func (r *runner) waitFor(what string, cond func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			r.failf("%s: timed out after %s", what, waitTimeout)
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// defaultOf is an option's declared default, typed as Option returns it.
func defaultOf(key string) any {
	for _, o := range options.Declare() {
		if o.Name == key {
			return o.Default
		}
	}
	for _, o := range optschema.Builtins { // log_level, log_to_cluster, ...
		if o.Name == key {
			return o.Default
		}
	}
	return nil
}

// saveOption records an option's effective global and localized values so
// finish puts them back (a value equal to the default, or a localized
// value equal to the global one, is restored by unsetting it).
func (r *runner) saveOption(key string) {
	before, err := r.h.Option(key)
	if !r.ok("read "+key+" before the test", err) {
		return
	}
	beforeL, err := r.h.LocalizedOption(key)
	if !r.ok("read localized "+key+" before the test", err) {
		return
	}
	r.addCleanup("restore option "+key, func(ctx context.Context) error {
		v := before
		if reflect.DeepEqual(v, defaultOf(key)) {
			v = nil
		}
		lv := beforeL
		if reflect.DeepEqual(lv, before) {
			lv = nil
		}
		return errors.Join(r.h.SetOption(ctx, key, v), r.h.SetLocalizedOption(ctx, key, lv))
	})
}

// saveStore records a KV entry so finish puts it back.
func (r *runner) saveStore(key string) {
	v, ok := r.h.Store(key)
	r.addCleanup("restore store "+key, func(ctx context.Context) error {
		if ok {
			return r.h.SetStore(ctx, key, v)
		}
		return r.h.DeleteStore(ctx, key)
	})
}

// set sets an option and fails the check on error.
func (r *runner) set(key string, v any) bool {
	return r.ok(fmt.Sprintf("set_module_option(%s, %#v)", key, v), r.h.SetOption(r.ctx, key, v))
}

func (r *runner) setLocalized(key string, v any) bool {
	return r.ok(fmt.Sprintf("set_localized_module_option(%s, %#v)", key, v), r.h.SetLocalizedOption(r.ctx, key, v))
}

// want checks an option's value.
func (r *runner) want(key string, want any) {
	v, err := r.h.Option(key)
	if r.ok("get_module_option("+key+")", err) {
		r.equal("get_module_option("+key+")", v, want)
	}
}

func (r *runner) wantLocalized(key string, want any) {
	v, err := r.h.LocalizedOption(key)
	if r.ok("get_localized_module_option("+key+")", err) {
		r.equal("get_localized_module_option("+key+")", v, want)
	}
}

// setAndWant sets an option and reads it back as want.
func (r *runner) setAndWant(key string, v, want any) {
	if r.set(key, v) {
		r.want(key, want)
	}
}

// refused checks that setting an option fails with -EINVAL and leaves
// its value alone.
func (r *runner) refused(key string, v any, contains string) {
	before, _ := r.h.Option(key)
	r.fails(fmt.Sprintf("set_module_option(%s, %#v)", key, v), r.h.SetOption(r.ctx, key, v), -int(syscall.EINVAL), contains)
	r.want(key, before)
}

func (r *runner) testGetters() {
	h := r.h
	r.equal("name", h.Name(), Name)
	r.check(h.MgrID() != "", "get_mgr_id() is empty")
	r.check(h.Version() != "", "version is empty")
	r.check(h.ReleaseName() != "", "release_name is empty")
}

// clusterNames are the data names Python's selftest reads, plus the
// names gomgr adds.
var clusterNames = []string{
	"fs_map", "osdmap_crush_map_text", "osd_map", "osd_map_tree", "osd_map_crush", "config", "mon_map",
	"service_map", "osd_metadata", "mds_metadata", "pg_summary", "pg_status", "pg_dump", "pg_ready", "df",
	"pg_stats", "pool_stats", "osd_stats", "osd_ping_times", "health", "mon_status", "mgr_map", "io_rate",
	"config_options", "modified_config_options", "osd_pool_stats", "devices", "device no-such-device", "mgr_ips",
}

// clusterMembers are members each name's value has in Python (a dict with
// them), for the names whose value is such a dict in every mode.
var clusterMembers = map[string][]string{
	"osd_map": {"epoch", "fsid", "osds", "pools"}, "osd_map_tree": {"nodes"}, "osd_map_crush": {"devices", "buckets", "rules"},
	"mon_map": {"epoch", "mons"}, "fs_map": {"epoch", "filesystems", "standbys"}, "pg_summary": {"by_osd", "by_pool", "all"},
	"pg_status": {"num_pgs"}, "pg_dump": {"pg_stats", "osd_stats"}, "pg_ready": {"pg_ready"}, "df": {"stats", "pools"},
	"pg_stats": {"pg_stats"}, "pool_stats": {"pool_stats"}, "osd_stats": {"osd_stats"}, "osd_ping_times": {"osd_ping_times"},
	"mgr_map": {"active_name", "modules", "always_on_modules", "available_modules"}, "io_rate": {"pg_stats_delta"},
	"config_options": {"options"}, "modified_config_options": {"options"}, "osd_pool_stats": {"pool_stats"},
	"devices": {"devices"}, "mgr_ips": {"ips"}, "config": {"mgr_stats_period", "run_dir"}, "service_map": {"services"},
}

func (r *runner) testClusterData() {
	h := r.h
	for _, n := range clusterNames {
		v, err := h.Get(r.ctx, n)
		if !r.ok("get("+n+")", err) {
			continue
		}
		// Every name the real mgr knows has a value, in every mode.
		if !r.check(v != nil, "get(%s) = None, want a value", n) {
			continue
		}
		if want := clusterMembers[n]; want != nil {
			m, isMap := v.(map[string]any)
			if r.check(isMap, "get(%s) is %T, want a dict", n, v) {
				for _, k := range want {
					r.check(m[k] != nil, "get(%s) has no %s: %.200v", n, k, m)
				}
			}
		}
	}
	if v, err := h.Get(r.ctx, "device no-such-device"); err == nil {
		r.equal("get(device no-such-device)", v, any(map[string]any{}))
	}
	if v, err := h.Get(r.ctx, "osdmap_crush_map_text"); err == nil {
		r.equal("get(osdmap_crush_map_text)", v, any("")) // as Pacific gives it
	}
	if v, err := h.Get(r.ctx, "mgr_map"); err == nil {
		mm, _ := v.(map[string]any)
		aom, _ := mm["always_on_modules"].(map[string]any)
		_, hasRelease := aom[h.ReleaseName()]
		r.check(hasRelease, "get(mgr_map) always_on_modules %v is not keyed by release (%s)", aom, h.ReleaseName())
	}
	v, err := h.Get(r.ctx, "__OBJ_DNE__")
	if r.ok("get(__OBJ_DNE__)", err) {
		r.check(v == nil, "get(__OBJ_DNE__) = %#v, want None", v)
	}
	mgrMap, err := h.Get(r.ctx, "mgr_map")
	if r.ok("get(mgr_map)", err) {
		mm, isMap := mgrMap.(map[string]any)
		if r.check(isMap, "get(mgr_map) is %T, want a map", mgrMap) {
			if h.HaveMonConnection() {
				// The cluster's own map: its active mgr is a real one.
				active, _ := mm["active_name"].(string)
				r.check(active != "", "get(mgr_map) of the cluster has no active_name: %v", mm)
			} else {
				r.equal("mgr_map active_name", mm["active_name"], any(h.MgrID()))
				r.check(contains(mm["modules"], Name), "mgr_map modules %v does not list %s", mm["modules"], Name)
			}
		}
	}
	if hm, ok := r.getWrapped("health"); ok {
		status, _ := hm["status"].(string)
		r.check(strings.HasPrefix(status, "HEALTH_"), "get(health) has no status: %v", hm)
	}
	if mm, ok := r.getWrapped("mon_status"); ok {
		_, hasQuorum := mm["quorum"].([]any)
		r.check(hasQuorum, "get(mon_status) has no quorum: %v", mm)
	}
}

// getWrapped gets one of the names Python's get() answers as {"json":
// "<text>"} (health, mon_status) and decodes the text, checking the shape.
func (r *runner) getWrapped(name string) (map[string]any, bool) {
	what := "get(" + name + ")"
	v, err := r.h.Get(r.ctx, name)
	if !r.ok(what, err) {
		return nil, false
	}
	w, _ := v.(map[string]any)
	text, isText := w["json"].(string)
	if !r.check(len(w) == 1 && isText, "%s = %v, want {\"json\": \"<text>\"} as Python's", what, v) {
		return nil, false
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(text), &decoded); err != nil {
		r.failf("%s: the json text does not decode: %v", what, err)
		return nil, false
	}
	return decoded, true
}

// clusterDaemons lists the OSD ids of the osd map and the mon names of
// the mon map (none on the embedded state), and the active mgr of the
// cluster's mgr map when it is not this daemon.
func (r *runner) clusterDaemons() (osds, mons []string, otherMgr string) {
	h := r.h
	if v, err := h.Get(r.ctx, "osd_map"); r.ok("get(osd_map)", err) {
		om, _ := v.(map[string]any)
		list, _ := om["osds"].([]any)
		for _, o := range list {
			om, _ := o.(map[string]any)
			if id, ok := numberOf([]any{om["osd"]}); ok {
				osds = append(osds, fmt.Sprint(int64(id)))
			} else {
				r.failf("get(osd_map): osd entry without an integer id: %v", o)
			}
		}
	}
	if v, err := h.Get(r.ctx, "mon_map"); r.ok("get(mon_map)", err) {
		mm, _ := v.(map[string]any)
		list, _ := mm["mons"].([]any)
		for _, m := range list {
			mm, _ := m.(map[string]any)
			if name, ok := mm["name"].(string); ok {
				mons = append(mons, name)
			}
		}
	}
	if h.HaveMonConnection() {
		v, _ := h.Get(r.ctx, "mgr_map")
		mm, _ := v.(map[string]any)
		if active, _ := mm["active_name"].(string); active != h.MgrID() {
			otherMgr = active
		}
	}
	return osds, mons, otherMgr
}

// wantMetadata checks that get_metadata of an existing daemon is a map of
// strings with the hostname, as Python's is.
func (r *runner) wantMetadata(svcType, svcID string) map[string]any {
	what := fmt.Sprintf("get_metadata(%s, %s)", svcType, svcID)
	md, err := r.h.GetMetadata(r.ctx, svcType, svcID)
	if !r.ok(what, err) || !r.check(md != nil, "%s is None", what) {
		return nil
	}
	for k, v := range md {
		if _, isString := v.(string); !isString {
			r.failf("%s[%s] = %#v (%T), want a string", what, k, v, v)
		}
	}
	host, _ := md["hostname"].(string)
	r.check(host != "", "%s has no hostname: %v", what, md)
	return md
}

// contains reports whether a decoded JSON list holds s.
func contains(list any, s string) bool {
	switch l := list.(type) {
	case []any:
		for _, e := range l {
			if e == s {
				return true
			}
		}
	case []string:
		for _, e := range l {
			if e == s {
				return true
			}
		}
	}
	return false
}

func (r *runner) testDaemons() {
	h, ctx, id := r.h, r.ctx, r.h.MgrID()
	if md := r.wantMetadata("mgr", id); md != nil {
		if v, ok := md["id"]; ok {
			r.equal("metadata id", v, any(id))
		}
	}
	_, err := h.GetDaemonStatus(ctx, "mgr", id)
	r.ok("get_daemon_status(mgr, "+id+")", err)

	// The cluster's daemons (none on the embedded state).
	osds, mons, otherMgr := r.clusterDaemons()
	osdMeta, err := h.Get(ctx, "osd_metadata")
	r.ok("get(osd_metadata)", err)
	for _, osd := range osds {
		md := r.wantMetadata("osd", osd)
		all, _ := osdMeta.(map[string]any)
		if want, _ := all[osd].(map[string]any); md != nil && want != nil {
			r.equal("get_metadata(osd, "+osd+") ceph_version", md["ceph_version"], want["ceph_version"])
		}
		st, err := h.GetDaemonStatus(ctx, "osd", osd)
		if r.ok("get_daemon_status(osd, "+osd+")", err) {
			r.check(st != nil, "get_daemon_status(osd, %s) is None", osd)
		}
	}
	for _, mon := range mons {
		r.wantMetadata("mon", mon)
	}
	if otherMgr != "" {
		r.wantMetadata("mgr", otherMgr)
	}
	for _, missing := range [][2]string{{"mgr", "__no_such_mgr__"}, {"mon", "__no_such_mon__"}, {"osd", "999999"}, {"osd", "not-an-id"}, {"mds", "__no_such_mds__"}, {"rgw", "__no_such_rgw__"}} {
		what := fmt.Sprintf("get_metadata(%s, %s)", missing[0], missing[1])
		md, err := h.GetMetadata(ctx, missing[0], missing[1])
		if r.ok(what, err) {
			r.check(md == nil, "%s of a missing daemon = %v, want None", what, md)
		}
		what = fmt.Sprintf("get_daemon_status(%s, %s)", missing[0], missing[1])
		st, err := h.GetDaemonStatus(ctx, missing[0], missing[1])
		if r.ok(what, err) {
			r.check(st == nil, "%s of a missing daemon = %v, want None", what, st)
		}
	}

	servers, err := h.ListServers(ctx)
	host := ""
	if r.ok("list_servers()", err) {
		host, _ = serverOf(servers, "mgr", id)
		r.check(host != "", "list_servers() does not list mgr.%s: %v", id, servers)
		for _, want := range append(prefixed("osd", osds), prefixed("mon", mons)...) {
			_, listed := serverOf(servers, want[0], want[1])
			r.check(listed, "list_servers() does not list %s.%s: %v", want[0], want[1], servers)
		}
	}
	if host != "" {
		s, err := h.GetServer(ctx, host)
		if r.ok("get_server("+host+")", err) && r.check(s != nil, "get_server(%s) is None", host) {
			r.equal("get_server hostname", s["hostname"], any(host))
		}
	}
	none, err := h.GetServer(ctx, "__no_such_host__")
	if r.ok("get_server(__no_such_host__)", err) {
		services, isList := none["services"].([]any)
		r.check(none["hostname"] == "__no_such_host__" && isList && len(services) == 0 && none["ceph_version"] == "",
			"get_server of a missing host = %v, want {hostname, services: [], ceph_version: \"\"} as the real mgr's", none)
	}

	r.wantCounters("mgr", id)
	r.wantNoSample("mgr", id, "nosuch.counter")
	r.wantNoSample("osd", "999999", "osd.op_r")
	schema, err := h.GetPerfSchema(ctx, "osd", "999999")
	if r.ok("get_perf_schema of a missing OSD", err) {
		r.check(len(schema) == 0, "get_perf_schema of a missing OSD = %v, want {}", schema)
	}
	if len(osds) > 0 {
		r.wantCounters("osd", osds[0])
	}
}

// wantCounters checks that a daemon has a perf schema in Python's shape
// ({"<type>.<id>": {"<section>.<counter>": {...}}}) and that get_counter
// gives a series for one of its counters: samples of [timestamp, value]
// or, for averages, [timestamp, sum, count]. A real mgr (bridged) has a
// daemon's counters only after its first report (every mgr_stats_period),
// so both are polled for up to counterWait.
func (r *runner) wantCounters(svcType, svcID string) {
	daemon := svcType + "." + svcID
	what := fmt.Sprintf("get_perf_schema(%s, %s)", svcType, svcID)
	var (
		path   string
		info   map[string]any
		series []any
		c      map[string]any
	)
	failed := false
	r.pollCounters(func() bool {
		schema, err := r.h.GetPerfSchema(r.ctx, svcType, svcID)
		if failed = !r.ok(what, err); failed {
			return true
		}
		counters, isMap := schema[daemon].(map[string]any)
		if failed = !r.check(len(schema) == 1 && isMap, "%s = %v, want {%q: {counter path: ...}} as Python's", what, schema, daemon); failed {
			return true
		}
		if len(counters) > 0 {
			path = sortedKeys(counters)[0]
			info, _ = counters[path].(map[string]any)
			if c, err = r.h.GetCounter(r.ctx, svcType, svcID, path); !r.ok("get_counter("+daemon+", "+path+")", err) {
				failed = true
				return true
			}
			series, _ = c[path].([]any)
		}
		return len(series) > 0
	})
	if failed {
		return
	}
	if !r.check(path != "", "%s declares no counter within %v", what, counterWait) {
		return
	}
	_, hasType := numberOf([]any{info["type"]})
	_, hasPrio := numberOf([]any{info["priority"]})
	r.check(strings.Contains(path, ".") && hasType && hasPrio, "%s: counter %s = %v, want section.counter with a type and a priority", what, path, info)
	what = fmt.Sprintf("get_counter(%s, %s, %s)", svcType, svcID, path)
	if !r.check(len(series) > 0, "%s = %v, want a series", what, c) {
		return
	}
	for _, s := range series {
		sample, _ := s.([]any)
		t, isTime := numberOf(sample)
		r.check((len(sample) == 2 || len(sample) == 3) && isTime && t > 0, "%s sample %v is not [timestamp, value] or [timestamp, sum, count]", what, s)
	}
}

// counterWait bounds the wait for a daemon's first counters: two of Ceph's
// default mgr_stats_period (5 s) and some.
const counterWait = 15 * time.Second

// pollCounters calls try every half second until it returns true, for
// up to counterWait (a real mgr has a daemon's counters only after its
// first report, every mgr_stats_period).
func (r *runner) pollCounters(try func() (done bool)) {
	for deadline := time.Now().Add(counterWait); !try(); {
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			return
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-r.ctx.Done():
		}
	}
}

// numberOf returns the first element of sample as a number.
func numberOf(sample []any) (float64, bool) {
	if len(sample) == 0 {
		return 0, false
	}
	switch n := sample[0].(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// wantNoSample checks that get_counter of an unknown daemon or counter
// gives an empty series.
func (r *runner) wantNoSample(svcType, svcID, path string) {
	what := fmt.Sprintf("get_counter(%s, %s, %s)", svcType, svcID, path)
	c, err := r.h.GetCounter(r.ctx, svcType, svcID, path)
	if r.ok(what, err) {
		series, isList := c[path].([]any)
		r.check(isList && len(series) == 0, "%s = %v, want no sample", what, c)
	}
}

// prefixed pairs a daemon type with each id.
func prefixed(svcType string, ids []string) [][2]string {
	out := make([][2]string, len(ids))
	for i, id := range ids {
		out[i] = [2]string{svcType, id}
	}
	return out
}

// serverOf finds a daemon in list_servers' answer and returns its host.
func serverOf(servers []map[string]any, svcType, svcID string) (host string, listed bool) {
	for _, s := range servers {
		svcs, _ := s["services"].([]any)
		for _, svc := range svcs {
			if sm, _ := svc.(map[string]any); sm["type"] == svcType && fmt.Sprint(sm["id"]) == svcID {
				host, _ = s["hostname"].(string)
				return host, true
			}
		}
	}
	return "", false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (r *runner) testOptions() {
	h := r.h
	for _, k := range []string{"testkey", "roption1", "roption2", "rwoption1", "rwoption2", "rwoption3", "rwoption4",
		"rwoption5", "rwoption6", "rwoption7", "rwoption_uint", "rwoption_secs", "rwoption_size", "rwoption_addr",
		"rwoption_uuid", "rwoption_enum"} {
		r.saveOption(k)
	}
	enoent := -int(syscall.ENOENT)
	_, err := h.Option("idontexist")
	r.fails("get_module_option(idontexist)", err, enoent, "not declared")
	_, err = h.LocalizedOption("idontexist")
	r.fails("get_localized_module_option(idontexist)", err, enoent, "not declared")
	r.fails("set_module_option(idontexist)", h.SetOption(r.ctx, "idontexist", "x"), enoent, "not declared")
	r.fails("set_localized_module_option(idontexist)", h.SetLocalizedOption(r.ctx, "idontexist", "x"), enoent, "not declared")

	r.setAndWant("testkey", "testvalue", "testvalue")

	// Defaults.
	for _, k := range []string{"roption1", "roption2", "rwoption6", "rwoption_enum"} {
		r.set(k, nil)
		r.setLocalized(k, nil)
	}
	r.want("roption1", nil)
	r.want("roption2", "xyz")
	r.want("rwoption6", true)
	r.wantLocalized("rwoption6", true)
	r.want("rwoption_enum", "alpha")

	// Typed values: untyped options are strings.
	r.setAndWant("rwoption1", 8080, "8080")
	r.setAndWant("rwoption2", "010", int64(10)) // Ceph's base 10, SI suffixes
	r.setAndWant("rwoption2", "10K", int64(10000))
	r.setAndWant("rwoption2", 10, int64(10))
	r.setAndWant("rwoption3", 1.5, 1.5)
	r.setAndWant("rwoption4", "foo", "foo")
	r.setAndWant("rwoption5", false, false)
	r.setAndWant("rwoption5", "true", true)
	r.setAndWant("rwoption_uint", 7, int64(7))
	r.setAndWant("rwoption_secs", "90s", 90.0)
	r.setAndWant("rwoption_secs", 2.5, 2.5)
	r.setAndWant("rwoption_secs", "1h 30m", 5400.0)
	r.setAndWant("rwoption_size", "4K", int64(4096))
	r.setAndWant("rwoption_addr", "127.0.0.1:6789", "127.0.0.1:6789")
	r.setAndWant("rwoption_uuid", "2F0E0B8C-8F3B-4C1E-9D55-6A1D1F0F9E7A", "2f0e0b8c-8f3b-4c1e-9d55-6a1d1f0f9e7a")
	r.refused("rwoption2", "abc", "strict_si_cast: unit prefix not recognized")
	r.refused("rwoption2", "0x10", "strict_si_cast: unit prefix not recognized")
	r.refused("rwoption3", "abc", "not a number")
	r.refused("rwoption5", "maybe", "Expected option value to be integer, got 'maybe'")
	r.refused("rwoption_uint", -1, "negative")
	r.refused("rwoption_secs", "soon", "expected digit")
	r.refused("rwoption_size", "lots", "strict_iecstrtoll: illegal prefix (length > 2)")
	r.refused("rwoption_size", "4KiB", "strict_iecstrtoll: illegal prefix (length > 2)")
	r.refused("rwoption_addr", "not-an-address", "not an IP address")
	r.refused("rwoption_uuid", "not-a-uuid", "not a UUID")

	// Typed accessors.
	if s, err := h.StringOption("rwoption4"); r.ok("StringOption(rwoption4)", err) {
		r.equal("StringOption(rwoption4)", s, "foo")
	}
	if i, err := h.IntOption("rwoption2"); r.ok("IntOption(rwoption2)", err) {
		r.equal("IntOption(rwoption2)", i, int64(10))
	}
	if f, err := h.FloatOption("rwoption3"); r.ok("FloatOption(rwoption3)", err) {
		r.equal("FloatOption(rwoption3)", f, 1.5)
	}
	if b, err := h.BoolOption("rwoption6"); r.ok("BoolOption(rwoption6)", err) {
		r.equal("BoolOption(rwoption6)", b, true)
	}
	_, err = h.IntOption("rwoption4")
	r.check(err != nil, "IntOption(rwoption4) of a str option succeeded")

	// Unsetting reverts to the default.
	r.setAndWant("rwoption6", false, false)
	r.setAndWant("rwoption6", nil, true)
	r.setAndWant("roption2", "abc", "abc")
	r.setAndWant("roption2", nil, "xyz")
	r.setAndWant("rwoption2", nil, nil)

	// Bounds and enums.
	r.setAndWant("rwoption7", 42, int64(42))
	r.setAndWant("rwoption7", 1, int64(1))
	r.refused("rwoption7", 43, "exceeds maximum 42")
	r.refused("rwoption7", 0, "below minimum 1")
	r.setAndWant("rwoption_enum", "beta", "beta")
	r.refused("rwoption_enum", "delta", "not one of the permitted values")
}

func (r *runner) testLocalizedOptions() {
	r.saveOption("testlkey")
	r.saveOption("rwoption6")
	for _, k := range []string{"testlkey", "rwoption6"} {
		r.set(k, nil)
		r.setLocalized(k, nil)
	}
	// mgr/selftest/<id>/key, then mgr/selftest/key, then the default.
	r.wantLocalized("testlkey", nil)
	r.set("testlkey", "global value")
	r.wantLocalized("testlkey", "global value")
	r.setLocalized("testlkey", "local value")
	r.wantLocalized("testlkey", "local value")
	r.want("testlkey", "global value")
	r.setLocalized("testlkey", nil)
	r.wantLocalized("testlkey", "global value")
	r.set("testlkey", nil)
	r.wantLocalized("testlkey", nil)

	r.wantLocalized("rwoption6", true)
	r.set("rwoption6", false)
	r.wantLocalized("rwoption6", false)
	r.setLocalized("rwoption6", true)
	r.wantLocalized("rwoption6", true)
	r.want("rwoption6", false)
	r.setLocalized("rwoption6", nil)
	r.wantLocalized("rwoption6", false)
}

func (r *runner) testModuleOptions() {
	h := r.h
	r.saveOption("rwoption1")
	if v, err := h.ModuleOption(Name, "roption2"); r.ok("get_module_option_ex(selftest, roption2)", err) {
		r.equal("get_module_option_ex(selftest, roption2)", v, "xyz")
	}
	_, err := h.ModuleOption("idontexist", "bar")
	r.fails("get_module_option_ex(idontexist, bar)", err, -int(syscall.ENOENT), "does not exist")
	_, err = h.ModuleOption(Name, "bar")
	r.fails("get_module_option_ex(selftest, bar)", err, -int(syscall.ENOENT), "not declared")
	r.fails("set_module_option_ex(idontexist, bar)", h.SetModuleOption(r.ctx, "idontexist", "bar", 1), -int(syscall.ENOENT), "does not exist")
	if r.ok("set_module_option_ex(selftest, rwoption1, 1234)", h.SetModuleOption(r.ctx, Name, "rwoption1", 1234)) {
		v, err := h.ModuleOption(Name, "rwoption1")
		if r.ok("get_module_option_ex(selftest, rwoption1)", err) {
			r.equal("get_module_option_ex(selftest, rwoption1)", v, "1234")
		}
	}
	r.fails("set_module_option_ex(selftest, rwoption7, 43)", h.SetModuleOption(r.ctx, Name, "rwoption7", 43), -int(syscall.EINVAL), "exceeds maximum")
	// Every compiled-in module has the built-in options.
	for _, name := range modhost.Default().Names() {
		v, err := h.ModuleOption(name, "log_to_file")
		if err == nil {
			_, isBool := v.(bool)
			r.check(isBool, "get_module_option_ex(%s, log_to_file) = %#v, want a bool", name, v)
		}
	}
}

func (r *runner) testStore() {
	h, ctx := r.h, r.ctx
	id := h.MgrID()
	for _, k := range []string{"testkey", "testlkey", "test_fallback", "test_missing", id + "/testlkey", id + "/test_fallback", id + "/test_missing"} {
		r.saveStore(k)
	}
	for _, k := range []string{"testkey", "test_missing", id + "/testlkey", id + "/test_fallback", id + "/test_missing"} {
		r.ok("delete store "+k, h.DeleteStore(ctx, k))
	}
	existing := h.StorePrefix("test")
	if r.ok("set_store(testkey)", h.SetStore(ctx, "testkey", "testvalue")) {
		v, ok := h.Store("testkey")
		r.check(ok && v == "testvalue", "get_store(testkey) = %q, %v; want testvalue", v, ok)
		got := h.StorePrefix("test")
		want := map[string]string{"testkey": "testvalue"}
		for k, v := range existing {
			want[k] = v
		}
		r.equal("get_store_prefix(test)", got, want)
	}
	odd := "line one\nline two\tcafé ☃"
	if r.ok("set_store(testkey, <multi-line>)", h.SetStore(ctx, "testkey", odd)) {
		v, _ := h.Store("testkey")
		r.equal("get_store(testkey) of a multi-line value", v, odd)
	}
	r.ok("delete store testkey", h.DeleteStore(ctx, "testkey"))
	_, ok := h.Store("testkey")
	r.check(!ok, "get_store(testkey) after delete still finds it")
	r.ok("delete a missing key", h.DeleteStore(ctx, "testkey"))

	// Localized: <id>/key, then key.
	if r.ok("set_localized_store(testlkey)", h.SetLocalizedStore(ctx, "testlkey", "local")) {
		v, _ := h.Store(id + "/testlkey")
		r.equal("get_store(<id>/testlkey)", v, "local")
		v, ok := h.LocalizedStore("testlkey")
		r.check(ok && v == "local", "get_localized_store(testlkey) = %q, %v; want local", v, ok)
	}
	if r.ok("set_store(test_fallback)", h.SetStore(ctx, "test_fallback", "global")) {
		v, ok := h.LocalizedStore("test_fallback")
		r.check(ok && v == "global", "get_localized_store(test_fallback) = %q, %v; want the global value", v, ok)
	}
	_, ok = h.LocalizedStore("test_missing")
	r.check(!ok, "get_localized_store(test_missing) found a value")
}

func (r *runner) testHealth() {
	h := r.h
	prev := h.HealthChecks()
	r.addCleanup("restore health checks", func(context.Context) error {
		h.SetHealthChecks(prev)
		return nil
	})
	checks := map[string]module.HealthCheck{
		"SELFTEST_RUN_WARN": {Severity: module.SeverityWarning, Summary: "selftest run warning", Count: 2, Detail: []string{"detail one", "detail two"}},
		"SELFTEST_RUN_ERR":  {Severity: module.SeverityError, Summary: "selftest run error", Count: 1, Detail: []string{}},
	}
	h.SetHealthChecks(checks)
	r.equal("health checks read back", h.HealthChecks(), checks)
	if !h.HaveMonConnection() {
		if hm, ok := r.getWrapped("health"); ok {
			r.equal("health status", hm["status"], any(module.HealthErr))
			cs, _ := hm["checks"].(map[string]any)
			w, _ := cs["SELFTEST_RUN_WARN"].(map[string]any)
			r.equal("SELFTEST_RUN_WARN severity", w["severity"], any(module.HealthWarn))
			sum, _ := w["summary"].(map[string]any)
			r.equal("SELFTEST_RUN_WARN summary", sum["message"], any("selftest run warning"))
		}
	}
	h.SetHealthChecks(map[string]module.HealthCheck{
		"SELFTEST_RUN_BAD": {Severity: "bogus", Summary: "invalid severity"},
		"SELFTEST_RUN_OK":  {Severity: module.SeverityWarning, Summary: "valid", Detail: []string{}},
	})
	_, bad := h.HealthChecks()["SELFTEST_RUN_BAD"]
	_, good := h.HealthChecks()["SELFTEST_RUN_OK"]
	r.check(!bad && good, "set_health_checks kept %v; want only the valid check", h.HealthChecks())
	h.SetHealthChecks(map[string]module.HealthCheck{})
	r.check(len(h.HealthChecks()) == 0, "health checks not cleared: %v", h.HealthChecks())
	if !h.HaveMonConnection() {
		hm, _ := r.getWrapped("health")
		cs, _ := hm["checks"].(map[string]any)
		for code := range cs {
			r.check(!strings.HasPrefix(code, "SELFTEST_RUN_"), "cleared check %s still in health", code)
		}
	}
}

func (r *runner) testCommands() {
	h, ctx := r.h, r.ctx
	mon := h.HaveMonConnection()
	osdMap, _ := h.Get(ctx, "osd_map")
	om, _ := osdMap.(map[string]any)
	embedded := om["gomgr_embedded"] == true

	// send_command completes and notifies "command" with its tag.
	tag := fmt.Sprintf("selftest-run-%d", time.Now().UnixNano())
	arrived := r.m.notes.expectCommand(tag)
	defer r.m.notes.forget(tag)
	cr := h.SendCommand(ctx, module.Target{Type: "mon"}, map[string]any{"prefix": "config-key exists", "key": "mgr/" + Name + "/testkey"}, nil, tag)
	r.equal("CommandResult tag", cr.Tag, tag)
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := cr.Wait(wctx); r.ok("send_command completion", err) {
		select {
		case <-cr.Done():
		default:
			r.failf("CommandResult.Done not closed after Wait")
		}
		select {
		case <-arrived:
		case <-wctx.Done():
			r.failf("the command notification for tag %s did not arrive", tag)
		}
	}

	if !mon {
		res := h.MonCommand(ctx, map[string]any{"prefix": "osd tree", "format": "json"}, nil)
		r.equal("mon_command(osd tree) without monitors: retval", res.Retval, -int(syscall.ENOTCONN))
		cr := h.SendCommand(ctx, module.Target{Type: "osd", ID: "0"}, map[string]any{"prefix": "perf dump"}, nil, "")
		if res, err := cr.Wait(wctx); r.ok("tell osd.0 perf dump", err) {
			r.equal("osd command without monitors: retval", res.Retval, -int(syscall.ENOTCONN))
		}
	}
	if !mon && !embedded {
		return // no cluster and no local config store behind the monitor commands
	}

	// config-key works locally in embedded mode and on a cluster.
	const rel = "selftest_run_cmdkey"
	key := "mgr/" + Name + "/" + rel
	r.saveStore(rel)
	val := "set by mon_command"
	res := h.MonCommand(ctx, map[string]any{"prefix": "config-key set", "key": key, "val": val}, nil)
	r.equal("config-key set: retval", res.Retval, 0)
	res = h.MonCommand(ctx, map[string]any{"prefix": "config-key get", "key": key}, nil)
	if r.equal("config-key get: retval", res.Retval, 0) {
		r.equal("config-key get: value", string(res.Stdout), val)
	}
	if embedded {
		v, _ := h.Store(rel)
		r.equal("get_store of a key set with config-key", v, val)
	}
	res = h.MonCommand(ctx, map[string]any{"prefix": "config-key rm", "key": key}, nil)
	r.equal("config-key rm: retval", res.Retval, 0)
	res = h.MonCommand(ctx, map[string]any{"prefix": "config-key get", "key": key}, nil)
	r.equal("config-key get after rm: retval", res.Retval, -int(syscall.ENOENT))

	// config set/rm reach the module's options.
	r.saveOption("testnewline")
	name := "mgr/" + Name + "/testnewline"
	res = h.MonCommand(ctx, map[string]any{"prefix": "config set", "who": "mgr", "name": name, "value": "foo\nbar"}, nil)
	if r.equal("config set: retval", res.Retval, 0) {
		r.waitFor("testnewline set with config set", func() bool { v, _ := h.Option("testnewline"); return v == "foo\nbar" })
	}
	res = h.MonCommand(ctx, map[string]any{"prefix": "config rm", "who": "mgr", "name": name}, nil)
	if r.equal("config rm: retval", res.Retval, 0) {
		r.waitFor("testnewline removed with config rm", func() bool { v, _ := h.Option("testnewline"); return v == nil })
	}
}

// testCommandsCompleted checks check_mon_command's error, send_command to
// one named daemon (`ceph tell mon.<name>`, `mds.<name>`) and an input
// file that must not be empty.
func (r *runner) testCommandsCompleted() {
	h, ctx := r.h, r.ctx
	r.testNonemptyInbuf()
	mon := h.HaveMonConnection()
	osdMap, _ := h.Get(ctx, "osd_map")
	om, _ := osdMap.(map[string]any)
	embedded := om["gomgr_embedded"] == true

	tell := func(what string, t module.Target, prefix string) (objectformat.Result, bool) {
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		res, err := h.SendCommand(wctx, t, map[string]any{"prefix": prefix}, nil, "").Wait(wctx)
		return res, r.ok(what, err)
	}
	if !mon {
		for _, t := range []module.Target{{Type: "mon", ID: "a"}, {Type: "mds", ID: "a"}} {
			if res, ok := tell("tell "+t.Type+"."+t.ID+" without monitors", t, "version"); ok {
				r.equal("tell "+t.Type+"."+t.ID+" without monitors: retval", res.Retval, -int(syscall.ENOTCONN))
			}
		}
	}
	if mon || embedded {
		// check_mon_command: a failure is a *MonCommandError with the
		// monitors' errno and Python's MonCommandFailed text.
		key := "mgr/" + Name + "/selftest_run_no_such_key"
		_, err := h.CheckMonCommand(ctx, map[string]any{"prefix": "config-key get", "key": key}, nil)
		var mce *module.MonCommandError
		if r.check(errors.As(err, &mce), "check_mon_command(config-key get of a missing key) = %v, want a *MonCommandError", err) {
			r.equal("MonCommandError errno", mce.ErrorCode(), -int(syscall.ENOENT))
			r.equal("MonCommandError prefix", mce.Prefix, "config-key get")
			r.check(strings.HasPrefix(err.Error(), "config-key get failed: ") && strings.HasSuffix(err.Error(), " retval: -2"),
				"check_mon_command error text %q", err.Error())
			r.equal("check_mon_command errno through objectformat", objectformat.ErrnoOf(err), -int(syscall.ENOENT))
		}
		res, err := h.CheckMonCommand(ctx, map[string]any{"prefix": "config-key ls"}, nil)
		if r.ok("check_mon_command(config-key ls)", err) {
			r.equal("check_mon_command(config-key ls): retval", res.Retval, 0)
		}
	}
	if !mon {
		return
	}

	// A monitor by name: its own "version".
	mm, err := h.Get(ctx, "mon_map")
	r.ok("get(mon_map)", err)
	mons, _ := asMap(mm)["mons"].([]any)
	if r.check(len(mons) > 0, "mon_map has no monitors") {
		name, _ := asMap(mons[0])["name"].(string)
		// A monitor answers what is told to it only to a client with all
		// caps: inside a real mgr ("profile mgr") that is -EACCES.
		if res, ok := tell("tell mon."+name+" version", module.Target{Type: "mon", ID: name}, "version"); ok {
			if res.Retval == -int(syscall.EACCES) {
				r.equal("tell mon."+name+" version refused: status", res.Stderr, "insufficient caps")
			} else if r.equal("tell mon."+name+" version: retval", res.Retval, 0) {
				var v map[string]any
				r.check(json.Unmarshal(res.Stdout, &v) == nil && v["version"] != nil, "tell mon.%s version: %q", name, res.Stdout)
			}
		}
	}
	// The MDSs of the file systems, by name; and one that does not exist.
	// An MDS answers a tell only from a client with all MDS caps
	// (mds 'allow *', which a real mgr has): -EACCES otherwise.
	fm, err := h.Get(ctx, "fs_map")
	r.ok("get(fs_map)", err)
	for _, name := range mdsNames(fm) {
		if res, ok := tell("tell mds."+name+" version", module.Target{Type: "mds", ID: name}, "version"); ok && res.Retval != -int(syscall.EACCES) {
			r.equal("tell mds."+name+" version: retval", res.Retval, 0)
		}
	}
	if res, ok := tell("tell mds.selftest-no-such-mds", module.Target{Type: "mds", ID: "selftest-no-such-mds"}, "version"); ok {
		r.equal("tell mds.selftest-no-such-mds: retval", res.Retval, -int(syscall.ENOENT))
	}
}

// mdsNames are the names of the active MDSs in an fs_map.
func mdsNames(fsMap any) []string {
	var names []string
	fss, _ := asMap(fsMap)["filesystems"].([]any)
	for _, fs := range fss {
		md := asMap(asMap(fs)["mdsmap"])
		for _, d := range asMap(md["info"]) {
			dm := asMap(d)
			if name, ok := dm["name"].(string); ok && dm["state"] == "up:active" {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// asMap is v as a JSON object (nil if it is not one).
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// testNonemptyInbuf calls the module's own "mgr self-test inbuf", whose
// input file must not be empty (Python's CLICheckNonemptyFileInput).
func (r *runner) testNonemptyInbuf() {
	var cmd *clicommand.Command
	for _, c := range r.m.Commands() {
		if c.Prefix() == "mgr self-test inbuf" {
			cmd = c
		}
	}
	if !r.check(cmd != nil, "no mgr self-test inbuf command") {
		return
	}
	for _, tc := range []struct {
		inbuf  []byte
		retval int
		out    string
	}{
		{nil, -int(syscall.EINVAL), `Input file not specified: Please specify the file containing the text to echo with "-i" option`},
		{[]byte("\r\n\n"), -int(syscall.EINVAL), "Empty input file: Please add the text to echo to the file"},
		{[]byte("some text\n"), 0, "some text"},
	} {
		res := cmd.Call(r.ctx, clicommand.Call{Cmd: map[string]any{"prefix": "mgr self-test inbuf"}, Inbuf: tc.inbuf, Perm: "rw"})
		r.equal(fmt.Sprintf("mgr self-test inbuf -i %q: retval", tc.inbuf), res.Retval, tc.retval)
		got := string(res.Stdout)
		if res.Retval != 0 {
			got = res.Stderr
		}
		r.equal(fmt.Sprintf("mgr self-test inbuf -i %q: output", tc.inbuf), got, tc.out)
	}
}

func (r *runner) testRemote() {
	h, ctx := r.h, r.ctx
	in := map[string]any{"s": "x", "n": 3.0, "l": []any{true, nil, "é"}}
	var out any
	if r.ok("remote(selftest, echo)", h.Remote(ctx, Name, "echo", in, &out)) {
		r.equal("remote(selftest, echo) result", out, any(in))
	}
	var s string
	if r.ok("remote(selftest, self_test)", h.Remote(ctx, Name, "self_test", nil, &s)) {
		r.check(s != "", "remote(selftest, self_test) returned nothing")
	}

	err := h.Remote(ctx, Name, "idontexist", nil, nil)
	r.check(errors.Is(err, module.ErrMethodNotFound), "remote(selftest, idontexist) = %v, want ErrMethodNotFound", err)
	r.fails("remote(selftest, idontexist)", err, -int(syscall.ENOSYS), "idontexist")

	err = h.Remote(ctx, "idontexist", "echo", nil, nil)
	r.check(errors.Is(err, module.ErrModuleNotFound), "remote(idontexist, echo) = %v, want ErrModuleNotFound", err)
	r.fails("remote(idontexist, echo)", err, -int(syscall.ENOENT), "not enabled")

	// A compiled-in module that is not enabled is not found either.
	if mm, _ := h.Get(ctx, "mgr_map"); mm != nil && !h.HaveMonConnection() {
		m, _ := mm.(map[string]any)
		for _, name := range modhost.Default().Names() {
			if _, err := h.ModuleOption(name, "log_level"); err != nil || contains(m["modules"], name) || contains(m["always_on_modules"], name) {
				continue
			}
			err := h.Remote(ctx, name, "self_test", nil, nil)
			r.check(errors.Is(err, module.ErrModuleNotFound), "remote(%s, self_test) of a disabled module = %v, want ErrModuleNotFound", name, err)
			break
		}
	}

	err = h.Remote(ctx, Name, "fail", failArgs{Errno: int(syscall.EBUSY), Message: "synthetic failure"}, nil)
	r.fails("remote(selftest, fail)", err, -int(syscall.EBUSY), "synthetic failure")
	var re *module.RemoteError
	if r.check(errors.As(err, &re), "remote(selftest, fail) error %T is not a *RemoteError", err) {
		r.equal("RemoteError.Module", re.Module, Name)
		r.equal("RemoteError.Method", re.Method, "fail")
	}
	err = h.Remote(ctx, Name, "panic", nil, nil)
	r.fails("remote(selftest, panic)", err, 0, "Synthetic exception in remote method")
	err = h.Remote(ctx, Name, "fail", map[string]any{"bogus": 1}, nil)
	r.fails("remote(selftest, fail) with bad arguments", err, -int(syscall.EINVAL), "decode arguments")
}

func (r *runner) testLogging() {
	r.saveOption("log_level")
	log := r.h.Log()
	levels := []struct {
		level    string
		enabled  slog.Level
		disabled slog.Level
	}{
		{"debug", slog.LevelDebug, slog.LevelDebug - 1},
		{"warning", slog.LevelWarn, slog.LevelInfo},
		{"critical", module.LevelCritical, slog.LevelError},
		{"info", slog.LevelInfo, slog.LevelDebug},
	}
	for _, l := range levels {
		if !r.set("log_level", l.level) {
			continue
		}
		r.waitFor("log_level "+l.level+" reaching the module logger", func() bool {
			return log.Enabled(r.ctx, l.enabled) && !log.Enabled(r.ctx, l.disabled)
		})
		log.Log(r.ctx, l.enabled, "selftest: logging at log_level", "log_level", l.level)
	}
	r.refused("log_level", "verbose", "not one of the permitted values")
	r.testLogToCluster()
}

// testLogToCluster turns log_to_cluster on: records at
// log_to_cluster_level and above also go to the cluster log. Where the
// monitors let this daemon read it (`log last`), the record must appear.
func (r *runner) testLogToCluster() {
	h, ctx := r.h, r.ctx
	r.saveOption("log_to_cluster")
	r.saveOption("log_to_cluster_level")
	if !r.set("log_to_cluster_level", "warning") || !r.set("log_to_cluster", true) {
		return
	}
	r.refused("log_to_cluster_level", "loud", "not one of the permitted values")
	text := fmt.Sprintf("mgr self-test run: log_to_cluster check %d", time.Now().UnixNano())
	last := func() (string, bool) {
		res := h.MonCommand(ctx, map[string]any{"prefix": "log last", "num": 100, "channel": "*", "format": "json"}, nil)
		return string(res.Stdout), res.Retval == 0
	}
	if _, readable := last(); !h.HaveMonConnection() || !readable {
		h.Log().Warn(text) // nothing to read it back from
		return
	}
	// The option reaches the module's logger through a configuration
	// notification: log (at most every 300 ms) until a record arrives.
	var sent time.Time
	r.waitFor("a log_to_cluster record in `log last`", func() bool {
		if time.Since(sent) >= 300*time.Millisecond {
			h.Log().Warn(text)
			sent = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
		out, _ := last()
		return strings.Contains(out, text)
	})
	// A record below log_to_cluster_level stays out of it: the marker
	// logged after it arrives, the record does not.
	below := text + " (info, below the level)"
	marker := text + " (after the info record)"
	h.Log().Info(below)
	h.Log().Warn(marker)
	if r.waitFor("the second log_to_cluster record in `log last`", func() bool {
		time.Sleep(20 * time.Millisecond)
		out, _ := last()
		return strings.Contains(out, marker)
	}) {
		out, _ := last()
		r.check(!strings.Contains(out, below), "an info record reached the cluster log with log_to_cluster_level warning")
	}
}

func (r *runner) testMisc() {
	h := r.h
	const uri = "http://this.is.a.test.com"
	h.SetURI(uri)
	r.addCleanup("clear the URI", func(context.Context) error { h.SetURI(""); return nil })
	if !h.HaveMonConnection() {
		mm, _ := h.Get(r.ctx, "mgr_map")
		m, _ := mm.(map[string]any)
		var got any
		switch svcs := m["services"].(type) {
		case map[string]string:
			got = svcs[Name]
		case map[string]any:
			got = svcs[Name]
		}
		r.equal("mgr_map services[selftest]", got, any(uri))
	}
	h.ClusterLog("audit", slog.LevelInfo, "mgr self-test run: cluster log check")
	r.check(r.m.notes.count(module.NotifyCommand) > 0, "no command notification was received")
}

// testCephOptions reads Ceph options as Python's get_ceph_option does,
// with Python's types, and another daemon's with get_foreign_ceph_option.
func (r *runner) testCephOptions() {
	h := r.h
	typed := []struct {
		name string
		kind string
	}{{"mgr_stats_period", "int"}, {"osd_max_object_size", "int"}, {"mgr_tick_period", "float"},
		{"mon_osd_full_ratio", "float"}, {"mon_allow_pool_delete", "bool"}, {"run_dir", "str"}, {"admin_socket", "str"}}
	for _, tc := range typed {
		v, err := h.CephOption(r.ctx, tc.name)
		if !r.ok("get_ceph_option("+tc.name+")", err) {
			continue
		}
		var ok bool
		switch tc.kind {
		case "int":
			_, ok = v.(int64)
		case "float":
			_, ok = v.(float64)
		case "bool":
			_, ok = v.(bool)
		case "str":
			_, ok = v.(string)
		}
		r.check(ok, "get_ceph_option(%s) = %#v, want a %s", tc.name, v, tc.kind)
	}
	if v, err := h.CephOption(r.ctx, "admin_socket"); err == nil {
		s, _ := v.(string)
		r.check(!strings.Contains(s, "$"), "get_ceph_option(admin_socket) = %q has unexpanded metavariables", s)
	}
	if v, err := h.CephOption(r.ctx, "mgr_stats_period"); err == nil {
		n, _ := v.(int64)
		r.check(n > 0, "get_ceph_option(mgr_stats_period) = %v", v)
	}
	_, err := h.CephOption(r.ctx, "no_such_ceph_option")
	r.fails("get_ceph_option(no_such_ceph_option)", err, -int(syscall.ENOENT), "option not found: no_such_ceph_option")
	osds, _, _ := r.clusterDaemons()
	who := "osd.0"
	if len(osds) > 0 {
		who = "osd." + osds[0]
	}
	v, err := h.ForeignCephOption(r.ctx, who, "osd_max_object_size")
	if r.ok("get_foreign_ceph_option("+who+", osd_max_object_size)", err) {
		n, _ := v.(int64)
		r.check(n > 0, "get_foreign_ceph_option(%s, osd_max_object_size) = %#v, want a positive int", who, v)
	}
}
