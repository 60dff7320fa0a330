package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/testutil"
)

// startDaemon runs an embedded daemon id on the shared data directory
// until the test ends.
func startDaemon(t *testing.T, id, dir string) *daemon.Daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *daemon.Daemon, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{ID: id, DataDir: filepath.Join(dir, "data"), RunDir: dir,
			Log: testLogWriter{t}, StandbyPoll: 20 * time.Millisecond, Ready: func(d *daemon.Daemon) { ready <- d }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Errorf("mgr.%s did not stop within 30s", id)
		}
	})
	select {
	case d := <-ready:
		return d
	case err := <-done:
		t.Fatalf("mgr.%s did not start: %v", id, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("mgr.%s did not start within 30s", id)
	}
	return nil
}

// poll calls f every 20 ms until it returns true (then true) or timeout
// has passed (then false); f runs on the test's goroutine, so what it
// stores can be read afterwards.
func poll(timeout time.Duration, f func() bool) bool {
	for end := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestStandby: a standby daemon's module answers on its own (localized)
// port, following standby_behaviour: "default" redirects /metrics to the
// active's <uri>metrics (307) and links there from /, or answers 503
// while the active has published no URI; "error" answers
// standby_error_status_code with "Keep on looking" on both.
func TestStandby(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	x := startDaemon(t, "x", dir)
	require.Eventually(t, func() bool { return x.Role() == daemon.RoleActive }, 10*time.Second, 10*time.Millisecond)
	activePort, standbyPort := freePort(t), freePort(t)
	run := func(cmd map[string]any) string {
		t.Helper()
		res := x.Command(context.Background(), cmd, nil, "rw")
		require.Zero(t, res.Retval, "%v: %s", cmd, res.Stderr)
		return string(res.Stdout)
	}
	set := func(name, value string) {
		run(map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/prometheus/" + name, "value": value})
	}
	set("server_addr", "127.0.0.1")
	set("x/server_port", strconv.Itoa(activePort))
	set("y/server_port", strconv.Itoa(standbyPort))
	// The active's port is taken: its module fails and publishes no URI.
	taken, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", activePort))
	require.NoError(t, err)
	defer taken.Close()

	run(map[string]any{"prefix": "mgr module enable", "module": "prometheus"})
	y := startDaemon(t, "y", dir)
	require.Eventually(t, func() bool { return y.Role() == daemon.RoleStandby }, 10*time.Second, 10*time.Millisecond)
	standby := fmt.Sprintf("http://127.0.0.1:%d/", standbyPort)
	activeURI := fmt.Sprintf("http://127.0.0.1:%d/", activePort)
	type answer struct {
		path     string
		code     int
		location string // the redirect's target
		body     string // in the body
		ctype    string // in Content-Type
	}
	noRedirect := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	check := func(t *testing.T, want []answer) {
		t.Helper()
		for _, a := range want {
			name := strings.TrimPrefix(a.path, "/")
			if name == "" {
				name = "index"
			}
			t.Run(name, func(t *testing.T) {
				var code int
				var hdr http.Header
				var body string
				// Polled: option changes and the active's URI reach the standby by polling.
				poll(10*time.Second, func() bool {
					res, err := noRedirect.Get(standby + strings.TrimPrefix(a.path, "/"))
					if err != nil {
						body = err.Error()
						return false
					}
					defer res.Body.Close()
					b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
					code, hdr, body = res.StatusCode, res.Header, string(b)
					return err == nil && code == a.code && hdr.Get("Location") == a.location && strings.Contains(body, a.body)
				})
				require.Equal(t, [3]any{a.code, a.location, true}, [3]any{code, hdr.Get("Location"), strings.Contains(body, a.body)},
					"GET %s: status, Location, body has %q; the body: %s", a.path, a.body, body)
				require.Contains(t, hdr.Get("Content-Type"), a.ctype)
				require.Equal(t, "Ceph-Prometheus", hdr.Get("Server"))
			})
		}
	}
	for _, phase := range []struct {
		name  string
		setup func()
		want  []answer
	}{
		{name: "default, no active URI", want: []answer{
			{path: "/metrics", code: 503, body: "active mgr's prometheus URI is not known", ctype: "text/plain"},
			{path: "/", code: 503, body: "active mgr's prometheus URI is not known", ctype: "text/plain"},
			{path: "/elsewhere", code: 404, ctype: "text/plain"},
		}},
		{name: "default", setup: func() {
			require.NoError(t, taken.Close())
			run(map[string]any{"prefix": "mgr module disable", "module": "prometheus"})
			run(map[string]any{"prefix": "mgr module enable", "module": "prometheus"})
			require.Eventually(t, func() bool {
				return run(map[string]any{"prefix": "mgr services"}) == "{\n  \"prometheus\": \""+activeURI+"\"\n}"
			}, 10*time.Second, 10*time.Millisecond, "the active publishes its URI as Pacific's: http://<addr>:<port>/")
		}, want: []answer{
			{path: "/metrics", code: 307, location: activeURI + "metrics", ctype: "text/html"},
			{path: "/metrics?a=b", code: 307, location: activeURI + "metrics?a=b", ctype: "text/html"},
			{path: "/", code: 200, body: "<a href='" + activeURI + "metrics'>Metrics</a>", ctype: "text/html"},
			{path: "/elsewhere", code: 404, ctype: "text/plain"},
		}},
		{name: "error", setup: func() {
			set("standby_behaviour", "error")
			set("standby_error_status_code", "418")
		}, want: []answer{
			{path: "/metrics", code: 418, body: "Keep on looking", ctype: "text/plain"},
			{path: "/", code: 418, body: "Keep on looking", ctype: "text/plain"},
			{path: "/elsewhere", code: 404, ctype: "text/plain"},
		}},
		{name: "default again", setup: func() { set("standby_behaviour", "default") }, want: []answer{
			{path: "/metrics", code: 307, location: activeURI + "metrics", ctype: "text/html"},
		}},
	} {
		t.Run(phase.name, func(t *testing.T) {
			if phase.setup != nil {
				phase.setup()
			}
			check(t, phase.want)
		})
	}

	// A client that follows redirects (Prometheus does) scrapes the active
	// through the standby.
	c := &http.Client{Timeout: 10 * time.Second}
	var body string
	ok := poll(20*time.Second, func() bool {
		res, err := c.Get(standby + "metrics")
		if err != nil {
			body = err.Error()
			return false
		}
		defer res.Body.Close()
		b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		body = string(b)
		return err == nil && res.StatusCode == 200 && res.Request.URL.String() == activeURI+"metrics" &&
			strings.Contains(body, "ceph_health_status ")
	})
	require.True(t, ok, "following the redirect to the active's metrics; last: %.2000s", body)

	res := x.Command(context.Background(), map[string]any{"prefix": "config set", "who": "mgr",
		"name": "mgr/prometheus/standby_error_status_code", "value": "600"}, nil, "rw")
	require.Equal(t, -22, res.Retval, "Pacific's bounds: 400..599: %s", res.Stderr)
}
