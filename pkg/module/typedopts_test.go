package module

import (
	"testing"

	"github.com/stretchr/testify/require"
)

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
