package module_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
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

func TestTypedOptionsDeclare(t *testing.T) {
	decl := typedOpts.Declare()
	byName := map[string]module.Option{}
	for _, o := range decl {
		byName[o.Name] = o
	}
	require.Len(t, decl, 9)
	require.Equal(t, module.Option{Name: "place", Type: module.Str, Default: "world", Desc: "where", Runtime: true}, byName["place"])
	require.Equal(t, module.Option{Name: "loud", Type: module.Bool, Default: true}, byName["loud"])
	require.Equal(t, module.Option{Name: "count", Type: module.Int, Default: int64(3), Min: int64(1), Max: int64(10)}, byName["count"])
	require.Equal(t, module.Option{Name: "ratio", Type: module.Float}, byName["ratio"])
	require.Equal(t, module.Uint, byName["limit"].Type)
	require.Equal(t, module.Option{Name: "interval", Type: module.Secs, Default: 90.0, Level: module.LevelBasic}, byName["interval"])
	require.Equal(t, module.Option{Name: "buffer", Type: module.Size, Default: int64(4096)}, byName["buffer"])
	require.Equal(t, module.Addr, byName["peer"].Type)
	require.Equal(t, []string{"red", "blue"}, byName["color"].EnumAllowed)
}

// typedMod reads typedOpts, and is handed them after each change.
type typedMod struct {
	h   *module.Handle
	got chan typedConfig
}

func (m *typedMod) Init(h *module.Handle) error { m.h = h; return nil }

func (m *typedMod) ConfigNotify(_ context.Context, cfg typedConfig) { m.got <- cfg }

var _ module.TypedConfigNotifier[typedConfig] = (*typedMod)(nil)

func startTyped(t *testing.T) (*moduletest.Harness, *typedMod) {
	info := module.Info{Name: "t", New: func() module.Module { return &typedMod{got: make(chan typedConfig, 16)} }, Options: typedOpts.Declare()}
	h := moduletest.Start(t, "t", moduletest.WithModules(info))
	return h, h.Module().(*typedMod)
}

func TestTypedOptionsGet(t *testing.T) {
	h, m := startTyped(t)
	defaults := typedConfig{Place: "world", Loud: true, Count: 3, Limit: 7, Interval: 90 * time.Second, Buffer: 4096, Color: "red"}
	require.Equal(t, defaults, typedOpts.Get(m.h), "the defaults, and zero values for options without one")
	require.Equal(t, defaults, typedOpts.Defaults())
	for name, v := range map[string]any{"place": "Mars", "loud": "false", "count": 9, "ratio": 0.5, "limit": 70000,
		"interval": "1h 30m", "buffer": "2M", "peer": "127.0.0.1:6789", "color": "blue"} {
		require.NoError(t, h.SetOption(name, v), name)
	}
	require.Equal(t, typedConfig{Place: "Mars", Count: 9, Ratio: 0.5, Limit: 70000, Interval: 90 * time.Minute, Buffer: 2 << 20,
		Peer: "127.0.0.1:6789", Color: "blue"}, typedOpts.Get(m.h))
	require.Equal(t, defaults, typedOpts.Defaults(), "whatever is set")
	require.EqualError(t, h.SetOption("count", 11), "error parsing value: Value '11' exceeds maximum 10",
		"the declared bounds are the option's")
}

// TestTypedConfigNotify: ConfigNotify(ctx, typedConfig) is handed the
// snapshot taken after the change.
func TestTypedConfigNotify(t *testing.T) {
	h, m := startTyped(t)
	require.NoError(t, h.SetOption("place", "Mars"))
	for deadline := time.After(5 * time.Second); ; {
		select {
		case cfg := <-m.got:
			if cfg.Place != "Mars" {
				continue // a notification from before the change
			}
			require.Equal(t, 3, cfg.Count, "the other options as they are")
			return
		case <-deadline:
			t.Fatal("ConfigNotify(ctx, typedConfig) was not called with the new place")
		}
	}
}
