package modhost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

type typedConfig struct {
	Place    string        `option:"place" default:"world" desc:"where" runtime:"true"`
	Loud     bool          `option:"loud" default:"true"`
	Count    int           `option:"count" default:"3" min:"1" max:"10"`
	Ratio    float64       `option:"ratio"`
	Limit    uint32        `option:"limit" default:"7"`
	Interval time.Duration `option:"interval" default:"90s" level:"basic"`
	Buffer   int64         `option:"buffer" type:"size" default:"4K"`
	Peer     string        `option:"peer" type:"addr"`
	Color    string        `option:"color" default:"red" enum:"red|blue"`
	Note     string        // not an option
}

var typedOpts = module.NewOptions[typedConfig]()

func TestTypedOptionsGet(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }, Options: typedOpts.Declare()})
	h := f.enable("t").h
	require.Equal(t, typedConfig{Place: "world", Loud: true, Count: 3, Limit: 7, Interval: 90 * time.Second, Buffer: 4096, Color: "red"},
		typedOpts.Get(h), "the defaults, and zero values for options without one")

	ctx := context.Background()
	for name, v := range map[string]any{"place": "Mars", "loud": "false", "count": 9, "ratio": 0.5, "limit": 70000,
		"interval": "1h 30m", "buffer": "2M", "peer": "127.0.0.1:6789", "color": "blue"} {
		require.NoError(t, f.m.SetOption(ctx, "t", "", name, v), name)
	}
	require.Equal(t, typedConfig{Place: "Mars", Count: 9, Ratio: 0.5, Limit: 70000, Interval: 90 * time.Minute, Buffer: 2 << 20,
		Peer: "127.0.0.1:6789", Color: "blue"}, typedOpts.Get(h))
	require.EqualError(t, f.m.SetOption(ctx, "t", "", "count", 11), "error parsing value: Value '11' exceeds maximum 10",
		"the declared bounds are the option's")
}

// typedNotified takes its options' snapshot in ConfigNotify.
type typedNotified struct{ got chan typedConfig }

func (m *typedNotified) ConfigNotify(_ context.Context, cfg typedConfig) { m.got <- cfg }

var _ module.TypedConfigNotifier[typedConfig] = (*typedNotified)(nil)

// TestTypedConfigNotify: a module whose ConfigNotify takes its options
// struct is handed the snapshot taken after the change.
func TestTypedConfigNotify(t *testing.T) {
	got := make(chan typedConfig, 8)
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &typedNotified{got} }, Options: typedOpts.Declare()})
	_, err := f.m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	require.NoError(t, f.m.SetOption(context.Background(), "t", "", "place", "Mars"))
	select {
	case cfg := <-got:
		require.Equal(t, "Mars", cfg.Place)
		require.Equal(t, 3, cfg.Count, "the other options as they are")
	case <-time.After(5 * time.Second):
		t.Fatal("ConfigNotify(ctx, typedConfig) was not called")
	}
}

// badNotify's ConfigNotify takes a struct that is not a NewOptions one.
type badNotify struct{}

func (badNotify) ConfigNotify(context.Context, struct{ X int }) {}

type oddNotify struct{}

func (oddNotify) ConfigNotify(string) {}

func TestRegisterRefusesAnUntypedConfigNotify(t *testing.T) {
	require.ErrorContains(t, NewRegistry().Register(module.Info{Name: "bad", New: func() module.Module { return badNotify{} }}),
		"module bad: ConfigNotify(ctx, struct { X int }): struct { X int } is not declared with module.NewOptions")
	require.ErrorContains(t, NewRegistry().Register(module.Info{Name: "odd", New: func() module.Module { return oddNotify{} }}),
		"module odd: ConfigNotify has the signature func(string)")
}

func (badNotify) Init(*module.Handle) error { return nil }

func (oddNotify) Init(*module.Handle) error { return nil }

func (typedNotified) Init(*module.Handle) error { return nil }
