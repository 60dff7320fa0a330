package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/pkg/module"
)

// enabledKey is the KV key holding the list of enabled modules: a JSON
// list of module names (always-on modules are not listed).
const enabledKey = kvkeys.ReservedKVPrefix + "enabled_modules"

// Limits on what is read from a stored enabled list, which a user of the
// real `ceph config-key set` can write when the daemon is attached to a
// cluster.
const (
	maxEnabledNames = 1024
	maxEnabledScan  = 1 << 20
)

// unavailableWhy is the error string of a module that is enabled but not
// compiled into this daemon.
const unavailableWhy = "not compiled into this daemon"

// enabledCorruptCheck is the health check raised while the stored enabled
// list cannot be read as it was written.
const enabledCorruptCheck = "MGR_ENABLED_MODULES_CORRUPT"

// resyncInterval is how often a failed save of the enabled list is
// retried (it is also retried when the monitor connection comes back).
const resyncInterval = 5 * time.Second

// quotedRE matches JSON string literals, for the tolerant scan.
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// parseEnabled reads a stored enabled list. A JSON list of module names
// (or null, for none) gives the names and no problem. Anything else is
// read leniently: the quoted strings in it that are valid module names are
// kept (at most maxEnabledNames, from the first maxEnabledScan bytes), and
// problem says what is wrong. Names are returned sorted, without
// duplicates.
func parseEnabled(raw string) (names []string, problem string) {
	seen := map[string]bool{}
	var bad []string
	tooMany := false
	add := func(n string) {
		switch {
		case !module.ValidName(n):
			if len(bad) < 3 {
				bad = append(bad, fmt.Sprintf("%q", clip(n, 32)))
			}
		case len(seen) >= maxEnabledNames && !seen[n]:
			tooMany = true
		default:
			seen[n] = true
		}
	}
	var problems []string
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err == nil {
		for _, n := range list {
			add(n)
		}
		if len(bad) > 0 {
			problems = append(problems, "not module names: "+strings.Join(bad, ", "))
		}
	} else {
		problems = append(problems, "not a JSON list of module names: "+err.Error())
		scan := raw
		if len(scan) > maxEnabledScan {
			scan = scan[:maxEnabledScan]
		}
		for _, lit := range quotedRE.FindAllString(scan, -1) {
			var n string
			if json.Unmarshal([]byte(lit), &n) == nil && module.ValidName(n) {
				add(n)
			}
		}
	}
	if tooMany {
		problems = append(problems, fmt.Sprintf("more than %d module names (the rest are ignored)", maxEnabledNames))
	}
	return sortedKeys(seen), strings.Join(problems, "; ")
}

// clip shortens s to at most n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// storedState is the last parse of the stored enabled list.
type storedState struct {
	parsed  bool
	raw     string
	present bool
	names   []string
	problem string
	// damaged is the store's error for a stored list that fails its
	// checksum (module.CorruptReporter): the store withholds it, and no
	// module is enabled from it.
	damaged string
}

// stored reads and parses the stored enabled list, reusing the last parse
// while the value is unchanged.
//
// A list whose bytes fail their checksum is not read at all: the store
// does not serve it, and the damaged bytes are not salvaged for module
// names. A checksum says only that some byte changed, not which: a
// changed byte can turn a name into another compiled-in module's, or
// garble a list the tolerant scan would then half read, and starting a
// module is an action on the cluster (balancing, scrubbing, ...) that the
// operator did not ask for. So nothing from it is enabled, and
// MGR_ENABLED_MODULES_CORRUPT says that the modules it named are not
// running, until the operator enables or disables a module (which writes
// the list again). `ceph-mgr --check-store` reports the damage.
func (m *Manager) stored() storedState {
	kv := m.cfg.Backend.KV()
	raw, ok := kv.Get(enabledKey)
	damaged := ""
	if !ok {
		if err := backend.StoreCorrupt(kv, enabledKey); err != nil {
			damaged = err.Error()
		}
	}
	m.parseMu.Lock()
	defer m.parseMu.Unlock()
	if m.lastParse.parsed && m.lastParse.present == ok && m.lastParse.raw == raw && m.lastParse.damaged == damaged {
		return m.lastParse
	}
	st := storedState{parsed: true, raw: raw, present: ok, damaged: damaged}
	switch {
	case ok:
		st.names, st.problem = parseEnabled(raw)
	case damaged != "":
		st.problem = "the stored value fails its checksum"
	}
	m.lastParse = st
	return st
}

// writeEnabled stores set (minus the always-on modules) as the enabled
// list.
func (m *Manager) writeEnabled(ctx context.Context, set map[string]bool) error {
	names := []string{}
	for _, n := range sortedKeys(set) {
		if c, ok := m.catalog[n]; !ok || !c.info.AlwaysOn {
			names = append(names, n)
		}
	}
	b, err := json.Marshal(names)
	if err != nil {
		return fmt.Errorf("encode the enabled module list: %w", err)
	}
	if err := m.cfg.Backend.KV().Set(ctx, enabledKey, string(b)); err != nil {
		return fmt.Errorf("cannot save the enabled module list: %w", err)
	}
	return nil
}

// persist stores the enabled list with name turned on or off and, only
// once that is stored, records it in memory: the two never disagree
// because of a failed write. Saves are serialised, so two changes to
// different modules cannot overwrite each other. A failed save leaves the
// stored list in doubt (a timed-out write may still land), so it is
// rewritten from memory in the background until a write succeeds.
func (m *Manager) persist(ctx context.Context, name string, on bool) error {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.RLock()
	next := maps.Clone(m.enabled)
	m.mu.RUnlock()
	if on {
		next[name] = true
	} else {
		delete(next, name)
	}
	if err := m.writeEnabled(ctx, next); err != nil {
		m.needResync()
		return err
	}
	m.mu.Lock()
	m.enabled = next
	m.mu.Unlock()
	m.unsynced = false
	return nil
}

// needResync marks the stored list as in doubt and starts the background
// rewrite (once). m.saveMu is held.
func (m *Manager) needResync() {
	m.unsynced = true
	if m.resyncing || m.bgClosed {
		return
	}
	m.resyncing = true
	m.bg.Add(1)
	go m.resyncLoop()
}

// resyncLoop rewrites the enabled list from memory until a write succeeds
// or the manager closes; a ConnectionChanged event makes it try at once.
func (m *Manager) resyncLoop() {
	defer m.bg.Done()
	t := time.NewTicker(resyncInterval)
	defer t.Stop()
	for {
		select {
		case <-m.bgCtx.Done():
			m.saveMu.Lock()
			m.resyncing = false
			m.saveMu.Unlock()
			return
		case <-t.C:
		case <-m.resyncNow:
		}
		if m.resync() {
			return
		}
	}
}

// resync writes the in-memory enabled list if it is in doubt; it reports
// whether the list is in line again (and the loop may end).
func (m *Manager) resync() bool {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	if !m.unsynced {
		m.resyncing = false
		return true
	}
	m.mu.RLock()
	cur := maps.Clone(m.enabled)
	m.mu.RUnlock()
	ctx, cancel := context.WithTimeout(m.bgCtx, m.cfg.ShutdownTimeout)
	defer cancel()
	if err := m.writeEnabled(ctx, cur); err != nil {
		m.cfg.Log.Warn("the enabled module list is still not saved; retrying", "err", err, "retry_in", resyncInterval)
		return false
	}
	m.cfg.Log.Info("saved the enabled module list again", "modules", sortedKeys(cur))
	m.unsynced = false
	m.resyncing = false
	return true
}

// kickResync asks a running resync loop to try now.
func (m *Manager) kickResync() {
	select {
	case m.resyncNow <- struct{}{}:
	default:
	}
}

// repairStored rewrites a stored list that does not read back cleanly,
// so that any enable or disable (even one that changes nothing) clears
// MGR_ENABLED_MODULES_CORRUPT.
func (m *Manager) repairStored(ctx context.Context) error {
	if st := m.stored(); st.problem == "" {
		return nil
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.RLock()
	cur := maps.Clone(m.enabled)
	m.mu.RUnlock()
	if err := m.writeEnabled(ctx, cur); err != nil {
		m.needResync()
		return err
	}
	return nil
}

// stateChecks adds the manager's checks on its own state to checks:
// MGR_ENABLED_MODULES_CORRUPT for a stored list that does not parse, and
// the enabled modules that are not compiled in (as failed dependencies,
// in MGR_MODULE_DEPENDENCY, next to the modules that cannot run). m.mu is
// held for reading.
func (m *Manager) stateChecks(checks map[string]health.Check, dependency []string) []string {
	for _, n := range sortedKeys(m.enabled) {
		if _, ok := m.catalog[n]; !ok {
			dependency = append(dependency, fmt.Sprintf("Module '%s' has failed dependency: %s", n, unavailableWhy))
		}
	}
	switch st := m.stored(); {
	case st.damaged != "":
		checks[enabledCorruptCheck] = health.Check{
			Severity: health.Warn,
			Summary:  health.Message{Message: "the stored list of enabled mgr modules is unreadable: the modules it named are not running", Count: 1},
			Detail: []health.Message{
				{Message: st.damaged},
				{Message: "no module was enabled from it: enable again the modules that should run (`mgr module enable NAME`; `mgr module ls` shows what runs now)"},
				{Message: "enabling or disabling any module (`mgr module enable|disable`) writes the list again and clears this warning"},
			},
		}
	case st.problem != "":
		recovered := "no module name could be read from it"
		if len(st.names) > 0 {
			recovered = "modules read from it: " + strings.Join(st.names, ", ")
		}
		checks[enabledCorruptCheck] = health.Check{
			Severity: health.Warn,
			Summary:  health.Message{Message: "the stored list of enabled mgr modules is corrupt", Count: 1},
			Detail: []health.Message{
				{Message: fmt.Sprintf("%s = %q: %s", enabledKey, clip(st.raw, 80), st.problem)},
				{Message: recovered},
				{Message: "enabling or disabling any module (`mgr module enable|disable`) writes the list again"},
			},
		}
	}
	return dependency
}
