package modhost

// The modules' health checks, merged with the daemon's own.

import (
	"fmt"
	"maps"
	"sort"

	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/pkg/module"
)

func (m *Manager) setHealth(mod string, checks map[string]module.HealthCheck) {
	m.mu.Lock()
	if len(checks) == 0 {
		delete(m.health, mod)
	} else {
		m.health[mod] = checks
	}
	m.mu.Unlock()
	if m.cfg.OnHealth != nil {
		m.cfg.OnHealth(mod, maps.Clone(checks))
	}
}

// Health merges the modules' health checks with the daemon's own:
// MGR_MODULE_ERROR for failed modules, MGR_MODULE_DEPENDENCY for enabled
// modules that cannot run or are not compiled in, and
// MGR_ENABLED_MODULES_CORRUPT for a stored enabled list that does not
// parse.
func (m *Manager) Health() health.Report {
	m.mu.RLock()
	defer m.mu.RUnlock()
	checks := map[string]health.Check{}
	for _, mod := range sortedKeys(m.health) {
		for code, c := range m.health[mod] {
			checks[code] = health.FromCheck(mod, c)
		}
	}
	if len(m.failed) > 0 {
		names := sortedKeys(m.failed)
		r := health.Check{Severity: health.Err, Detail: []health.Message{}}
		if len(names) == 1 {
			r.Summary = health.Message{Message: fmt.Sprintf("Module '%s' has failed: %s", names[0], m.failed[names[0]]), Count: 1}
		} else {
			r.Summary = health.Message{Message: fmt.Sprintf("%d mgr modules have failed", len(names)), Count: len(names)}
		}
		for _, n := range names {
			r.Detail = append(r.Detail, health.Message{Message: fmt.Sprintf("Module '%s' has failed: %s", n, m.failed[n])})
		}
		checks["MGR_MODULE_ERROR"] = r
	}
	var cannot []string
	for _, n := range sortedKeys(m.enabled) {
		if c, ok := m.catalog[n]; ok {
			if ok, why := c.canRun(); !ok {
				cannot = append(cannot, fmt.Sprintf("Module '%s' has failed dependency: %s", n, why))
			}
		}
	}
	cannot = m.stateChecks(checks, cannot)
	sort.Strings(cannot)
	if len(cannot) > 0 {
		r := health.Check{Severity: health.Warn, Summary: health.Message{Message: fmt.Sprintf("%d mgr modules have failed dependencies", len(cannot)), Count: len(cannot)}}
		if len(cannot) == 1 {
			r.Summary.Message = cannot[0]
		}
		for _, c := range cannot {
			r.Detail = append(r.Detail, health.Message{Message: c})
		}
		checks["MGR_MODULE_DEPENDENCY"] = r
	}
	maps.Copy(checks, backendHealth(m.cfg.Backend))
	return health.Build(checks)
}
