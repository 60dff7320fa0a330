package daemon

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
)

// raiser is a module that keeps its handle, to raise health checks.
type raiser struct{ h chan *module.Handle }

func (r raiser) Init(h *module.Handle) error { r.h <- h; return nil }

// TestHealthCommandMatchesTheMonitor is issue #9 item 18 through the
// daemon: "health" and "health detail" in plain, json and json-pretty
// answer the Ceph 16.2.15 monitor's bytes for the same checks (captured in
// internal/testutil/testdata/health), "status" shows them as "ceph status"
// does, and yaml has the json's shape.
func TestHealthCommandMatchesTheMonitor(t *testing.T) {
	handles := make(chan *module.Handle, 1)
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "raiser", AlwaysOn: true, New: func() module.Module { return raiser{handles} }}))
	d := startDaemon(t, Options{Registry: reg})
	ctx := context.Background()
	var h *module.Handle
	select {
	case h = <-handles:
	case <-time.After(10 * time.Second):
		t.Fatal("the raiser module did not start")
	}

	commands := map[string]map[string]any{
		"health":                       {"prefix": "health"},
		"health detail":                {"prefix": "health", "detail": "detail"},
		"health detail -f plain":       {"prefix": "health", "detail": "detail", "format": "plain"},
		"health -f json":               {"prefix": "health", "format": "json"},
		"health detail -f json":        {"prefix": "health", "detail": "detail", "format": "json"},
		"health -f json-pretty":        {"prefix": "health", "format": "json-pretty"},
		"health detail -f json-pretty": {"prefix": "health", "detail": "detail", "format": "json-pretty"},
	}
	for name, sc := range testutil.CephHealthCapture(t) {
		if len(sc.Mutes) > 0 {
			continue // gomgr has no mutes; pkg/module tests their rendering
		}
		t.Run(name, func(t *testing.T) {
			checks := map[string]module.HealthCheck{}
			for code, c := range sc.Checks {
				checks[code] = module.HealthCheck{Severity: c.Severity, Summary: c.Summary, Count: c.Count, Detail: c.Detail}
			}
			h.SetHealthChecks(checks)
			for words, cmd := range commands {
				res := d.Command(ctx, cmd, nil, "r")
				require.Zero(t, res.Retval, "%s: %s", words, res.Stderr)
				require.Equal(t, sc.Replies[words], string(res.Stdout), words)
			}

			res := d.Command(ctx, map[string]any{"prefix": "status"}, nil, "r")
			require.Zero(t, res.Retval, res.Stderr)
			out := string(res.Stdout)
			start := strings.Index(out, "    health: ")
			end := strings.Index(out, "    state: ")
			require.True(t, start >= 0 && end > start, out)
			require.Equal(t, sc.Replies["status"], out[start:end], "status")

			res = d.Command(ctx, map[string]any{"prefix": "status", "format": "json"}, nil, "r")
			var st struct{ Health any }
			require.NoError(t, json.Unmarshal(res.Stdout, &st))
			var want any
			require.NoError(t, json.Unmarshal([]byte(sc.Replies["health -f json"]), &want))
			require.Equal(t, want, st.Health, "status -f json has the health without detail, as ceph status does")

			for _, detail := range []bool{false, true} {
				cmd := map[string]any{"prefix": "health", "format": "yaml"}
				jsonName := "health -f json"
				if detail {
					cmd["detail"] = "detail"
					jsonName = "health detail -f json"
				}
				res := d.Command(ctx, cmd, nil, "r")
				require.Zero(t, res.Retval, res.Stderr)
				var got, want any
				require.NoError(t, yaml.Unmarshal(res.Stdout, &got))
				require.NoError(t, yaml.Unmarshal([]byte(sc.Replies[jsonName]), &want), "json is yaml")
				require.Equal(t, want, got, "yaml (detail %v) has the json's shape", detail)
			}
		})
	}
	res := d.Command(ctx, map[string]any{"prefix": "health", "format": "xml"}, nil, "r")
	require.Equal(t, "(-22, \"\", \"Unsupported format: xml\")", res.String())
}
