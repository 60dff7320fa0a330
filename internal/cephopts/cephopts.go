// Package cephopts is Ceph's own option table (Pacific's, as its mgr lists
// it in get("config_options")) and the rules a mgr applies to it: Python's
// get_ceph_option typing, the metavariables ($cluster, $name, $run_dir,
// ...) in values, ceph.conf sections, and show_config (get("config")).
//
// The table, pacific-options.json.gz, is generated from a real Pacific
// mgr by scripts/gen-ceph-options.sh; a real-cluster test checks that it
// still equals what the mgr lists. A daemon without a cluster (the
// embedded backend) answers Ceph options from it, so a module reading
// mgr_stats_period or run_dir gets Ceph's value, not an error.
package cephopts

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

//go:embed pacific-options.json.gz
var tableGz []byte

// Option is one option's schema, as config_options lists it.
type Option struct {
	Name               string   `json:"name"`
	Type               string   `json:"type"`
	Level              string   `json:"level"`
	Desc               string   `json:"desc"`
	LongDesc           string   `json:"long_desc"`
	Default            any      `json:"default"`
	DaemonDefault      any      `json:"daemon_default"`
	Tags               []string `json:"tags"`
	Services           []string `json:"services"`
	SeeAlso            []string `json:"see_also"`
	EnumValues         []string `json:"enum_values"`
	Min                any      `json:"min"`
	Max                any      `json:"max"`
	CanUpdateAtRuntime bool     `json:"can_update_at_runtime"`
	Flags              []string `json:"flags"`
}

var table struct {
	once  sync.Once
	raw   []byte // the JSON text of {"options": [...]}
	opts  map[string]*Option
	names []string
	err   error
}

func load() error {
	table.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(tableGz))
		if err != nil {
			table.err = fmt.Errorf("ceph option table: %w", err)
			return
		}
		raw, err := io.ReadAll(io.LimitReader(zr, 16<<20))
		if err != nil {
			table.err = fmt.Errorf("ceph option table: %w", err)
			return
		}
		var t struct {
			Options []*Option `json:"options"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			table.err = fmt.Errorf("ceph option table: %w", err)
			return
		}
		table.raw = raw
		table.opts = make(map[string]*Option, len(t.Options))
		for _, o := range t.Options {
			table.opts[o.Name] = o
		}
		table.names = slices.Sorted(maps.Keys(table.opts))
	})
	return table.err
}

// Normalize gives an option name Ceph's spelling: ceph.conf and the CLI
// accept spaces and dashes for underscores ("mon host", "mon-host").
func Normalize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
}

// Lookup returns the option called name (normalized).
func Lookup(name string) (*Option, bool) {
	if load() != nil {
		return nil, false
	}
	o, ok := table.opts[Normalize(name)]
	return o, ok
}

// NotFound is the error for an option Ceph does not have, with Python's
// text (its KeyError) and -ENOENT.
func NotFound(name string) error {
	return objectformat.NewErrorResponseCode("option not found: "+name, -int(syscall.ENOENT))
}

// Names lists every option, sorted.
func Names() []string {
	if load() != nil {
		return nil
	}
	return slices.Clone(table.names)
}

// ConfigOptions is Python's get("config_options"): {"options": [every
// option's schema]}, a fresh copy.
func ConfigOptions() (map[string]any, error) {
	if err := load(); err != nil {
		return nil, err
	}
	return jsonval.DecodeObject(table.raw)
}

// DefaultText is the option's default for a daemon (its daemon_default
// when it has one) as the text Ceph shows it in.
func (o *Option) DefaultText() string {
	if s := valueText(o.Type, o.DaemonDefault); s != "" {
		return s
	}
	return valueText(o.Type, o.Default)
}

// valueText renders a schema value as show_config does: bools as
// true/false, floats with six decimals, the rest as they are.
func valueText(typ string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if typ == "float" {
			return strconv.FormatFloat(x, 'f', 6, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64, uint64, int:
		if typ == "float" {
			f, _ := jsonval.Float(x)
			return strconv.FormatFloat(f, 'f', 6, 64)
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// rbdFeatures are the bits of rbd_default_features' names (librbd's
// RBD_FEATURE_*), which Ceph's validator turns the option's value into.
var rbdFeatures = map[string]int64{
	"layering": 1, "striping": 2, "exclusive-lock": 4, "object-map": 8, "fast-diff": 16,
	"deep-flatten": 32, "journaling": 64, "data-pool": 128, "operations": 256,
	"migrating": 512, "non-primary": 1024,
}

// canonical is a value text as Ceph holds it once set: floats with six
// decimals, rbd_default_features as its number (what its validator does).
func (o *Option) canonical(text string) string {
	switch {
	case o.Type == "float":
		if f, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			return strconv.FormatFloat(f, 'f', 6, 64)
		}
	case o.Name == "rbd_default_features":
		if _, err := strconv.ParseInt(text, 10, 64); err == nil {
			return text
		}
		var n int64
		for _, f := range strings.Split(text, ",") {
			bit, ok := rbdFeatures[strings.TrimSpace(f)]
			if !ok {
				return text
			}
			n |= bit
		}
		return strconv.FormatInt(n, 10)
	}
	return text
}

// Typed converts an option's value text as Python's get_ceph_option
// does: int, uint and size as integers; float, secs and millisecs as
// floats; bool as a bool; every other type as the text itself.
func (o *Option) Typed(text string) (any, error) {
	switch o.Type {
	case "int", "uint", "size":
		if i, err := strconv.ParseInt(strings.TrimSpace(text), 0, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(strings.TrimSpace(text), 0, 64); err == nil {
			return u, nil
		}
		if n, ok := parseSize(text); ok && o.Type == "size" {
			return n, nil
		}
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("option %s: %q is not an integer", o.Name, text), -int(syscall.EINVAL))
	case "float", "secs", "millisecs":
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("option %s: %q is not a number", o.Name, text), -int(syscall.EINVAL))
		}
		return f, nil
	case "bool":
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "1", "true", "on", "yes":
			return true, nil
		}
		return false, nil
	}
	return text, nil
}

// parseSize reads Ceph's size suffixes ("4K", "1_M", "2G").
func parseSize(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}} {
		if t, ok := strings.CutSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), u.suffix); ok {
			s, mult = t, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, false
	}
	return n * mult, true
}
