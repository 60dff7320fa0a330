package modhost

import (
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
)

// backendHealth returns a backend's own health checks as reports.
func backendHealth(b backend.Backend) map[string]health.Check {
	hr, ok := b.(backend.HealthReporter)
	if !ok {
		return nil
	}
	out := map[string]health.Check{}
	for code, c := range hr.HealthChecks() {
		out[code] = health.FromCheck("", c)
	}
	return out
}
