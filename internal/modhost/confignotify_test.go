package modhost

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// badNotify's ConfigNotify takes a struct that is not a NewOptions one.
type badNotify struct{}

func (badNotify) ConfigNotify(context.Context, struct{ X int }) {}

type oddNotify struct{}

func (oddNotify) ConfigNotify(string) {}

// TestRegisterRefusesAnUntypedConfigNotify: a ConfigNotify that is neither
// ConfigNotifier's nor TypedConfigNotifier's over a NewOptions struct is a
// mistake Register reports (the typed call is tested in pkg/module).
func TestRegisterRefusesAnUntypedConfigNotify(t *testing.T) {
	require.ErrorContains(t, NewRegistry().Register(module.Info{Name: "bad", New: func() module.Module { return badNotify{} }}),
		"module bad: ConfigNotify(ctx, struct { X int }): struct { X int } is not declared with module.NewOptions")
	require.ErrorContains(t, NewRegistry().Register(module.Info{Name: "odd", New: func() module.Module { return oddNotify{} }}),
		"module odd: ConfigNotify has the signature func(string)")
}

func (badNotify) Init(*module.Handle) error { return nil }

func (oddNotify) Init(*module.Handle) error { return nil }
