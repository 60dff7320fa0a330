package module

import "fmt"

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

// Health status values: the overall status of a health report (the
// "status" of Get("health")).
const (
	HealthOK   = "HEALTH_OK"
	HealthWarn = "HEALTH_WARN"
	HealthErr  = "HEALTH_ERR"
)
