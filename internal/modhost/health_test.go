package modhost

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
)

// TestHealthRendersLikeTheMonitor is issue #9 item 18: for the checks of
// each captured scenario, raised by a module, every rendering of the
// manager's health report is byte for byte the Ceph 16.2.15 monitor's
// (severity names, counts, muted, detail indentation, the summary line,
// Ceph's JSON layout and escaping). gomgr has no mute command, so the
// captured mutes are applied to the manager's report.
func TestHealthRendersLikeTheMonitor(t *testing.T) {
	for name, sc := range testutil.CephHealthCapture(t) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }})
			checks := map[string]module.HealthCheck{}
			for code, c := range sc.Checks {
				checks[code] = module.HealthCheck{Severity: c.Severity, Summary: c.Summary, Count: c.Count, Detail: c.Detail}
			}
			f.enable("t").h.SetHealthChecks(checks)
			h := f.m.Health()
			if len(sc.Mutes) > 0 {
				var mutes []health.Mute
				for _, m := range sc.Mutes {
					mutes = append(mutes, health.Mute(m))
				}
				h = health.Build(h.Checks, mutes...)
			}
			r := sc.Replies
			require.Equal(t, sc.Status, h.Status, "status (muted checks do not count)")
			require.Equal(t, r["health"], h.Plain(false), "health")
			require.Equal(t, r["health detail"], h.Plain(true), "health detail")
			require.Equal(t, r["health detail -f plain"], h.Plain(true), "health detail -f plain")
			require.Equal(t, r["health -f json"], string(h.JSON(false, false)), "health -f json")
			require.Equal(t, r["health detail -f json"], string(h.JSON(true, false)), "health detail -f json")
			require.Equal(t, r["health -f json-pretty"], string(h.JSON(false, true)), "health -f json-pretty")
			require.Equal(t, r["health detail -f json-pretty"], string(h.JSON(true, true)), "health detail -f json-pretty")
			const col = "\n            "
			require.Equal(t, r["status"], "    health: "+h.Summary(col, col)+"\n", "status")
			b, err := h.MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, r["health detail -f json"], string(b), "MarshalJSON")
			b, err = json.Marshal(h) // which escapes <, >, & and U+2028 in what MarshalJSON gives it
			require.NoError(t, err)
			require.JSONEq(t, r["health detail -f json"], string(b), "json.Marshal")
		})
	}
}

// TestHealthJSONEscapesNames: where Ceph writes a check name raw (and so
// invalid JSON for a name with a quote), the name is escaped like values.
func TestHealthJSONEscapesNames(t *testing.T) {
	h := health.Build(map[string]health.Check{`Q"N\a` + "\tb\x01": {Severity: health.Warn, Summary: health.Message{Message: "s"}}})
	for _, pretty := range []bool{false, true} {
		var v map[string]any
		require.NoError(t, json.Unmarshal(h.JSON(true, pretty), &v))
		require.Contains(t, v["checks"], "Q\"N\\a\tb\x01")
	}
	require.Equal(t, `{"status":"HEALTH_WARN","checks":{"Q\"N\\a\tb\u0001":{"severity":"HEALTH_WARN","summary":{"message":"s","count":0},"muted":false}},"mutes":[]}`,
		string(h.JSON(false, false)))
}

// TestHealthAllMuted: with every check muted the status is HEALTH_OK and
// the summary line lists only the mutes, as the monitor's code has it.
func TestHealthAllMuted(t *testing.T) {
	h := health.Build(map[string]health.Check{"A": {Severity: health.Err, Summary: health.Message{Message: "a", Count: 1}}},
		health.Mute{Code: "A", Summary: "a", Count: 1}, health.Mute{Code: "GONE", Sticky: true})
	require.Equal(t, health.OK, h.Status)
	require.Equal(t, "HEALTH_OK (muted: A GONE)\n(MUTED) [ERR] A: a\n", h.Plain(true))
}
