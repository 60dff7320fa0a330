package module

import (
	"context"

	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/clicommand"
)

// The module runtime (internal/modhost) reaches what it needs of this
// package through internal/modbridge, so none of it is exported to
// authors: Handles around its per-instance runtime, the registered
// modules, their checks, commands and option schemas, and typed
// ConfigNotify calls.
func init() {
	modbridge.NewHandle = func(rt any) any { return &Handle{rt: rt.(runtime)} }
	modbridge.NewStandbyHandle = func(h any) any { return &StandbyHandle{h: h.(*Handle)} }
	modbridge.Registered = registered
	modbridge.ConfigNotify = func(mod any) func(ctx context.Context, h any) {
		call, _ := typedConfigNotify(mod)
		if call == nil {
			return nil
		}
		return func(ctx context.Context, h any) { call(ctx, h.(*Handle)) }
	}
	modbridge.Commands = func(name string, mod any) ([]*clicommand.Command, error) { return commandsOf(name, mod) }
	modbridge.Check = func(info any) error { return checkInfo(info.(Info)) }
	modbridge.Schema = func(info any) (optschema.Schema, error) {
		i := info.(Info)
		return compileOptions(i.Name, declaredOptions(i))
	}
}
