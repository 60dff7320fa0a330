package bridge

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/buildinfo"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
)

// Description is what `ceph-mgr describe` prints: the binary's modules,
// in the terms a Python shim declares them to the real ceph-mgr.
type Description struct {
	Version string       `json:"version"`
	Release string       `json:"release"`
	Modules []ModuleDesc `json:"modules"`
}

// ModuleDesc is one module: its COMMANDS and MODULE_OPTIONS.
type ModuleDesc struct {
	Name        string   `json:"name"`
	Desc        string   `json:"desc"`
	AlwaysOn    bool     `json:"always_on"`
	CanRun      bool     `json:"can_run"`
	Why         string   `json:"error_string,omitempty"`
	NotifyTypes []string `json:"notify_types"`
	Standby     bool     `json:"standby"`
	// NativeOptions are the Ceph options the module reads
	// (NATIVE_OPTIONS): the shim sends their values with the module's
	// options, so a change reaches the module's ConfigNotify.
	NativeOptions []string      `json:"native_options"`
	Commands      []CommandDesc `json:"commands"`
	Options       []OptionDesc  `json:"options"`
}

// CommandDesc is a COMMANDS entry: the Ceph cmd string (as Pacific's CLI
// and mgr parse it), help, permission and poll.
type CommandDesc struct {
	Prefix string `json:"prefix"`
	Cmd    string `json:"cmd"`
	Desc   string `json:"desc"`
	Perm   string `json:"perm"`
	Poll   bool   `json:"poll"`
}

// OptionDesc is a MODULE_OPTIONS entry. Builtin marks the log options
// every module has, which Python's MgrModule declares itself.
type OptionDesc struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Level       string   `json:"level"`
	Default     any      `json:"default"`
	Min         any      `json:"min,omitempty"`
	Max         any      `json:"max,omitempty"`
	EnumAllowed []string `json:"enum_allowed,omitempty"`
	Desc        string   `json:"desc,omitempty"`
	LongDesc    string   `json:"long_desc,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	SeeAlso     []string `json:"see_also,omitempty"`
	Runtime     bool     `json:"runtime"`
	Builtin     bool     `json:"builtin,omitempty"`
}

// Describe describes the modules of reg (all of them, or the one named
// only; an unknown name is an error).
func Describe(reg *modhost.Registry, only string) (*Description, error) {
	if only != "" {
		if _, ok := reg.Lookup(only); !ok {
			return nil, fmt.Errorf("no module %q in this binary (it has %v)", only, reg.Names())
		}
	}
	m, err := modhost.NewManager(modhost.Config{MgrID: "describe", Registry: reg, Backend: backend.NewMemoryBackend(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LogWriter: io.Discard})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	cmds := map[string][]CommandDesc{}
	for _, d := range m.Describe(cmddesc.DescribeOptions{PacificCompat: true}) {
		cmds[d.Module] = append(cmds[d.Module], CommandDesc{Prefix: d.Sig.Prefix(), Cmd: d.Sig.String(), Desc: d.Help,
			Perm: d.Perm, Poll: d.Flags&cmddesc.FlagPoll != 0})
	}
	out := &Description{Version: buildinfo.Full(), Release: buildinfo.Release, Modules: []ModuleDesc{}}
	for _, mi := range m.Modules() {
		info, ok := reg.Lookup(mi.Name)
		if !ok || only != "" && mi.Name != only {
			continue
		}
		md := ModuleDesc{Name: mi.Name, Desc: mi.Desc, AlwaysOn: mi.AlwaysOn, CanRun: mi.CanRun, Why: mi.Why,
			NotifyTypes: []string{}, Standby: info.Standby != nil, NativeOptions: append([]string{}, info.NativeOptions...), Commands: cmds[mi.Name], Options: []OptionDesc{}}
		if md.Commands == nil {
			md.Commands = []CommandDesc{}
		}
		for _, t := range info.NotifyTypes {
			md.NotifyTypes = append(md.NotifyTypes, string(t))
		}
		opts, ok := m.Options(info.Name)
		if !ok {
			return nil, errors.New("bridge: the manager lost module " + info.Name)
		}
		names := make([]string, 0, len(opts))
		for n := range opts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			md.Options = append(md.Options, optionDesc(opts[n]))
		}
		out.Modules = append(out.Modules, md)
	}
	return out, nil
}

// optionDesc is o as MODULE_OPTIONS declares it: its default and bounds
// as values of its type (a default declared as text, "5" for an int, is
// the number 5), as Python's Option holds them.
func optionDesc(o module.Option) OptionDesc {
	typ := o.Type
	if typ == "" {
		typ = module.Str
	}
	c := &optschema.Option{Spec: optschema.Spec{Type: optschema.Type(typ)}}
	typed := func(v any) any {
		s, ok := v.(string)
		if !ok || typ == module.Str {
			return v
		}
		if t, err := c.Parse(s); err == nil {
			return t
		}
		return v
	}
	return OptionDesc{Name: o.Name, Type: string(typ), Level: o.Level.String(), Default: typed(o.Default),
		Min: typed(o.Min), Max: typed(o.Max), EnumAllowed: o.EnumAllowed, Desc: o.Desc, LongDesc: o.LongDesc,
		Tags: o.Tags, SeeAlso: o.SeeAlso, Runtime: o.Runtime, Builtin: optschema.IsBuiltin(o.Name)}
}
