// Package modbridge connects package module, the module author's API, to
// the module runtime (internal/modhost) without exporting the runtime's
// needs to authors: package module fills these in at init, and modhost
// calls them. Values cross as any because this leaf cannot name package
// module's types; each function documents what it takes and returns.
package modbridge

import (
	"context"

	"github.com/gomgr/gomgr/internal/optschema"
	"github.com/gomgr/gomgr/pkg/clicommand"
)

var (
	// NewHandle wraps a runtime's per-instance implementation (a value
	// with the methods of package module's unexported runtime interface)
	// in a *module.Handle.
	NewHandle func(rt any) any
	// NewStandbyHandle wraps a *module.Handle in a *module.StandbyHandle.
	NewStandbyHandle func(h any) any
	// Registered returns the module.Info of every module registered with
	// module.Register, in registration order.
	Registered func() []any
	// Commands returns a module value's commands ([]*clicommand.Command),
	// COMMANDS-style ones dispatching to its HandleCommand.
	Commands func(name string, mod any) ([]*clicommand.Command, error)
	// ConfigNotify returns the call of a module value's
	// ConfigNotify(ctx, T) (module.TypedConfigNotifier), handed a fresh
	// snapshot of its options for the *module.Handle h; nil if it has none.
	ConfigNotify func(mod any) func(ctx context.Context, h any)
	// Check checks a module.Info as module.Register does.
	Check func(info any) error
	// Schema compiles the options a module.Info declares (its own, its
	// mixins' and the built-in ones) into its schema.
	Schema func(info any) (optschema.Schema, error)
)
