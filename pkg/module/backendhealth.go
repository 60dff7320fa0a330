package module

// HealthReporter is implemented by a Backend that raises health checks of
// its own, such as the embedded store's MGR_STORE_CORRUPT. Manager.Health
// merges them with the modules' checks.
type HealthReporter interface {
	HealthChecks() map[string]HealthCheck
}

// CorruptReporter is implemented by a Store that verifies the values it
// holds. A key whose stored value failed verification is withheld: Get
// reports it absent and List leaves it out, and Corrupt returns an error
// for it (wrapping syscall.EIO, so replies carry -EIO), nil for any other
// key. Setting or deleting the key clears it. Commands that answer for one
// key (config-key get) check StoreCorrupt first.
type CorruptReporter interface {
	Corrupt(key string) error
}

// StoreCorrupt returns s.Corrupt(key) if s is a CorruptReporter, else nil.
func StoreCorrupt(s Store, key string) error {
	if c, ok := s.(CorruptReporter); ok {
		return c.Corrupt(key)
	}
	return nil
}

// backendHealth returns a backend's own health checks as reports.
func backendHealth(b Backend) map[string]HealthReport {
	hr, ok := b.(HealthReporter)
	if !ok {
		return nil
	}
	out := map[string]HealthReport{}
	for code, c := range hr.HealthChecks() {
		out[code] = c.report("")
	}
	return out
}

// report is c as a Health report entry raised by module ("": the daemon).
func (c HealthCheck) report(module string) HealthReport {
	r := HealthReport{Severity: severityStatus(c.Severity), Summary: HealthMessage{Message: c.Summary, Count: c.Count}, Module: module, Detail: []HealthMessage{}}
	for _, d := range c.Detail {
		r.Detail = append(r.Detail, HealthMessage{Message: d})
	}
	return r
}
