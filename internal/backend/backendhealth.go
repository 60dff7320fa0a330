package backend

import "github.com/gomgr/gomgr/pkg/module"

// HealthReporter is implemented by a Backend that raises health checks of
// its own, such as the embedded store's MGR_STORE_CORRUPT. Manager.Health
// merges them with the modules' checks.
type HealthReporter interface {
	HealthChecks() map[string]module.HealthCheck
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
