package bridge

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// checkPrometheusServer points a real Prometheus server (Debian's) at the
// Go module bridged as goprometheus, at the URI the real mgr publishes
// for it (`ceph mgr services`), and queries its HTTP API until the
// target is up and ceph_health_status and an OSD perf counter
// (ceph_osd_op_w of osd.0) come back from it, with the scrape's job and
// instance labels. comparePrometheus enabled the module.
func checkPrometheusServer(t *testing.T, ceph func(args ...string) (string, string, int)) {
	t.Helper()
	var uri string
	for end := time.Now().Add(60 * time.Second); uri == ""; time.Sleep(time.Second) {
		o, e, rc := ceph("mgr", "services")
		require.Zero(t, rc, "ceph mgr services: %s", e)
		var services map[string]string
		require.NoError(t, json.Unmarshal([]byte(o), &services), "ceph mgr services: %s", o)
		uri = services["goprometheus"]
		if uri == "" && time.Now().After(end) {
			t.Fatalf("the real mgr publishes no URI for goprometheus: %s", o)
		}
	}
	u, err := url.Parse(uri)
	require.NoError(t, err, "goprometheus's URI %q", uri)
	require.Equal(t, "http", u.Scheme, "goprometheus's URI %q", uri)

	prom := testutil.StartPrometheus(t, "goprometheus", []string{u.Host}, u.Path+"metrics")
	// one is the sample of the Go module's target, if it is the only one.
	one := func(s []testutil.PromSample) (testutil.PromSample, bool) {
		if len(s) != 1 || s[0].Labels["job"] != "goprometheus" || s[0].Labels["instance"] != u.Host {
			return testutil.PromSample{}, false
		}
		return s[0], true
	}
	const wait = 90 * time.Second
	prom.WaitQuery(t, `up`, wait, func(s []testutil.PromSample) bool {
		smp, ok := one(s)
		return ok && smp.Value == "1"
	})
	prom.WaitQuery(t, `ceph_health_status`, wait, func(s []testutil.PromSample) bool {
		smp, ok := one(s)
		return ok && (smp.Value == "0" || smp.Value == "1" || smp.Value == "2")
	})
	opw := prom.WaitQuery(t, `ceph_osd_op_w{ceph_daemon="osd.0"}`, wait, func(s []testutil.PromSample) bool {
		_, ok := one(s)
		return ok
	})
	t.Logf("Prometheus scraped goprometheus at %s: ceph_osd_op_w%v = %s", uri, opw[0].Labels, opw[0].Value)
}
