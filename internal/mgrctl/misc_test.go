package mgrctl_test

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/mgrctl"
)

// TestDefaultRunDirMatchesDaemon: mgrctl looks where ceph-mgr puts its
// sockets by default.
func TestDefaultRunDirMatchesDaemon(t *testing.T) {
	for _, xdg := range []string{"", "/run/user/1234"} {
		t.Setenv("XDG_RUNTIME_DIR", xdg)
		want := daemon.NewCommand(nil, io.Discard, io.Discard).Flags().Lookup("run-dir").DefValue
		assert.Equal(t, want, mgrctl.DefaultRunDir(os.Getenv))
	}
}

// TestSocketSelection: --socket, then $GOMGR_SOCKET unless --run-dir or
// --id is given, then RUN-DIR/ceph-mgr.ID.api.
func TestSocketSelection(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--run-dir", "/r"}, "/r/ceph-mgr.x.api"},
		{map[string]string{"GOMGR_RUN_DIR": "/r", "GOMGR_ID": "y"}, nil, "/r/ceph-mgr.y.api"},
		{map[string]string{"GOMGR_RUN_DIR": "/r"}, []string{"--id", "z"}, "/r/ceph-mgr.z.api"},
		{map[string]string{"GOMGR_SOCKET": "/s.api"}, nil, "/s.api"},
		{map[string]string{"GOMGR_SOCKET": "/s.api"}, []string{"--run-dir", "/r"}, "/r/ceph-mgr.x.api"},
		{map[string]string{"GOMGR_SOCKET": "/s.api"}, []string{"--socket", "/t.api", "--run-dir", "/r"}, "/t.api"},
		{map[string]string{"XDG_RUNTIME_DIR": "/xdg"}, nil, "/xdg/gomgr/ceph-mgr.x.api"},
	} {
		getenv := func(k string) string { return tc.env[k] }
		r := run(t, "", append(tc.args, "hello"), mgrctl.WithGetenv(getenv))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "cannot reach the daemon at "+tc.want+":", "%v %v", tc.env, tc.args)
	}
}

func TestVersion(t *testing.T) {
	dir := startDaemon(t)
	r := run(t, "", []string{"--run-dir", dir, "-f", "json", "version"})
	require.Equal(t, 0, r.code, r.stderr)
	var v struct {
		Mgrctl string `json:"mgrctl"`
		Daemon struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"daemon"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Contains(t, v.Mgrctl, "gomgr version")
	assert.Equal(t, "x", v.Daemon.ID)
	assert.Equal(t, "active", v.Daemon.Role)
	r = run(t, "", []string{"--run-dir", dir + "/nowhere", "version"})
	assert.Equal(t, 0, r.code, "the client version needs no daemon")
	assert.NotContains(t, r.stdout, "ceph-mgr")
}
