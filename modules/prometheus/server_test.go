package prometheus_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/testutil"
)

// TestPrometheusServer: a real Prometheus server (Debian's) scrapes an
// active and a standby embedded daemon, listed in one scrape config as an
// operator lists every mgr: both targets are up, the standby's through its
// redirect to the active, and both give the active's ceph_health_status
// and metadata.
func TestPrometheusServer(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	x := startDaemon(t, "x", dir)
	require.Eventually(t, func() bool { return x.Role() == daemon.RoleActive }, 10*time.Second, 10*time.Millisecond)
	activePort, standbyPort := freePort(t), freePort(t)
	for _, o := range [][2]string{{"server_addr", "127.0.0.1"}, {"x/server_port", strconv.Itoa(activePort)},
		{"y/server_port", strconv.Itoa(standbyPort)}, {"scrape_interval", "1"}} {
		res := x.Command(context.Background(), map[string]any{"prefix": "config set", "who": "mgr",
			"name": "mgr/prometheus/" + o[0], "value": o[1]}, nil, "rw")
		require.Zero(t, res.Retval, "%v: %s", o, res.Stderr)
	}
	res := x.Command(context.Background(), map[string]any{"prefix": "mgr module enable", "module": "prometheus"}, nil, "rw")
	require.Zero(t, res.Retval, res.Stderr)
	y := startDaemon(t, "y", dir)
	require.Eventually(t, func() bool { return y.Role() == daemon.RoleStandby }, 10*time.Second, 10*time.Millisecond)

	active, standby := fmt.Sprintf("127.0.0.1:%d", activePort), fmt.Sprintf("127.0.0.1:%d", standbyPort)
	prom := testutil.StartPrometheus(t, "ceph", []string{active, standby}, "/metrics")
	// byInstance checks that the samples are one per target of job ceph
	// and returns their values by instance.
	byInstance := func(s []testutil.PromSample) map[string]string {
		out := map[string]string{}
		for _, smp := range s {
			if smp.Labels["job"] != "ceph" {
				return nil
			}
			out[smp.Labels["instance"]] = smp.Value
		}
		return out
	}
	const wait = 60 * time.Second
	prom.WaitQuery(t, `up`, wait, func(s []testutil.PromSample) bool {
		v := byInstance(s)
		return len(s) == 2 && v[active] == "1" && v[standby] == "1"
	})
	health := prom.WaitQuery(t, `ceph_health_status`, wait, func(s []testutil.PromSample) bool {
		v := byInstance(s)
		return len(s) == 2 && v[active] != "" && v[active] == v[standby]
	})
	require.Contains(t, []string{"0", "1", "2"}, health[0].Value, "a Pacific health status")
	prom.WaitQuery(t, `ceph_mgr_metadata{ceph_daemon="mgr.x"}`, wait, func(s []testutil.PromSample) bool {
		v := byInstance(s)
		return len(s) == 2 && v[active] == "1" && v[standby] == "1"
	})
}
