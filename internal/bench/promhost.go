package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/perfstate"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"

	// The module measured.
	_ "github.com/gomgr/gomgr/modules/prometheus"
)

// The Go side of the prometheus scrape comparison: gomgr's prometheus
// module in an in-process daemon whose backend is a stand-in mgr fed a
// synthetic cluster (a Synth), as python/promscrape.py's stand-in feeds
// Pacific's module. The backend answers what a real mgr answers a module
// (backend.DaemonState, as the bridge's backend does inside a real
// ceph-mgr): get() from the cluster's maps (osd_metadata: every OSD's
// get_metadata), list_servers, get_metadata, get_daemon_health_metrics,
// get_perf_schema and the latest counters from memory, at no cost to
// either side; get_all_perf_counters it computes on every call from the
// servers, schemas and latest values, as mgr_module.py's Python does on
// the other side. The typed perf counters the module reads
// (module.Handle.PerfCounters) it answers as gomgr's host does where it
// keeps the daemons' counters itself (attached, and this daemon's own):
// each daemon's report is recorded once, when the cluster is loaded, in
// an internal/perfstate.History, and every call walks list_servers'
// daemons and reads their latest samples from it (History.Counters).
// Bridged, gomgr's host has no such store: it converts the real mgr's
// get_all_perf_counters (BENCHMARKS.md says so). A scrape is the module's
// own: Collect calls its HTTP server's handler in the process, Scrape
// fetches /metrics from that server.

// promStandIn is the stand-in mgr: the memory backend's configuration
// and KV stores, with a cluster that answers from a Synth.
type promStandIn struct {
	*backend.MemoryBackend
	s       *Synth
	servers []map[string]any
	wrapped map[string]any            // health and mon_status as {"json": text}
	index   map[string]map[string]int // type -> path -> position in Values
	hist    perfstate.History         // the daemons' counters as gomgr's attached host keeps them
}

func newPromStandIn(s *Synth) (*promStandIn, error) {
	b := &promStandIn{MemoryBackend: backend.NewMemoryBackend(), s: s, wrapped: map[string]any{}, index: map[string]map[string]int{}}
	for _, name := range []string{"health", "mon_status"} {
		text, err := json.Marshal(s.Get[name])
		if err != nil {
			return nil, fmt.Errorf("synthetic %s: %w", name, err)
		}
		b.wrapped[name] = map[string]any{"json": string(text)}
	}
	for _, srv := range s.Servers {
		m, ok := srv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("synthetic list_servers: an entry %T", srv)
		}
		b.servers = append(b.servers, m)
	}
	types := map[string]map[string]perfstate.Type{}
	for typ, schema := range s.Schema {
		idx := map[string]int{}
		for i, p := range slices.Sorted(maps.Keys(schema)) {
			idx[p] = i
		}
		b.index[typ] = idx
		tt := map[string]perfstate.Type{}
		for p, v := range schema {
			info, _ := v.(map[string]any)
			desc, _ := info["description"].(string)
			nick, _ := info["nick"].(string)
			tt[p] = perfstate.Type{Description: desc, Nick: nick, Type: synthInt(info["type"]), Priority: synthInt(info["priority"]), Units: synthInt(info["units"])}
		}
		types[typ] = tt
	}
	// Each daemon's report, as internal/perfstate records one (the real
	// mgr's DaemonState likewise keeps typed counters): its schema's
	// types and one reading each.
	for daemon, vals := range s.Values {
		typ, _, _ := strings.Cut(daemon, ".")
		values := make(map[string]perfstate.Value, len(vals))
		for p, i := range b.index[typ] {
			if i >= len(vals) {
				continue
			}
			if pair, ok := vals[i].([]any); ok && len(pair) == 2 {
				values[p] = perfstate.Value{V: uint64(synthInt(pair[0])), Count: uint64(synthInt(pair[1]))}
			} else {
				values[p] = perfstate.Value{V: uint64(synthInt(vals[i]))}
			}
		}
		b.hist.Update(daemon, types[typ], values, time.Unix(int64(SynthTimestamp), 0))
	}
	return b, nil
}

// synthInt is a number of the synthetic cluster's (JSON's float64, or
// int as generated).
func synthInt(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

func (b *promStandIn) Cluster() backend.Cluster { return promCluster{b} }

type promCluster struct{ b *promStandIn }

func (promCluster) FSID() string            { return "3b8c8f4e-6a1d-4a55-9d6c-5e2b1c7e9a10" }
func (promCluster) HaveMonConnection() bool { return true }

func (c promCluster) Get(_ context.Context, name string) (any, error) {
	if v, ok := c.b.wrapped[name]; ok {
		return v, nil
	}
	if name == "osd_metadata" { // every OSD's, as get_metadata gives each
		return c.b.s.Meta["osd"], nil
	}
	return c.b.s.Get[name], nil
}

func (c promCluster) Command(ctx context.Context, t module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if t.Type == "mon" {
		if res, ok := backend.LocalMonCommand(ctx, c.b.ConfigStore, c.b.KVStore, cmd, inbuf); ok {
			return res
		}
	}
	return backend.NoMonitor(t, cmd)
}

var _ backend.DaemonState = (*promStandIn)(nil)

// DaemonInfo answers get_metadata and get_perf_schema (get_daemon_status:
// none).
func (b *promStandIn) DaemonInfo(_ context.Context, kind, svcType, svcID string) (map[string]any, error) {
	switch kind {
	case "metadata":
		md, _ := b.s.Meta[svcType][svcID].(map[string]any)
		return md, nil
	case "perf_schema":
		if schema, ok := b.s.Schema[svcType]; ok && svcID != "" {
			if _, ok := b.s.Values[svcType+"."+svcID]; ok {
				return map[string]any{svcType + "." + svcID: schema}, nil
			}
		}
		return map[string]any{}, nil
	}
	return nil, nil
}

// latest is a daemon's newest sample of path: [t, v] or [t, sum, count],
// nil if it has none.
func (b *promStandIn) latest(svcType, svcID, path string) []any {
	return b.latestOf(b.index[svcType], b.s.Values[svcType+"."+svcID], path)
}

// latestOf is latest for a daemon whose type's paths are index and whose
// values are vals.
func (b *promStandIn) latestOf(index map[string]int, vals []any, path string) []any {
	i, ok := index[path]
	if !ok || i >= len(vals) {
		return nil
	}
	if pair, ok := vals[i].([]any); ok && len(pair) == 2 {
		return []any{SynthTimestamp, pair[0], pair[1]}
	}
	return []any{SynthTimestamp, vals[i]}
}

// Counter answers get_counter with the newest sample only.
func (b *promStandIn) Counter(ctx context.Context, svcType, svcID, path string) (map[string]any, error) {
	return b.LatestCounter(ctx, svcType, svcID, path)
}

// LatestCounter answers get_latest_counter.
func (b *promStandIn) LatestCounter(_ context.Context, svcType, svcID, path string) (map[string]any, error) {
	if s := b.latest(svcType, svcID, path); s != nil {
		return map[string]any{path: s}, nil
	}
	return map[string]any{path: []any{}}, nil
}

// AllPerfCounters is get_all_perf_counters as mgr_module.py computes it:
// for each daemon list_servers lists whose type is in services, its
// schema's counters of at least prioLimit priority, each a copy of its
// schema with its latest "value" (and "count" for a long-running
// average).
func (b *promStandIn) AllPerfCounters(_ context.Context, prioLimit int, services []string) (map[string]any, error) {
	out := make(map[string]any, len(b.s.Values))
	b.listed(services, func(typ, id string) {
		schema, index := b.s.Schema[typ], b.index[typ]
		vals, ok := b.s.Values[typ+"."+id]
		if !ok || schema == nil {
			return // Python: "No perf counter schema for ..."
		}
		counters := make(map[string]any, len(schema))
		for path, v := range schema {
			info, _ := v.(map[string]any)
			if prio, _ := info["priority"].(float64); int(prio) < prioLimit {
				continue
			}
			entry := maps.Clone(info)
			s := b.latestOf(index, vals, path)
			tp, _ := info["type"].(float64)
			switch {
			case int(tp)&module.PerfCounterLongRunAvg != 0 && len(s) == 3:
				entry["value"], entry["count"] = s[1], s[2]
			case int(tp)&module.PerfCounterLongRunAvg != 0:
				entry["value"], entry["count"] = 0.0, 0.0
			case len(s) >= 2:
				entry["value"] = s[1]
			default:
				entry["value"] = 0.0
			}
			counters[path] = entry
		}
		out[typ+"."+id] = counters
	})
	return out, nil
}

var _ backend.TypedPerfCounters = (*promStandIn)(nil)

// PerfCounters answers module.Handle.PerfCounters as gomgr's host does
// where it keeps the counters itself (internal/modhost's perfCounters on
// an attached backend): for each daemon list_servers lists whose type is
// in services, its latest counters of at least prioLimit priority from
// the perfstate.History, sorted by daemon.
func (b *promStandIn) PerfCounters(_ context.Context, prioLimit int, services []string) ([]module.DaemonPerf, error) {
	var out []module.DaemonPerf
	b.listed(services, func(typ, id string) {
		name := typ + "." + id
		if counters := b.hist.Counters(nil, name, prioLimit); len(counters) > 0 {
			out = append(out, module.DaemonPerf{Daemon: name, Counters: counters})
		}
	})
	slices.SortFunc(out, func(a, b module.DaemonPerf) int { return strings.Compare(a.Daemon, b.Daemon) })
	return out, nil
}

// listed calls fn with the type and id of each daemon list_servers lists
// whose type is in services.
func (b *promStandIn) listed(services []string, fn func(typ, id string)) {
	for _, srv := range b.servers {
		svcs, _ := srv["services"].([]any)
		for _, e := range svcs {
			svc, _ := e.(map[string]any)
			typ, _ := svc["type"].(string)
			id, _ := svc["id"].(string)
			if slices.Contains(services, typ) {
				fn(typ, id)
			}
		}
	}
}

// DaemonHealthMetrics answers get_daemon_health_metrics.
func (b *promStandIn) DaemonHealthMetrics(context.Context) (map[string]any, error) {
	return b.s.Health, nil
}

// ListServers answers list_servers.
func (b *promStandIn) ListServers(context.Context) ([]map[string]any, error) { return b.servers, nil }

// promAttacher runs the daemon on the stand-in, alone: it is active at
// once.
type promAttacher struct{ b *promStandIn }

func (a promAttacher) Open(context.Context, string, *slog.Logger) (backend.Backend, daemon.Election, error) {
	return a.b, &soleActive{lost: make(chan struct{})}, nil
}

func (promAttacher) Describe() string { return "a stand-in mgr fed a synthetic cluster (bench)" }

type soleActive struct {
	mu   sync.Mutex
	info daemon.ActiveInfo
	lost chan struct{}
}

func (e *soleActive) Campaign(context.Context) error { return nil }
func (e *soleActive) Lost() <-chan struct{}          { return e.lost }
func (e *soleActive) Resign() error                  { return nil }

func (e *soleActive) Publish(info daemon.ActiveInfo) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.info = info
	return nil
}

func (e *soleActive) Active() (daemon.ActiveInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.info, nil
}

// PromHost is gomgr's prometheus module running on a stand-in mgr.
type PromHost struct {
	URL    string // the module's /metrics
	dir    string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	buf    bytes.Buffer // the last scrape's text

	// module is the running module, as its HTTP server serves it;
	// request and w are Collect's, reused.
	module  atomic.Value // http.Handler
	request *http.Request
	w       textWriter
	// conn and br are Scrape's connection to the module's server.
	conn net.Conn
	br   *bufio.Reader
}

// textWriter is the http.ResponseWriter Collect hands the module: the
// text goes into a reused buffer, the headers into a reused map.
type textWriter struct {
	header http.Header
	buf    *bytes.Buffer
	code   int
}

func (w *textWriter) Header() http.Header { return w.header }

func (w *textWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *textWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.buf.Len()+len(p) > maxScrape {
		return 0, fmt.Errorf("a scrape's text over %d bytes", maxScrape)
	}
	return w.buf.Write(p)
}

// StartPromHost starts a daemon running the prometheus module (cache off,
// so every scrape collects, listening on 127.0.0.1) on a stand-in mgr fed
// s, and waits until its /metrics answers.
func StartPromHost(s *Synth) (*PromHost, error) {
	b, err := newPromStandIn(s)
	if err != nil {
		return nil, err
	}
	info, ok := modhost.Default().Lookup("prometheus")
	if !ok {
		return nil, fmt.Errorf("the prometheus module is not registered")
	}
	h := &PromHost{client: &http.Client{Timeout: 5 * time.Minute}, done: make(chan error, 1)}
	// The module the daemon runs, kept for Collect: its HTTP server
	// serves the module itself (an http.Handler).
	newModule := info.New
	info.New = func() module.Module {
		m := newModule()
		if hh, ok := m.(http.Handler); ok {
			h.module.Store(hh)
		}
		return m
	}
	reg := modhost.NewRegistry()
	if err := reg.Register(info); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	for k, v := range map[string]string{"server_addr": "127.0.0.1", "server_port": strconv.Itoa(port), "cache": "false"} {
		if err := b.ConfigStore.Set(context.Background(), "mgr/prometheus/"+k, v); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "gmprom")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.URL, h.dir, h.cancel = fmt.Sprintf("http://127.0.0.1:%d/metrics", port), dir, cancel
	if h.request, err = http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil); err != nil {
		cancel()
		return nil, err
	}
	h.w = textWriter{header: http.Header{}, buf: &h.buf}
	ready := make(chan *daemon.Daemon, 1)
	go func() {
		h.done <- daemon.Run(ctx, daemon.Options{ID: "x", DataDir: filepath.Join(dir, "data"), RunDir: dir, Registry: reg,
			Log: io.Discard, Cluster: promAttacher{b}, Ready: func(d *daemon.Daemon) { ready <- d }})
	}()
	fail := func(err error) (*PromHost, error) {
		_ = h.Stop()
		return nil, err
	}
	var d *daemon.Daemon
	select {
	case d = <-ready:
	case err := <-h.done:
		h.done <- err
		return fail(fmt.Errorf("the daemon did not start: %w", err))
	case <-time.After(30 * time.Second):
		return fail(fmt.Errorf("the daemon did not start within 30s"))
	}
	for deadline := time.Now().Add(30 * time.Second); d.Role() != daemon.RoleActive; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the daemon did not become active within 30s"))
		}
	}
	if res := d.Command(ctx, map[string]any{"prefix": "mgr module enable", "module": "prometheus"}, nil, "rw"); res.Retval != 0 {
		return fail(fmt.Errorf("mgr module enable prometheus: %s", res.String()))
	}
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var res *http.Response
		if res, last = h.client.Get(strings.TrimSuffix(h.URL, "metrics")); last == nil {
			res.Body.Close()
			if h.module.Load() == nil {
				return fail(fmt.Errorf("the prometheus module is not an http.Handler"))
			}
			return h, nil
		}
	}
	return fail(fmt.Errorf("the prometheus module does not answer on %s: %w", h.URL, last))
}

// maxScrape bounds one scrape's text.
const maxScrape = 1 << 30

// Scrape fetches /metrics once: one collection. The text is valid until
// the next Scrape or Collect (its buffer is reused: the client's
// allocations are not the module's). The request goes over a kept-alive
// connection and the response is read in the calling goroutine, as
// python/promscrape.py's http.client reads Pacific's (net/http's client
// would add its connection's two goroutines and their hand-offs to the
// timed scrape).
func (h *PromHost) Scrape() ([]byte, error) {
	body, err := h.scrape()
	if err != nil && h.conn != nil {
		h.conn.Close()
		h.conn = nil
	}
	return body, err
}

func (h *PromHost) scrape() ([]byte, error) {
	if h.conn == nil {
		c, err := net.DialTimeout("tcp", h.request.URL.Host, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("scrape: %w", err)
		}
		h.conn, h.br = c, bufio.NewReaderSize(c, 64<<10)
	}
	if err := h.conn.SetDeadline(time.Now().Add(5 * time.Minute)); err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	if _, err := io.WriteString(h.conn, "GET "+h.request.URL.Path+" HTTP/1.1\r\nHost: "+h.request.URL.Host+"\r\nUser-Agent: gomgr-bench\r\n\r\n"); err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	res, err := http.ReadResponse(h.br, h.request)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	h.buf.Reset()
	_, err = h.buf.ReadFrom(io.LimitReader(res.Body, maxScrape))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	if res.Close {
		h.conn.Close()
		h.conn = nil
	}
	body := h.buf.Bytes()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s: %.300s", res.Status, body)
	}
	return body, nil
}

// Collect has the module answer a scrape of /metrics in this process:
// its HTTP server's handler called with a GET of /metrics and a writer
// into memory, no socket and no HTTP client (python/promscrape.py calls
// Pacific's collect() likewise, without its cherrypy server). The text
// is valid until the next Collect or Scrape.
func (h *PromHost) Collect() ([]byte, error) {
	h.buf.Reset()
	clear(h.w.header)
	h.w.code = 0
	h.module.Load().(http.Handler).ServeHTTP(&h.w, h.request)
	body := h.buf.Bytes()
	if code := cmp.Or(h.w.code, http.StatusOK); code != http.StatusOK { // nothing written: net/http's 200
		return nil, fmt.Errorf("scrape: status %d: %.300s", code, body)
	}
	return body, nil
}

// Stop stops the daemon and removes its directory.
func (h *PromHost) Stop() error {
	if h.conn != nil {
		h.conn.Close()
		h.conn = nil
	}
	h.cancel()
	var err error
	select {
	case err = <-h.done:
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("the daemon did not stop within 30s")
	}
	os.RemoveAll(h.dir)
	return err
}
