package modhost

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// This file is the one way module options are written and read, whoever
// asks: the daemon's `config set|get|rm`, a module's SetOption and
// Option, and a module's monitor commands `config set|rm` (MonCommand),
// which would otherwise bypass the option's schema (an eval could lift its
// own eval_timeout past its Max).

// CheckWho accepts the mgr sections of Ceph's configuration database
// ("mgr", "mgr.<id>"), where module options live.
func CheckWho(who string) error {
	if who == "mgr" || strings.HasPrefix(who, "mgr.") {
		return nil
	}
	return objectformat.NewErrorResponseCode(fmt.Sprintf("'%s': this daemon holds mgr options only (who must be 'mgr' or 'mgr.<id>')", who), -int(syscall.EINVAL))
}

// ConfigSet is `config set WHO NAME VALUE` for a module option (NAME
// mgr/<module>/<option> or mgr/<module>/<mgr id>/<option>): the option
// must be declared, and the value is checked against its type, enum and
// bounds and stored in its canonical form, with the monitor's error texts
// (-EINVAL). Unlike the monitor's, there is no --force: a value the schema
// refuses is never stored through this daemon.
func (m *Manager) ConfigSet(ctx context.Context, who, name string, value any) error {
	if err := CheckWho(who); err != nil {
		return err
	}
	mod, w, opt, err := m.ParseOptionKey(name)
	if err != nil {
		return err
	}
	if value == nil {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("config set %s: no value given", name), -int(syscall.EINVAL))
	}
	return m.setOption(ctx, mod, w, opt, value)
}

// ConfigRm is `config rm WHO NAME`: any name in the mgr sections may be
// removed (also one no module declares any more), which makes the option's
// default apply again.
func (m *Manager) ConfigRm(ctx context.Context, who, name string) error {
	if err := CheckWho(who); err != nil {
		return err
	}
	if err := m.cfg.Backend.Config().Delete(ctx, name); err != nil {
		return fmt.Errorf("config rm %s: %w", name, err)
	}
	return nil
}

// ownsOptionKey reports whether name is in the option space of a module
// compiled into this daemon (mgr/<module>/...), which the daemon checks
// itself rather than leaving it to the monitors (which do not know gomgr's
// modules) or to LocalMonCommand (which does not know the schemas).
func (m *Manager) ownsOptionKey(name string) bool {
	rest, ok := strings.CutPrefix(name, "mgr/")
	if !ok {
		return false
	}
	mod, _, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	_, known := m.catalog[mod]
	return known
}

// moduleMonCommand applies the daemon's rules to a monitor command a
// module sends (MonCommand, SendCommand to a mon), in every mode:
// config-key writes are refused for invalid and reserved keys, reserved
// keys read as absent, and `config set|rm` of a compiled-in module's
// option is done here, through ConfigSet and ConfigRm. done is true when
// res is the answer; otherwise the command goes to the backend (the real
// monitors when attached, LocalMonCommand otherwise).
func (m *Manager) moduleMonCommand(ctx context.Context, cmd map[string]any) (res objectformat.Result, done bool) {
	if res, refused := backend.KVCommandRule(cmd); refused {
		return res, true
	}
	prefix, _ := cmd["prefix"].(string)
	if prefix != "config set" && prefix != "config rm" {
		return objectformat.Result{}, false
	}
	name, _ := cmd["name"].(string)
	if err := kvkeys.CheckKey("name", name); err != nil && prefix == "config set" {
		return objectformat.ResultOf(err), true
	}
	if !m.ownsOptionKey(name) {
		return objectformat.Result{}, false
	}
	who, _ := cmd["who"].(string)
	var err error
	if prefix == "config set" {
		err = m.ConfigSet(ctx, who, name, cmd["value"])
	} else {
		err = m.ConfigRm(ctx, who, name)
	}
	return objectformat.ResultOf(err), true
}

// storedOption reads key (an option's configuration key) through o's
// schema: ok is false when it is unset, or when the stored value cannot
// be served: its bytes fail their checksum (the store withholds it, and
// MGR_STORE_CORRUPT names it), it does not parse as o's type, or it is
// outside o's enum or bounds (the real `ceph config set --force` can
// store anything when the daemon is attached). Those are logged, once per
// stored value, and the caller falls back as for an unset option.
func (m *Manager) storedOption(o *optschema.Option, key string) (any, bool) {
	cfg := m.cfg.Backend.Config()
	text, ok := cfg.Get(key)
	if !ok {
		if err := backend.StoreCorrupt(cfg, key); err != nil {
			m.warnOption(key, "\x00corrupt", "ignoring an option value that fails its checksum; using the default", "err", err)
		}
		return nil, false
	}
	v, err := o.Parse(text)
	if err == nil {
		switch kind, limit := o.Violation(o.Canonical(text, v), v); kind {
		case "enum":
			err = fmt.Errorf("'%s' is not one of the permitted values: %s", text, o.Permitted())
		case "min":
			err = fmt.Errorf("value '%s' is below minimum %s", text, limit)
		case "max":
			err = fmt.Errorf("value '%s' exceeds maximum %s", text, limit)
		}
	}
	if err != nil {
		m.warnOption(key, text, "ignoring a stored option value that its schema refuses; using the default", "value", text, "err", err)
		return nil, false
	}
	return v, true
}

// warnOption logs a warning about the stored value text of key once (it
// is logged again if the value changes).
func (m *Manager) warnOption(key, text, msg string, args ...any) {
	m.warnMu.Lock()
	if m.warned == nil {
		m.warned = map[string]string{}
	}
	last, seen := m.warned[key]
	if !seen || last != text {
		if len(m.warned) >= maxWarned {
			clear(m.warned)
		}
		m.warned[key] = text
	}
	m.warnMu.Unlock()
	if !seen || last != text {
		m.cfg.Log.Warn(msg, append([]any{"key", key}, args...)...)
	}
}

// maxWarned bounds the memory of warnOption.
const maxWarned = 4096

// optionValue is the value of module's option o as the module reads it:
// the first of keys that holds a value the schema accepts, else the
// default.
func (m *Manager) optionValue(o *optschema.Option, keys ...string) any {
	for _, k := range keys {
		if v, ok := m.storedOption(o, k); ok {
			return v
		}
	}
	return o.Def
}

// OptionValue returns the effective typed value of a module option as the
// daemon's `config get` shows it: the module's view (localized when who
// is set, see Handle.LocalizedOption), except that a stored value that
// fails its checksum is an -EIO error rather than the default.
func (m *Manager) OptionValue(mod, who, key string) (any, error) {
	c, ok := m.catalog[mod]
	if !ok {
		return nil, fmt.Errorf("module '%s' does not exist", mod)
	}
	o, ok := c.opts[key]
	if !ok {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("config option '%s' is not declared by module %s", key, mod), -int(syscall.ENOENT))
	}
	cfg := m.cfg.Backend.Config()
	for _, k := range optionKeys(mod, who, key) {
		if v, ok := m.storedOption(o, k); ok {
			return v, nil
		}
		if err := backend.StoreCorrupt(cfg, k); err != nil {
			return nil, err
		}
	}
	return o.Def, nil
}

// optionKeys are the configuration keys read for module's option key, in
// order: the localized one first when who is set.
func optionKeys(mod, who, key string) []string {
	if who == "" {
		return []string{optionKey(mod, "", key)}
	}
	return []string{optionKey(mod, who, key), optionKey(mod, "", key)}
}

// optionKey is the configuration key of module's option key, localized
// for who when that is set.
func optionKey(mod, who, key string) string {
	if who != "" {
		return "mgr/" + mod + "/" + who + "/" + key
	}
	return "mgr/" + mod + "/" + key
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Options returns a module's declared options (built-ins included), by
// name.
func (m *Manager) Options(mod string) (map[string]module.Option, bool) {
	c, ok := m.catalog[mod]
	if !ok {
		return nil, false
	}
	out := map[string]module.Option{}
	for n, o := range c.opts {
		out[n] = optionOf(o.Spec)
	}
	return out, true
}

// optionOf is the declaration a schema entry was compiled from.
func optionOf(s optschema.Spec) module.Option {
	return module.Option{
		Name: s.Name, Type: module.OptionType(s.Type), Level: module.OptionLevel(s.Level),
		Default: s.Default, Min: s.Min, Max: s.Max, EnumAllowed: s.EnumAllowed,
		Desc: s.Desc, LongDesc: s.LongDesc, Tags: s.Tags, SeeAlso: s.SeeAlso, Runtime: s.Runtime,
	}
}

// ParseOptionKey splits a configuration key "mgr/<module>/<opt>" or
// "mgr/<module>/<who>/<opt>" and checks the module declares opt.
func (m *Manager) ParseOptionKey(key string) (mod, who, opt string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "mgr" {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s'", key), -int(syscall.EINVAL))
	}
	mod, opt = parts[1], parts[len(parts)-1]
	if len(parts) == 4 {
		who = parts[2]
	}
	c, ok := m.catalog[mod]
	if !ok {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s': no module '%s'", key, mod), -int(syscall.EINVAL))
	}
	if _, ok := c.opts[opt]; !ok {
		return "", "", "", objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized config option '%s': module '%s' has no option '%s'", key, mod, opt), -int(syscall.EINVAL))
	}
	return mod, who, opt, nil
}

// SetOption validates and stores a module option (val nil removes it).
func (m *Manager) SetOption(ctx context.Context, mod, who, key string, val any) error {
	return m.setOption(ctx, mod, who, key, val)
}

func (m *Manager) setOption(ctx context.Context, mod, who, key string, val any) error {
	c, ok := m.catalog[mod]
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("module '%s' does not exist", mod), -int(syscall.ENOENT))
	}
	o, ok := c.opts[key]
	if !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("config option '%s' is not declared by module %s", key, mod), -int(syscall.ENOENT))
	}
	full := optionKey(mod, who, key)
	if err := kvkeys.CheckKey("name", full); err != nil {
		return err
	}
	if val == nil {
		if err := m.cfg.Backend.Config().Delete(ctx, full); err != nil {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		return nil
	}
	text, err := o.ValueText(val)
	if err != nil {
		return objectformat.WrapCode(fmt.Errorf("%s: %w", full, err), -int(syscall.EINVAL))
	}
	canon, _, err := o.Validate(text)
	if err != nil {
		return objectformat.NewErrorResponseCode(err.Error(), -int(syscall.EINVAL))
	}
	if err := m.cfg.Backend.Config().Set(ctx, full, canon); err != nil {
		return fmt.Errorf("set %s: %w", full, err)
	}
	return nil
}
