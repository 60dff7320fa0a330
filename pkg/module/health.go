package module

import (
	"fmt"
	"sort"
	"strings"
)

// Health severities.
const (
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// HealthCheck is one health check a module raises (set_health_checks).
type HealthCheck struct {
	// Severity is "warning" or "error".
	Severity string `json:"severity"`
	// Summary is the one-line text.
	Summary string `json:"summary"`
	// Count is how many things are affected.
	Count int `json:"count"`
	// Detail lines, shown by "health detail".
	Detail []string `json:"detail"`
}

// Validate checks a health check the way the mgr does: a known severity and
// a summary.
func (c HealthCheck) Validate() error {
	if c.Severity != SeverityWarning && c.Severity != SeverityError {
		return fmt.Errorf("severity %q is not %q or %q", c.Severity, SeverityWarning, SeverityError)
	}
	if c.Summary == "" {
		return fmt.Errorf("empty summary")
	}
	return nil
}

// Health is the daemon's health report, shaped like "ceph health -f json".
type Health struct {
	Status string                  `json:"status"`
	Checks map[string]HealthReport `json:"checks"`
	Mutes  []string                `json:"mutes"`
}

// HealthReport is one check in a Health report.
type HealthReport struct {
	Severity string          `json:"severity"`
	Summary  HealthMessage   `json:"summary"`
	Detail   []HealthMessage `json:"detail"`
	Muted    bool            `json:"muted"`
	// Module names the module that raised the check.
	Module string `json:"-"`
}

// HealthMessage is a message with a count, as Ceph writes them.
type HealthMessage struct {
	Message string `json:"message"`
	Count   int    `json:"count,omitempty"`
}

// Health status values.
const (
	HealthOK   = "HEALTH_OK"
	HealthWarn = "HEALTH_WARN"
	HealthErr  = "HEALTH_ERR"
)

// buildHealth merges checks into a report.
func buildHealth(checks map[string]HealthReport) Health {
	h := Health{Status: HealthOK, Checks: checks, Mutes: []string{}}
	for _, c := range checks {
		switch c.Severity {
		case "HEALTH_ERR":
			h.Status = HealthErr
		case "HEALTH_WARN":
			if h.Status == HealthOK {
				h.Status = HealthWarn
			}
		}
	}
	return h
}

func severityStatus(sev string) string {
	if sev == SeverityError {
		return HealthErr
	}
	return HealthWarn
}

// Plain renders the report as "ceph health" does; detail adds the detail
// lines as "ceph health detail" does.
func (h Health) Plain(detail bool) string {
	if len(h.Checks) == 0 {
		return h.Status
	}
	names := sortedKeys(h.Checks)
	var b strings.Builder
	b.WriteString(h.Status)
	if !detail {
		var sums []string
		for _, n := range names {
			sums = append(sums, h.Checks[n].Summary.Message)
		}
		b.WriteString(" " + strings.Join(sums, "; "))
		return b.String()
	}
	b.WriteByte('\n')
	for _, n := range names {
		c := h.Checks[n]
		fmt.Fprintf(&b, "[%s] %s: %s\n", strings.TrimPrefix(c.Severity, "HEALTH_"), n, c.Summary.Message)
		for _, d := range c.Detail {
			fmt.Fprintf(&b, "    %s\n", d.Message)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedChecks(m map[string]HealthCheck) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
