package cmddesc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidateUnknownFirst: an unknown argument is reported before any
// other problem, whether or not the command holds only arguments and the
// prefix (which is checked without going through its keys).
func TestValidateUnknownFirst(t *testing.T) {
	s, err := ParseSpec("t cmd name=a,type=CephString name=b,type=CephInt,req=false")
	require.NoError(t, err)
	unknown := "Invalid command: unknown argument 'zzz' for 't cmd' (it takes a, b)"
	for _, c := range []struct {
		cmd  map[string]any
		want string
	}{
		{map[string]any{"prefix": "t cmd", "a": "x"}, ""},
		{map[string]any{"prefix": "t cmd", "a": "x", "b": 3}, ""},
		{map[string]any{"prefix": "t cmd", "a": "x", "format": "json", "target": []any{"mgr", ""}}, ""},
		{map[string]any{"a": "x"}, ""},
		{map[string]any{"prefix": "t cmd", "a": "x", "zzz": 1}, unknown},
		{map[string]any{"a": "x", "zzz": 1}, unknown},
		{map[string]any{"a": "x", "b": 1, "zzz": 1}, unknown},
		{map[string]any{"prefix": "t cmd", "b": "five", "zzz": 1}, unknown},
		{map[string]any{"prefix": "t cmd", "b": 1, "zzz": 1}, unknown},
		{map[string]any{"prefix": "t cmd", "a": "x", "b": "five"}, "Invalid command: argument 'b': five doesn't represent an int"},
		{map[string]any{"prefix": "t cmd", "a": nil}, "Invalid command: missing required parameter a(<string>)"},
		{map[string]any{"prefix": "t cmd"}, "Invalid command: missing required parameter a(<string>)"},
	} {
		values, err := s.Validate(c.cmd)
		checkErr := s.Check(c.cmd, nil)
		if c.want == "" {
			require.NoError(t, err, "%v", c.cmd)
			require.NoError(t, checkErr, "%v", c.cmd)
			require.Equal(t, "t cmd", values["prefix"])
			require.Equal(t, "x", values["a"])
			continue
		}
		require.EqualError(t, err, c.want, "%v", c.cmd)
		require.EqualError(t, checkErr, c.want, "%v", c.cmd)
	}
}
