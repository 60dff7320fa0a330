package modhost

// Commands and listings: dispatch to modules, descriptions, module ls.

import (
	"context"
	"fmt"
	"sort"
	"syscall"

	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Dispatch runs a command: the built-in and enabled modules' commands
// through the router; a command of a disabled module gives -EOPNOTSUPP and
// one of a failed module -EIO, with Ceph's messages.
func (m *Manager) Dispatch(ctx context.Context, call clicommand.Call) objectformat.Result {
	prefix, _ := call.Cmd["prefix"].(string)
	cmd, mod, ok := m.cfg.Commands.Lookup(prefix)
	if !ok {
		if owner, known := m.byCmd[prefix]; known {
			return objectformat.Failed(-int(syscall.EOPNOTSUPP), fmt.Sprintf(
				"Module '%s' is not enabled/loaded (required by command '%s'): use `ceph mgr module enable %s` to enable it", owner, prefix, owner))
		}
		return m.cfg.Commands.Dispatch(ctx, call)
	}
	m.mu.RLock()
	var why string
	failed := false
	if len(m.failed) > 0 {
		why, failed = m.failed[mod]
	}
	m.mu.RUnlock()
	if failed {
		return objectformat.Failed(-int(syscall.EIO), fmt.Sprintf("Module '%s' has experienced an error and cannot handle commands: %s", mod, why))
	}
	return cmd.Call(ctx, call)
}

// ModuleCommand reports which compiled-in module declares the command
// prefix (enabled or not): "" when none does.
func (m *Manager) ModuleCommand(prefix string) string { return m.byCmd[prefix] }

// Describe returns the descriptions of every command: built-ins, and the
// commands of all compiled-in modules whether enabled or not (like the
// mon's table, so clients validate them and the daemon can say a module is
// disabled).
func (m *Manager) Describe(opts cmddesc.DescribeOptions) []cmddesc.Description {
	all := cmdroute.NewRegistry()
	for _, e := range m.cfg.Commands.Entries() {
		if _, isModule := m.catalog[e.Module]; !isModule {
			_ = all.Add(e.Module, e.Command)
		}
	}
	for _, name := range sortedKeys(m.catalog) {
		_ = all.Add(name, m.catalog[name].commands...)
	}
	return all.Describe(opts)
}

// ModuleList is the reply of "mgr module ls" (the shape go-ceph's
// manager.ModuleInfo decodes).
//
// A module that is enabled but not compiled into this daemon is listed in
// Enabled, as Ceph's monitor lists every enabled module whether a mgr
// has it or not (so `mgr module disable` of a listed module is what
// clears it), and also in Unavailable, a gomgr addition with the
// DisabledModule shape (CanRun false, ErrorString "not compiled into
// this daemon") that is left out of the JSON when empty: decoders that do
// not know the field (go-ceph's ModuleInfo, the ceph CLI) skip it.
type ModuleList struct {
	AlwaysOn    []string         `json:"always_on_modules"`
	Enabled     []string         `json:"enabled_modules"`
	Disabled    []DisabledModule `json:"disabled_modules"`
	Unavailable []DisabledModule `json:"unavailable_modules,omitempty"`
}

// DisabledModule is an entry of ModuleList.Disabled.
type DisabledModule struct {
	Name        string `json:"name"`
	CanRun      bool   `json:"can_run"`
	ErrorString string `json:"error_string"`
}

// List returns the module list.
func (m *Manager) List() ModuleList {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l := ModuleList{AlwaysOn: []string{}, Enabled: []string{}, Disabled: []DisabledModule{}}
	for _, name := range sortedKeys(m.catalog) {
		c := m.catalog[name]
		switch {
		case c.info.AlwaysOn:
			l.AlwaysOn = append(l.AlwaysOn, name)
		case m.enabled[name]:
			l.Enabled = append(l.Enabled, name)
		default:
			ok, why := c.canRun()
			l.Disabled = append(l.Disabled, DisabledModule{Name: name, CanRun: ok, ErrorString: why})
		}
	}
	for _, name := range sortedKeys(m.enabled) {
		if _, ok := m.catalog[name]; !ok {
			l.Enabled = append(l.Enabled, name)
			l.Unavailable = append(l.Unavailable, DisabledModule{Name: name, CanRun: false, ErrorString: unavailableWhy})
		}
	}
	sort.Strings(l.Enabled)
	return l
}

// ModuleInfo describes a compiled-in module for listings.
type ModuleInfo struct {
	Name     string   `json:"name"`
	Desc     string   `json:"desc,omitempty"`
	AlwaysOn bool     `json:"always_on"`
	Enabled  bool     `json:"enabled"`
	Running  bool     `json:"running"`
	Failed   string   `json:"failed,omitempty"`
	CanRun   bool     `json:"can_run"`
	Why      string   `json:"error_string,omitempty"`
	Commands []string `json:"commands"`
}

// Modules describes every compiled-in module, and the enabled modules
// that are not compiled in (CanRun false).
func (m *Manager) Modules() []ModuleInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []ModuleInfo
	for _, name := range sortedKeys(m.catalog) {
		c := m.catalog[name]
		ok, why := c.canRun()
		mi := ModuleInfo{Name: name, Desc: c.info.Desc, AlwaysOn: c.info.AlwaysOn, Enabled: m.enabled[name] || c.info.AlwaysOn,
			Running: m.running[name] != nil, Failed: m.failed[name], CanRun: ok, Why: why, Commands: sortedKeys(c.prefixes)}
		out = append(out, mi)
	}
	for _, name := range sortedKeys(m.enabled) {
		if _, ok := m.catalog[name]; !ok {
			out = append(out, ModuleInfo{Name: name, Enabled: true, Why: unavailableWhy, Commands: []string{}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
