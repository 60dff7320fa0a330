package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/module"
)

// TestMgrctlCommandNamesOnlyWhatDiffers: the printed mgrctl command has
// the flags mgrctl needs and no others, so after `make run` (sockets in
// the default run directory) it is plain `mgrctl mgr module ls`.
func TestMgrctlCommandNamesOnlyWhatDiffers(t *testing.T) {
	xdg := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return "/run/user/1000"
		}
		return ""
	}
	for _, tc := range []struct{ runDir, id, want string }{
		{"/run/user/1000/gomgr", "x", "mgrctl"},
		{"/run/user/1000/gomgr/", "y", "mgrctl --id y"},
		{"/srv/run", "x", "mgrctl --run-dir /srv/run"},
		{"/srv/run", "b", "mgrctl --run-dir /srv/run --id b"},
	} {
		require.Equal(t, tc.want, mgrctlCommand(tc.runDir, tc.id, xdg), "%s %s", tc.runDir, tc.id)
	}
}

// TestExampleModule: the start-up hint names a module the daemon has
// (an author's own ceph-mgr has no hello).
func TestExampleModule(t *testing.T) {
	reg := modhost.NewRegistry()
	require.Equal(t, "", exampleModule(reg))
	require.NoError(t, reg.Register(module.Info{Name: "always", AlwaysOn: true, New: func() module.Module { return nopMod{} }}))
	require.Equal(t, "", exampleModule(reg))
	require.NoError(t, reg.Register(module.Info{Name: "quota", New: func() module.Module { return nopMod{} }}))
	require.Equal(t, "quota", exampleModule(reg))
	require.NoError(t, reg.Register(module.Info{Name: "hello", New: func() module.Module { return nopMod{} }}))
	require.Equal(t, "hello", exampleModule(reg))
}

// nopMod is a module with nothing but Init.
type nopMod struct{}

func (nopMod) Init(*module.Handle) error { return nil }
