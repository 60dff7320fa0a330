package daemon

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// TestBuiltinsAreReserved holds module.ReservedPrefixes, which
// module.Register checks module commands against, to the daemon's own
// commands: every built-in (active and standby) is reserved, and nothing
// else is but get_command_descriptions, which the admin socket answers
// before any lookup (serveAsok).
func TestBuiltinsAreReserved(t *testing.T) {
	bi := &builtins{d: &Daemon{}}
	want := []string{"get_command_descriptions"}
	for _, c := range append(bi.commands(), bi.standbyCommands()...) {
		if !slices.Contains(want, c.Prefix()) {
			want = append(want, c.Prefix())
		}
	}
	slices.Sort(want)
	require.Equal(t, want, module.ReservedPrefixes())
}
