// Package prometheus is gomgr's Prometheus exporter, a Go port of Ceph
// Pacific's prometheus mgr module: an HTTP server in the active mgr
// (server_addr:server_port, localized options, default [::]:9283) that
// serves a landing page at / and the cluster's health, maps, statistics
// and perf counters at /metrics in the Prometheus text format, with
// Pacific's metric names, help texts, types and labels (the text
// prometheus/client_golang's registry and expfmt write, written directly:
// expose.go). With cache on (the default) the metrics are
// collected in the background every scrape_interval seconds and /metrics
// serves the last collection, as Pacific does; stale_cache_strategy says
// what a scrape gets when a collection took longer than the interval. The
// standby variant follows standby_behaviour: its /metrics redirects to the
// active's (Pacific's answers an empty 200) and / links there, or both
// answer the configured error. README.md lists what is implemented and the
// deliberate differences.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/gomgr/gomgr/internal/rawsock"
	"github.com/gomgr/gomgr/pkg/module"
)

// Name is the module's name.
const Name = "prometheus"

// DefaultPort is Pacific's DEFAULT_PORT.
const DefaultPort = 9283

// Config is the module's options, Pacific 16.2.15's MODULE_OPTIONS.
type Config struct {
	ServerAddr             string  `option:"server_addr"`
	ServerPort             int64   `option:"server_port" default:"9283" desc:"the port on which the module listens for HTTP requests" runtime:"true"`
	ScrapeInterval         float64 `option:"scrape_interval" default:"15.0"`
	StaleCacheStrategy     string  `option:"stale_cache_strategy" default:"log"`
	Cache                  bool    `option:"cache" default:"true"`
	RBDStatsPools          string  `option:"rbd_stats_pools" default:""`
	RBDStatsPoolsRefresh   int64   `option:"rbd_stats_pools_refresh_interval" default:"300"`
	StandbyBehaviour       string  `option:"standby_behaviour" default:"default" enum:"default|error" runtime:"true"`
	StandbyErrorStatusCode int64   `option:"standby_error_status_code" default:"500" min:"400" max:"599" runtime:"true"`
}

var options = module.NewOptions[Config]()

// defaults is every option's default (where a read fails).
var defaults = options.Defaults()

func init() {
	module.Register(module.Info{
		Name:    Name,
		Desc:    "Prometheus exporter: cluster metrics over HTTP",
		New:     func() module.Module { return newModule() },
		Options: options.Declare(),
		Standby: func() module.StandbyModule { return &Standby{} },
	})
}

// Pacific's stale cache strategies; any other value is "fail".
const (
	staleCacheFail   = "fail"
	staleCacheReturn = "return"
)

// HTTP bounds: a scrape is one small request.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute // an uncached scrape collects first
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 5 * time.Second
)

// landingPage is Pacific's index page.
const landingPage = `<!DOCTYPE html>
<html>
    <head><title>Ceph Exporter</title></head>
    <body>
        <h1>Ceph Exporter</h1>
        <p><a href='%smetrics'>Metrics</a></p>
    </body>
</html>`

// contentType is the Prometheus text format's.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// Module is the active exporter.
type Module struct {
	mgr *module.Handle

	// collectMu is Pacific's collect_lock: a scrape without cache and the
	// background collection do not run together, and cache and
	// collectTime change together.
	collectMu   sync.Mutex
	cache       []byte
	collectTime float64 // seconds the last cached collection took

	durMu    sync.Mutex
	durSum   map[string]float64 // collection seconds by Pacific's method name
	durCount map[string]float64
	lastSize sizeHint // of the last collection
	memo     scrapeMemo

	history *healthHistory // health_detail's, in the KV store
	rbd     *rbdStats      // the RBD per-image stats (rbd.go)

	muxOnce sync.Once
	mux     http.Handler // handler(), built once

	stopOnce sync.Once
	stop     chan struct{}
	restart  chan struct{}
	wake     chan struct{} // an option changed: the collection loop reads them again
}

func newModule() *Module {
	return &Module{
		durSum:   map[string]float64{},
		durCount: map[string]float64{},
		history:  newHealthHistory(),
		rbd:      newRBDStats(),
		stop:     make(chan struct{}),
		restart:  make(chan struct{}, 1),
		wake:     make(chan struct{}, 1),
	}
}

var (
	_ module.Server                      = (*Module)(nil)
	_ module.Shutdowner                  = (*Module)(nil)
	_ module.TypedConfigNotifier[Config] = (*Module)(nil)
)

// logError logs at error level (unit tests run collectors without a
// handle).
func (m *Module) logError(msg string, args ...any) {
	if m.mgr != nil {
		m.mgr.Log().Error(msg, args...)
	}
}

// logWarn logs at warning level.
func (m *Module) logWarn(msg string, args ...any) {
	if m.mgr != nil {
		m.mgr.Log().Warn(msg, args...)
	}
}

// logInfo logs at info level.
func (m *Module) logInfo(msg string, args ...any) {
	if m.mgr != nil {
		m.mgr.Log().Info(msg, args...)
	}
}

// Init keeps the handle and loads the health check history.
func (m *Module) Init(h *module.Handle) error {
	m.mgr = h
	m.history.load(context.Background(), h)
	return nil
}

// listenConfig is the localized server_addr and server_port, read as
// Pacific reads them (server_addr defaults to get_default_addr()).
func listenConfig(opt func(string) (any, error)) (addr string, port int, err error) {
	a, err := opt("server_addr")
	if err != nil {
		return "", 0, fmt.Errorf("reading server_addr: %w", err)
	}
	addr, _ = a.(string)
	if addr == "" {
		addr = defaultAddr()
	}
	p, err := opt("server_port")
	if err != nil {
		return "", 0, fmt.Errorf("reading server_port: %w", err)
	}
	switch x := p.(type) {
	case int64:
		port = int(x)
	case nil:
		port = DefaultPort
	default:
		return "", 0, fmt.Errorf("server_port is %T, not an integer", p)
	}
	if port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("server_port %d is not a TCP port", port)
	}
	return addr, port, nil
}

// cacheConfig is the localized cache options, as Pacific's serve reads
// them.
type cacheConfig struct {
	cache          bool
	scrapeInterval float64
	staleStrategy  string
}

// cacheOptions reads the cache options of this mgr: localized, falling
// back to the module's and then to the defaults; a stale strategy other
// than "return" is "fail", as Pacific reads it (its default "log" too).
// Each scrape reads them: only these.
func (m *Module) cacheOptions() cacheConfig {
	out := cacheConfig{cache: defaults.Cache, scrapeInterval: defaults.ScrapeInterval, staleStrategy: staleCacheFail}
	if v, err := m.mgr.LocalizedOption("cache"); err == nil {
		if b, ok := v.(bool); ok {
			out.cache = b
		}
	}
	if v, err := m.mgr.LocalizedOption("scrape_interval"); err == nil {
		if f, ok := v.(float64); ok {
			out.scrapeInterval = f
		}
	}
	if v, err := m.mgr.LocalizedOption("stale_cache_strategy"); err == nil && v == staleCacheReturn {
		out.staleStrategy = staleCacheReturn
	}
	return out
}

// defaultAddr is mgr_util.get_default_addr: "::" where IPv6 works, else
// "0.0.0.0".
func defaultAddr() string {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return "0.0.0.0"
	}
	_ = l.Close()
	return "::"
}

// listen opens addr:port. Its connections read and write with raw
// system calls (internal/rawsock): a scrape's exchange then wakes none of
// the Go runtime's threads that the scrape itself does not.
func listen(addr string, port int) (net.Listener, error) {
	hp := net.JoinHostPort(addr, strconv.Itoa(port))
	l, err := net.Listen("tcp", hp)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", hp, err)
	}
	return rawsock.Listener(l), nil
}

// buildURL is mgr_util.build_url for http://host:port/.
func buildURL(host string, port int) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}

// serverAddr is Pacific's get_server_addr: the mgr's own address when
// listening on every address.
func (m *Module) serverAddr(ctx context.Context, addr string) string {
	if addr != "::" && addr != "0.0.0.0" {
		return addr
	}
	if v, err := m.mgr.Get(ctx, "mgr_ips"); err == nil {
		if ips := asList(v); len(ips) > 0 {
			if ip := asString(ips[0]); ip != "" {
				return ip
			}
		}
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return addr
}

// httpServer is a running HTTP server; done has Serve's error.
type httpServer struct {
	srv  *http.Server
	done chan error
}

// startServer listens on the localized server_addr:server_port (read by
// opt) and serves h there; it returns the address and port.
func startServer(log *slog.Logger, opt func(string) (any, error), h http.Handler) (*httpServer, string, int, error) {
	addr, port, err := listenConfig(opt)
	if err != nil {
		return nil, "", 0, err
	}
	log.Info("starting the HTTP server", "server_addr", addr, "server_port", port)
	l, err := listen(addr, port)
	if err != nil {
		return nil, "", 0, err
	}
	s := &httpServer{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, addr, port, nil
}

// stop shuts the server down gracefully (shutdownTimeout, then closes
// what is left) and waits for Serve to return.
func (s *httpServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server: %w", err)
	}
	return nil
}

// Serve runs the HTTP server (restarted after an option change, as
// Pacific's config_notify restarts its engine) and the background
// collection, which collects while cache is on (cache is read on every
// scrape, so turning it on later must find the loop running).
func (m *Module) Serve(ctx context.Context) error {
	if m.cacheOptions().cache {
		m.mgr.Log().Info("Cache enabled")
	} else {
		m.mgr.Log().Info("Cache disabled")
	}
	m.mgr.Go(m.collectLoop)
	for {
		srv, addr, port, err := startServer(m.mgr.Log(), m.mgr.LocalizedOption, m)
		if err != nil {
			return err
		}
		m.mgr.SetURI(buildURL(m.serverAddr(ctx, addr), port))
		restart := false
		select {
		case <-ctx.Done():
		case <-m.stop:
		case <-m.restart:
			restart = true
		case err := <-srv.done:
			return fmt.Errorf("HTTP server: %w", err)
		}
		if err := srv.stop(); err != nil {
			return err
		}
		if !restart {
			m.mgr.Log().Info("Engine stopped.")
			return nil
		}
	}
}

// Shutdown stops the HTTP server and removes the RBD stats' OSD perf
// query (Pacific's shutdown_rbd_stats).
func (m *Module) Shutdown(ctx context.Context) error {
	m.mgr.Log().Info("Stopping engine...")
	m.stopOnce.Do(func() { close(m.stop) })
	m.rbd.shutdown(ctx, m.mgr, m.mgr.Log().Error)
	return nil
}

// ConfigNotify restarts the HTTP server, which reads the listening
// address again, and wakes the collection loop, which reads the cache
// options again.
func (m *Module) ConfigNotify(context.Context, Config) {
	for _, c := range []chan struct{}{m.restart, m.wake} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// collectLoop is Pacific's MetricCollectionThread. While cache is off it
// collects nothing, drops the last collection (it would be stale when
// cache comes back on) and waits for an option change.
func (m *Module) collectLoop(ctx context.Context) error {
	m.mgr.Log().Info("starting metric collection thread")
	for {
		cfg := m.cacheOptions()
		interval := time.Duration(cfg.scrapeInterval * float64(time.Second))
		wait := interval
		switch {
		case !cfg.cache:
			m.collectMu.Lock()
			m.cache, m.collectTime = nil, 0
			m.collectMu.Unlock()
			select {
			case <-ctx.Done():
				return nil
			case <-m.stop:
				return nil
			case <-m.wake:
			}
			continue
		case m.mgr.HaveMonConnection() || m.clusterless(ctx):
			start := time.Now()
			data, err := m.collect(ctx)
			dur := time.Since(start)
			if err != nil {
				m.mgr.Log().Error("failed to collect metrics", "err", err)
			} else {
				if dur > interval {
					m.mgr.Log().Warn(fmt.Sprintf("Collecting data took more time than configured scrape interval. "+
						"This possibly results in stale data. Please check the `stale_cache_strategy` configuration option. "+
						"Collecting data took %.2f seconds but scrape interval is configured to be %.0f seconds.",
						dur.Seconds(), interval.Seconds()))
				}
				wait = max(interval-dur, 0)
				m.collectMu.Lock()
				m.cache, m.collectTime = data, dur.Seconds()
				m.collectMu.Unlock()
			}
		default:
			m.mgr.Log().Error("No MON connection")
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-m.stop:
			t.Stop()
			return nil
		case <-m.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// clusterless reports whether the daemon runs with no cluster (embedded,
// or moduletest's backend): its maps are its own and always current, so
// the collection does not wait for a monitor connection.
func (m *Module) clusterless(ctx context.Context) bool {
	om, err := getMap(ctx, m.mgr, "osd_map")
	if err != nil {
		return false
	}
	embedded, _ := om["gomgr_embedded"].(bool)
	return embedded
}

// ServeHTTP answers a request as the module's HTTP server on
// server_addr:server_port does (it serves the module itself): /metrics,
// and the landing page for every other path. A scrape needs the module
// running (Init called), as there.
func (m *Module) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.muxOnce.Do(func() { m.mux = m.handler() })
	m.mux.ServeHTTP(w, r)
}

// handler answers /metrics and, for every other path, the landing page
// (Pacific collapses every path to its root).
func (m *Module) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", m.serveMetrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		fmt.Fprintf(w, landingPage, "/")
	})
	return withServerHeader(mux)
}

// withServerHeader names the server as Pacific's does.
func withServerHeader(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Ceph-Prometheus")
		h.ServeHTTP(w, r)
	})
}

// serveMetrics is Pacific's Root.metrics.
func (m *Module) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !m.cacheOptions().cache {
		m.streamMetrics(w, r)
		return
	}
	data, code, msg := m.metricsResponse(r.Context())
	if code != http.StatusOK {
		http.Error(w, msg, code)
		return
	}
	writeMetrics(w, data)
}

// streamMetrics answers a scrape with the cache off: a collection,
// gathered under the collection lock and written to the client as it
// is encoded, after the lock is released (a slow client holds no
// other scrape), never held whole.
func (m *Module) streamMetrics(w http.ResponseWriter, r *http.Request) {
	m.collectMu.Lock()
	s, start, err := m.gather(r.Context())
	m.collectMu.Unlock()
	if err != nil {
		m.mgr.Log().Error("failed to collect metrics", "err", err)
		http.Error(w, "failed to collect metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if err := m.write(sizedResponse{w}, s, start); err != nil {
		m.mgr.Log().Debug("scrape not answered whole", "err", err)
	}
}

// sizedResponse is a response that gets a Content-Length where the
// scrape's text is written in one write (a sizedWriter).
type sizedResponse struct{ http.ResponseWriter }

func (r sizedResponse) wholeSize(n int) { r.Header().Set("Content-Length", strconv.Itoa(n)) }

// metricsResponse is what a scrape answers: the text, or a status and a
// message. The collection lock is held while deciding, not while the
// answer is written to a slow client (the cache is never written to in
// place, so the slice stays valid).
func (m *Module) metricsResponse(ctx context.Context) ([]byte, int, string) {
	cfg := m.cacheOptions()
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	if !cfg.cache {
		data, err := m.collect(ctx)
		if err != nil {
			m.mgr.Log().Error("failed to collect metrics", "err", err)
			return nil, http.StatusInternalServerError, "failed to collect metrics: " + err.Error()
		}
		return data, http.StatusOK, ""
	}
	if len(m.cache) == 0 {
		return nil, http.StatusServiceUnavailable, "No cached data available yet"
	}
	if m.collectTime < cfg.scrapeInterval {
		return m.cache, http.StatusOK, ""
	}
	msg := fmt.Sprintf("Gathering data took %.2f seconds, metrics are stale for %.2f seconds, ",
		m.collectTime, m.collectTime-cfg.scrapeInterval)
	if cfg.staleStrategy == staleCacheReturn {
		m.mgr.Log().Info(msg + "returning metrics from stale cache.")
		return m.cache, http.StatusOK, ""
	}
	msg += `returning "service unavailable".`
	m.mgr.Log().Error(msg)
	return nil, http.StatusServiceUnavailable, msg
}

func writeMetrics(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(data)
}
