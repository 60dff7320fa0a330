package prometheus_test

import (
	"context"
	"fmt"
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

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestStandby: a standby daemon's module answers on its own (localized)
// port as Pacific's standby does: / links to the active's metrics, or
// with standby_behaviour "error" answers standby_error_status_code;
// /metrics is empty.
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
	run(map[string]any{"prefix": "mgr module enable", "module": "prometheus"})
	activeURI := fmt.Sprintf("http://127.0.0.1:%d/", activePort)
	require.Eventually(t, func() bool {
		return run(map[string]any{"prefix": "mgr services"}) == "{\n  \"prometheus\": \""+activeURI+"\"\n}"
	}, 10*time.Second, 10*time.Millisecond, "the active publishes its URI as Pacific's: http://<addr>:<port>/")
	activeCode, _, _ := get(t, activeURI)
	require.Equal(t, 200, activeCode)

	y := startDaemon(t, "y", dir)
	require.Eventually(t, func() bool { return y.Role() == daemon.RoleStandby }, 10*time.Second, 10*time.Millisecond)
	standby := fmt.Sprintf("http://127.0.0.1:%d/", standbyPort)
	var code int
	var hdr http.Header
	var body string
	require.Eventually(t, func() bool {
		code, hdr, body = get(t, standby)
		return strings.Contains(body, "<a href='"+activeURI+"metrics'>Metrics</a>")
	}, 10*time.Second, 20*time.Millisecond, "the standby links to the active's metrics once it knows the active's URI; last: %s", body)
	require.Equal(t, 200, code, body)
	require.Contains(t, hdr.Get("Content-Type"), "text/html")
	code, hdr, body = get(t, standby+"metrics")
	require.Equal(t, [2]any{200, ""}, [2]any{code, body}, "a standby's metrics are empty")
	require.Contains(t, hdr.Get("Content-Type"), "text/plain")
	code, _, _ = get(t, standby+"elsewhere")
	require.Equal(t, 404, code)

	set("standby_behaviour", "error")
	set("standby_error_status_code", "418")
	require.Eventually(t, func() bool {
		code, _, body = get(t, standby)
		return code == 418
	}, 10*time.Second, 20*time.Millisecond, "last: %d %s", code, body)
	require.Contains(t, body, "Keep on looking")
	code, _, body = get(t, standby+"metrics")
	require.Equal(t, [2]any{200, ""}, [2]any{code, body}, "metrics stay empty with the error behaviour, as Pacific's")
	res := x.Command(context.Background(), map[string]any{"prefix": "config set", "who": "mgr",
		"name": "mgr/prometheus/standby_error_status_code", "value": "600"}, nil, "rw")
	require.Equal(t, -22, res.Retval, "Pacific's bounds: 400..599: %s", res.Stderr)
}
