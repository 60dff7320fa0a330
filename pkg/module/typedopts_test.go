package module

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

var typedOpts = NewOptions[typedConfig]()

func TestTypedOptionsDeclare(t *testing.T) {
	decl := typedOpts.Declare()
	byName := map[string]Option{}
	for _, o := range decl {
		byName[o.Name] = o
	}
	require.Len(t, decl, 9)
	require.Equal(t, Option{Name: "place", Type: Str, Default: "world", Desc: "where", Runtime: true}, byName["place"])
	require.Equal(t, Option{Name: "loud", Type: Bool, Default: true}, byName["loud"])
	require.Equal(t, Option{Name: "count", Type: Int, Default: int64(3), Min: int64(1), Max: int64(10)}, byName["count"])
	require.Equal(t, Option{Name: "ratio", Type: Float}, byName["ratio"])
	require.Equal(t, Uint, byName["limit"].Type)
	require.Equal(t, Option{Name: "interval", Type: Secs, Default: 90.0, Level: LevelBasic}, byName["interval"])
	require.Equal(t, Option{Name: "buffer", Type: Size, Default: int64(4096)}, byName["buffer"])
	require.Equal(t, Addr, byName["peer"].Type)
	require.Equal(t, []string{"red", "blue"}, byName["color"].EnumAllowed)
}

func TestTypedOptionsRefuseBadDeclarations(t *testing.T) {
	for name, tc := range map[string]struct {
		newFn func() error
		err   string
	}{
		"unexported": {func() error {
			_, err := newTypedOptions[struct {
				x string `option:"x"`
			}]()
			return err
		}, "field x: an option field must be exported"},
		"no option type": {func() error {
			_, err := newTypedOptions[struct {
				M map[string]int `option:"m"`
			}]()
			return err
		}, "field M: no option type holds a map[string]int"},
		"bad type tag": {func() error {
			_, err := newTypedOptions[struct {
				S string `option:"s" type:"int"`
			}]()
			return err
		}, `field S: type "int": the tag names only size, addr, uuid or secs`},
		"size on a string": {func() error {
			_, err := newTypedOptions[struct {
				S string `option:"s" type:"size"`
			}]()
			return err
		}, "field S: a size option needs a signed integer field, not string"},
		"default not an int": {func() error {
			_, err := newTypedOptions[struct {
				N int `option:"n" default:"many"`
			}]()
			return err
		}, "field N: default: strict_si_cast: unit prefix not recognized"},
		"default outside the enum": {func() error {
			_, err := newTypedOptions[struct {
				C string `option:"c" default:"green" enum:"red|blue"`
			}]()
			return err
		}, `option "c": default "green" is not one of the permitted values: blue, red`},
		"default above max": {func() error {
			_, err := newTypedOptions[struct {
				N int `option:"n" default:"11" max:"10"`
			}]()
			return err
		}, `option "n": default 11 exceeds maximum 10`},
		"runtime": {func() error {
			_, err := newTypedOptions[struct {
				B bool `option:"b" runtime:"yes"`
			}]()
			return err
		}, `field B: runtime must be "true" or "false", not "yes"`},
		"not a struct": {func() error { _, err := newTypedOptions[int](); return err }, "int is not a struct"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.newFn()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
		})
	}
	require.Panics(t, func() {
		NewOptions[struct {
			x int `option:"x"`
		}]()
	})
}
