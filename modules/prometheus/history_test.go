package prometheus

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// pacificHistory is a health_history as Pacific's module stores it (from
// a loopback cluster, `ceph osd set noout` twice).
const pacificHistory = `{"OSDMAP_FLAGS": {"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": 1796228526.2512069, "last_seen": 1796228534.2854362, "count": 2, "active": true}}`

// TestHistoryCheck: Pacific's HealthHistory.check, collection after
// collection: a new check is recorded (first and last seen now, count 1),
// one that clears becomes inactive, one raised again counts once more
// and is last seen then; a check still active is not touched. Only a
// change asks for a save.
func TestHistoryCheck(t *testing.T) {
	hh := newHealthHistory()
	hh.loc = time.UTC
	clock := 999.5
	hh.now = func() float64 { return clock }
	warn := func(names ...string) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			m[n] = map[string]any{"severity": "HEALTH_WARN", "summary": map[string]any{"message": n}}
		}
		return m
	}
	for _, tc := range []struct {
		checks  map[string]any
		changed bool
		json    string
	}{
		{warn(), false, `{}`},
		{warn("OSDMAP_FLAGS"), true, `{"OSDMAP_FLAGS": {"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": 1000.5, "last_seen": 1000.5, "count": 1, "active": true}}`},
		{warn("OSDMAP_FLAGS"), false, `{"OSDMAP_FLAGS": {"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": 1000.5, "last_seen": 1000.5, "count": 1, "active": true}}`},
		{warn("SLOW_OPS"), true, `{"OSDMAP_FLAGS": {"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": 1000.5, "last_seen": 1000.5, "count": 1, "active": false}, ` +
			`"SLOW_OPS": {"name": "SLOW_OPS", "severity": "HEALTH_WARN", "first_seen": 1002.5, "last_seen": 1002.5, "count": 1, "active": true}}`},
		{warn("OSDMAP_FLAGS", "SLOW_OPS"), true, `{"OSDMAP_FLAGS": {"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": 1000.5, "last_seen": 1003.5, "count": 2, "active": true}, ` +
			`"SLOW_OPS": {"name": "SLOW_OPS", "severity": "HEALTH_WARN", "first_seen": 1002.5, "last_seen": 1002.5, "count": 1, "active": true}}`},
	} {
		require.Equal(t, tc.changed, hh.check(tc.checks), "%v", tc.checks)
		out, err := hh.JSON(false)
		require.NoError(t, err)
		require.Equal(t, tc.json, string(out))
		clock++
	}
	require.Equal(t, "Healthcheck Name          First Seen (UTC)      Last seen (UTC)       Count  Active\n"+
		"OSDMAP_FLAGS              1970/01/01 00:16:40   1970/01/01 00:16:43       2   Yes  \n"+
		"SLOW_OPS                  1970/01/01 00:16:42   1970/01/01 00:16:42       1   Yes  \n"+
		"2 health check(s) listed\n", hh.String())
	hh.check(warn("SLOW_OPS"))
	require.Contains(t, hh.String(), "OSDMAP_FLAGS              1970/01/01 00:16:40   1970/01/01 00:16:43       2    No  \n", "an inactive check")
}

// TestHistoryFormats: a history Pacific stored reads back and prints as
// Pacific's ls prints it, in every format (the table's times in local
// time, here UTC); what is not a JSON object resets it.
func TestHistoryFormats(t *testing.T) {
	hh := newHealthHistory()
	hh.loc = time.UTC
	require.Equal(t, "No healthchecks have been recorded", hh.String())
	y, err := hh.YAML()
	require.NoError(t, err)
	require.Equal(t, "--- {}\n", string(y))

	require.NoError(t, hh.decode(pacificHistory))
	out, err := hh.JSON(false)
	require.NoError(t, err)
	require.Equal(t, pacificHistory, string(out), "stored back as Pacific stored it")
	out, err = hh.JSON(true)
	require.NoError(t, err)
	require.Equal(t, `{
  "OSDMAP_FLAGS": {
    "name": "OSDMAP_FLAGS",
    "severity": "HEALTH_WARN",
    "first_seen": 1796228526.2512069,
    "last_seen": 1796228534.2854362,
    "count": 2,
    "active": true
  }
}`, string(out))
	y, err = hh.YAML()
	require.NoError(t, err)
	require.Equal(t, `---
OSDMAP_FLAGS:
  active: true
  count: 2
  first_seen: 1796228526.2512069
  last_seen: 1796228534.2854362
  name: OSDMAP_FLAGS
  severity: HEALTH_WARN
`, string(y))
	// The line Pacific's ls printed for it on the loopback cluster.
	require.Equal(t, "Healthcheck Name          First Seen (UTC)      Last seen (UTC)       Count  Active\n"+
		"OSDMAP_FLAGS              2026/12/02 16:22:06   2026/12/02 16:22:14       2   Yes  \n"+
		"1 health check(s) listed\n", hh.String())

	// Missing members take Pacific's defaults (times 0, count 1, active);
	// integer times stay integers.
	require.NoError(t, hh.decode(`{"B": {"severity": "HEALTH_ERR", "first_seen": 5}, "A": {}}`))
	out, err = hh.JSON(false)
	require.NoError(t, err)
	require.Equal(t, `{"B": {"name": "B", "severity": "HEALTH_ERR", "first_seen": 5, "last_seen": 0, "count": 1, "active": true}, `+
		`"A": {"name": "A", "severity": null, "first_seen": 0, "last_seen": 0, "count": 1, "active": true}}`, string(out),
		"in the stored order")
	var details []string
	hh.detail(func(name, severity string, active bool) {
		details = append(details, fmt.Sprint(name, severity, active))
	})
	require.Equal(t, []string{"BHEALTH_ERRtrue", "ANonetrue"}, details, "a missing severity labels as Python's str(None)")

	for _, bad := range []string{`not json`, `[1]`, `{"A": 1}`, `{"A": {}} {}`} {
		require.Error(t, hh.decode(bad), bad)
	}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHistoryCommands: the history is in the KV store (health_history,
// Pacific's JSON) from the start, a collection that changes it stores it,
// a restarted module reads it back (a history Pacific stored too), and
// `healthcheck history ls` / `clear` answer as Pacific's.
func TestHistoryCommands(t *testing.T) {
	port := freeLoopbackPort(t)
	h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("cache", "false"))
	const key = "mgr/prometheus/health_history"
	v, ok := h.KV(key)
	require.True(t, ok, "Pacific resets a missing history, storing it empty")
	require.Equal(t, "{}", v)
	require.Equal(t, "No healthchecks have been recorded", h.Must("healthcheck history ls"))
	require.Equal(t, "{}", h.Must("healthcheck history ls --format json"))
	require.Equal(t, "--- {}\n", h.Must("healthcheck history ls --format yaml"))
	require.Equal(t, -22, h.Run("healthcheck history ls --format xml").Retval, "Pacific's formats only")

	// A collection that sees a new check stores the history.
	m := h.Module().(*Module)
	s := newScrape()
	require.NoError(t, m.healthSamples(s, decodeMap(t, `{"status": "HEALTH_WARN", "checks": {"OSDMAP_FLAGS": {"severity": "HEALTH_WARN", "summary": {"message": "noout flag(s) set"}}}}`)))
	require.NoError(t, m.history.save(context.Background(), m.mgr))
	v, _ = h.KV(key)
	require.Regexp(t, `^\{"OSDMAP_FLAGS": \{"name": "OSDMAP_FLAGS", "severity": "HEALTH_WARN", "first_seen": [0-9.e+]+, "last_seen": [0-9.e+]+, "count": 1, "active": true\}\}$`, v)
	require.Equal(t, v, h.Must("healthcheck history ls --format json"))
	require.Contains(t, h.Must("healthcheck history ls"), "\n1 health check(s) listed\n")

	// A restarted module reads the stored history back: here Pacific's.
	h.Must("mgr module disable prometheus")
	h.Must("config-key set " + key + " '" + pacificHistory + "'")
	h.Must("mgr module enable prometheus")
	require.Eventually(t, func() bool { return h.Module().(*Module) != m }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, pacificHistory, h.Must("healthcheck history ls --format json"))
	require.Contains(t, h.Must("healthcheck history ls --format json-pretty"), "\n    \"first_seen\": 1796228526.2512069,\n")
	require.Contains(t, h.Must("healthcheck history ls"), "OSDMAP_FLAGS              ")

	require.Equal(t, "healthcheck history cleared", h.Must("healthcheck history clear"))
	v, _ = h.KV(key)
	require.Equal(t, "{}", v)
	require.Equal(t, "No healthchecks have been recorded", h.Must("healthcheck history ls"))

	// A stored history that is not JSON is reset when the module starts.
	h.Must("mgr module disable prometheus")
	h.Must("config-key set " + key + " garbage")
	h.Must("mgr module enable prometheus")
	require.Eventually(t, func() bool { v, _ := h.KV(key); return v == "{}" }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "{}", h.Must("healthcheck history ls --format json"))
}

// TestFileSDConfig: Pacific's file_sd_config: this host's mgr with its
// server_port (the localized one first), as one line of JSON with
// Pacific's key order.
func TestFileSDConfig(t *testing.T) {
	port := freeLoopbackPort(t)
	h := moduletest.Start(t, "prometheus", moduletest.WithOption("server_addr", "127.0.0.1"),
		moduletest.WithOption("server_port", strconv.Itoa(port)), moduletest.WithOption("cache", "false"))
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf(`[{"targets": ["%s:%d"], "labels": {}}]`, host, port), h.Must("prometheus file_sd_config"))
	local := freeLoopbackPort(t)
	h.Must(fmt.Sprintf("config set mgr mgr/prometheus/x/server_port %d", local))
	require.Equal(t, fmt.Sprintf(`[{"targets": ["%s:%d"], "labels": {}}]`, host, local), h.Must("prometheus file_sd_config"))
}
