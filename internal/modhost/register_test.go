package modhost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// TestRegisterChecksOptionDefaults is issue #9 item 24 (options): a default
// outside Min/Max or not in EnumAllowed is refused at registration, with an
// error naming the module and the option; what Ceph's own modules do
// (default None or "" with an enum that allows "", defaults inside the
// bounds) is accepted.
func TestRegisterChecksOptionDefaults(t *testing.T) {
	newMod := func() module.Module { return nopMod{} }
	tests := []struct {
		name string
		opt  module.Option
		err  string // "" when accepted
	}{
		{"enum default outside", module.Option{Name: "foo", Default: "z", EnumAllowed: []string{"a", "b", "c"}}, `module m: option "foo": default "z" is not one of the permitted values: a, b, c (use a nil Default for none)`},
		{"empty default not in enum", module.Option{Name: "mode", Default: "", EnumAllowed: []string{"upmap", "none"}}, `module m: option "mode": default "" is not one of the permitted values: none, upmap (use a nil Default for none)`},
		{"enum default case differs", module.Option{Name: "foo", Default: "A", EnumAllowed: []string{"a"}}, `module m: option "foo": default "A" is not one of the permitted values: a`},
		{"int enum default outside", module.Option{Name: "n", Type: module.Int, Default: 3, EnumAllowed: []string{"1", "2"}}, `module m: option "n": default "3" is not one of the permitted values: 1, 2`},
		{"int below min", module.Option{Name: "count", Type: module.Int, Default: 0, Min: 1, Max: 10}, `module m: option "count": default 0 is below minimum 1`},
		{"int above max", module.Option{Name: "count", Type: module.Int, Default: 11, Min: 1, Max: 10}, `module m: option "count": default 11 exceeds maximum 10`},
		{"uint above max", module.Option{Name: "u", Type: module.Uint, Default: "600", Max: 599}, `module m: option "u": default 600 exceeds maximum 599`},
		{"float below min", module.Option{Name: "ratio", Type: module.Float, Default: 0.0005, Min: .001, Max: .999}, `module m: option "ratio": default 0.0005 is below minimum 0.001`},
		{"secs above max", module.Option{Name: "interval", Type: module.Secs, Default: 2 * time.Hour, Max: 3600}, `module m: option "interval": default 7200 exceeds maximum 3600`},
		{"min above max", module.Option{Name: "r", Type: module.Int, Min: 10, Max: 1}, `module m: option "r": min 10 is above max 1`},

		// What Ceph's Pacific modules declare.
		{"enum default inside (balancer mode)", module.Option{Name: "mode", Default: "upmap", EnumAllowed: []string{"none", "crush-compat", "upmap"}}, ""},
		{"nil default with enum (orchestrator)", module.Option{Name: "orchestrator", EnumAllowed: []string{"cephadm", "rook"}}, ""},
		{"empty default allowed by enum (log_level)", module.Option{Name: "level", Default: "", EnumAllowed: []string{"info", ""}}, ""},
		{"default at the bounds (prometheus)", module.Option{Name: "code", Type: module.Int, Default: 500, Min: 400, Max: 599}, ""},
		{"default at min", module.Option{Name: "c", Type: module.Int, Default: 1, Min: 1, Max: 10}, ""},
		{"default at max", module.Option{Name: "c", Type: module.Int, Default: 10, Min: 1, Max: 10}, ""},
		{"only a min (telemetry)", module.Option{Name: "interval", Type: module.Int, Default: 24, Min: 8}, ""},
		{"no default, bounds", module.Option{Name: "c", Type: module.Int, Min: 1, Max: 10}, ""},
		{"float inside", module.Option{Name: "ratio", Type: module.Float, Default: .05, Min: .001, Max: .999}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewRegistry().Register(module.Info{Name: "m", New: newMod, Options: []module.Option{tt.opt}})
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

// prefixMod has one command with the given cmd string (Python style) and,
// through Commands, one more declared with a struct.
type prefixMod struct{ legacy string }

type versionGrab struct {
	clicommand.Read `prefix:"version"`
}

func (p prefixMod) LegacyCommands() []module.LegacyCommand {
	if p.legacy == "" {
		return nil
	}
	return []module.LegacyCommand{{Cmd: p.legacy, Desc: "d", Perm: "r"}}
}

func (prefixMod) HandleCommand(context.Context, []byte, map[string]any) objectformat.Result {
	return objectformat.Result{}
}

type structMod struct{}

func (structMod) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(context.Context, *versionGrab) objectformat.Result { return objectformat.Result{} })}
}

// TestRegisterRefusesReservedPrefixes is issue #9 item 24 (commands): a
// command prefix the daemon answers itself is refused at registration,
// not when the daemon starts.
func TestRegisterRefusesReservedPrefixes(t *testing.T) {
	for _, p := range module.ReservedPrefixes() {
		err := NewRegistry().Register(module.Info{Name: "grabby", New: func() module.Module { return prefixMod{legacy: p + " name=x,type=CephString,req=false"} }})
		require.EqualError(t, err, `module grabby: command "`+p+`" is reserved: the daemon provides it itself (see module.ReservedPrefixes)`)
	}
	err := NewRegistry().Register(module.Info{Name: "typed", New: func() module.Module { return structMod{} }})
	require.EqualError(t, err, `module typed: command "version" is reserved: the daemon provides it itself (see module.ReservedPrefixes)`)

	// Longer prefixes that start with a reserved word are the module's.
	for _, p := range []string{"status report", "health mute", "config-key export", "mgr module info"} {
		require.NoError(t, NewRegistry().Register(module.Info{Name: "fine", New: func() module.Module { return prefixMod{legacy: p} }}), p)
	}
	// Malformed commands are refused at registration too.
	require.ErrorContains(t, NewRegistry().Register(module.Info{Name: "broken", New: func() module.Module { return prefixMod{legacy: "x name=,type=CephString"} }}), "module broken:")
	require.EqualError(t, NewRegistry().Register(module.Info{Name: "nilnew", New: func() module.Module { return nil }}), "module nilnew: New returned nil")

	// module.Register panics at init time with the same message, leaving
	// Default unchanged.
	require.PanicsWithError(t, `module grabby: command "status" is reserved: the daemon provides it itself (see module.ReservedPrefixes)`, func() {
		module.Register(module.Info{Name: "grabby", New: func() module.Module { return prefixMod{legacy: "status"} }})
	})
	_, ok := Default().Lookup("grabby")
	require.False(t, ok)

	require.IsNonDecreasing(t, module.ReservedPrefixes(), "sorted (checkCommands searches it)")
	r := module.ReservedPrefixes()
	r[0] = "changed"
	require.NotEqual(t, "changed", module.ReservedPrefixes()[0], "a copy")
}

func (prefixMod) Init(*module.Handle) error { return nil }

func (structMod) Init(*module.Handle) error { return nil }
