package modhost

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/gomgr/gomgr/internal/optschema"
)

// pacificReleases are the releases whose always-on lists a Pacific mgr
// map carries (always_on_modules is keyed by release: a mgr of each
// release keeps the modules of its own list on).
var pacificReleases = []string{"nautilus", "octopus", "pacific"}

// localMgrMap is get("mgr_map") without monitors: this daemon's modules
// in the shape of a Pacific mgr map.
func (m *Manager) localMgrMap() map[string]any {
	l := m.List()
	alwaysOn := map[string]any{}
	for _, r := range pacificReleases {
		alwaysOn[r] = slices.Clone(l.AlwaysOn)
	}
	if m.cfg.ReleaseName != "" && !slices.Contains(pacificReleases, m.cfg.ReleaseName) {
		alwaysOn[m.cfg.ReleaseName] = slices.Clone(l.AlwaysOn)
	}
	m.mu.RLock()
	available := make([]any, 0, len(m.catalog))
	for _, name := range sortedKeys(m.catalog) {
		c := m.catalog[name]
		ok, why := c.canRun()
		available = append(available, map[string]any{
			"name": name, "can_run": ok, "error_string": why, "module_options": moduleOptions(c.opts),
		})
	}
	m.mu.RUnlock()
	return map[string]any{
		"epoch": 0, "active_name": m.cfg.MgrID, "active_gid": 0, "available": !m.cfg.Standby,
		"modules": l.Enabled, "always_on_modules": alwaysOn, "available_modules": available,
		"services": m.Services(), "standbys": []any{},
	}
}

// moduleOptions is a module's options as the mgr map lists them (the
// real mgr's ModuleOption dump): every value but flags and the enum as
// text, the default as Python's str() gives it.
func moduleOptions(schema optschema.Schema) map[string]any {
	out := map[string]any{}
	for name, o := range schema {
		flags := 0
		if o.Runtime {
			flags = 1 // Option::FLAG_RUNTIME
		}
		enum := slices.Clone(o.EnumAllowed)
		slices.Sort(enum)
		if enum == nil {
			enum = []string{}
		}
		out[name] = map[string]any{
			"name": name, "type": string(o.Type), "level": levelName(o.Level), "flags": flags,
			"default_value": pyStr(o.Def), "min": pyStr(o.Min), "max": pyStr(o.Max),
			"enum_allowed": enum, "desc": o.Desc, "long_desc": o.LongDesc,
			"tags": orEmpty(o.Tags), "see_also": orEmpty(o.SeeAlso),
		}
	}
	return out
}

// levelName is Ceph's name of a level (the values of module.OptionLevel).
func levelName(l optschema.Level) string {
	switch l {
	case 1:
		return "basic"
	case 2:
		return "dev"
	}
	return "advanced"
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// pyStr is Python's str() of an option value ("" for None).
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
