package daemon

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
)

// flipIn flips a bit of every copy of s in the store file of data.
func flipIn(t *testing.T, data, s string) {
	t.Helper()
	path := filepath.Join(data, embedded.DBName)
	db, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for i := bytes.Index(db, []byte(s)); i >= 0; i = bytes.Index(db, []byte(s)) {
		db[i+3] ^= 1
		n++
	}
	require.NotZero(t, n, "%q is in the store", s)
	require.NoError(t, os.WriteFile(path, db, 0o600))
}

// TestDamagedEnabledListAndOption is review findings 8 and 13c on the
// embedded store: flipped bytes in the enabled module list and in an
// option's value (caught by their checksums).
//
//   - 8: the list used to read as "nothing enabled" with only
//     MGR_STORE_CORRUPT, which the next enable cleared, so the other
//     modules were lost without trace. Now MGR_ENABLED_MODULES_CORRUPT
//     says they are not running until the operator changes the list.
//   - 13c: `config get` of the damaged option answered its default with
//     rc 0; now -EIO, as config-key get.
func TestDamagedEnabledListAndOption(t *testing.T) {
	reg := modhost.NewRegistry()
	for _, n := range []string{"alpha_mod", "beta_mod"} {
		require.NoError(t, reg.Register(module.Info{Name: n, New: func() module.Module { return &nopModule{} },
			Options: []module.Option{{Name: "place", Default: "home"}}}))
	}
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	cmd, stop := runFor(t, data, dir, reg)
	for _, n := range []string{"alpha_mod", "beta_mod"} {
		require.Zero(t, cmd(nil, "prefix", "mgr module enable", "module", n).Retval)
	}
	const place = "far-away-place-0123456789"
	res := cmd(nil, "prefix", "config set", "who", "mgr", "name", "mgr/alpha_mod/place", "value", place)
	require.Zero(t, res.Retval, res.Stderr)
	stop()
	flipIn(t, data, `["alpha_mod","beta_mod"]`)
	flipIn(t, data, place)

	cmd, _ = runFor(t, data, dir, reg)
	var l modhost.ModuleList
	res = cmd(nil, "prefix", "mgr module ls", "format", "json")
	require.NoError(t, json.Unmarshal(res.Stdout, &l))
	require.Empty(t, l.Enabled, "nothing is enabled from a damaged list")

	res = cmd(nil, "prefix", "config get", "who", "mgr", "key", "mgr/alpha_mod/place")
	require.Equal(t, -int(syscall.EIO), res.Retval, "config get of a damaged value: %s %q", res.Stderr, res.Stdout)
	require.Contains(t, res.Stderr, "config 'mgr/alpha_mod/place': the stored value fails its checksum")
	res = cmd(nil, "prefix", "config get", "who", "mgr", "key", "mgr/beta_mod/place")
	require.Equal(t, "home\n", string(res.Stdout), "a sound option still reads")

	health := string(cmd(nil, "prefix", "health", "detail", "detail").Stdout)
	require.Contains(t, health, "[WRN] MGR_ENABLED_MODULES_CORRUPT: the stored list of enabled mgr modules is unreadable: the modules it named are not running")
	require.Contains(t, health, "[WRN] MGR_STORE_CORRUPT: 2 stored values fail their checksums")
	require.Contains(t, health, "config 'mgr/alpha_mod/place': the stored value fails its checksum")
	require.Contains(t, health, "config-key 'mgr/.gomgr/enabled_modules': the stored value fails its checksum")

	require.Zero(t, cmd(nil, "prefix", "mgr module enable", "module", "beta_mod").Retval)
	health = string(cmd(nil, "prefix", "health", "detail", "detail").Stdout)
	require.NotContains(t, health, "MGR_ENABLED_MODULES_CORRUPT", "the operator changed the list")
	require.Contains(t, health, "MGR_STORE_CORRUPT: the stored value of config 'mgr/alpha_mod/place' fails its checksum")
	res = cmd(nil, "prefix", "config set", "who", "mgr", "name", "mgr/alpha_mod/place", "value", "near")
	require.Zero(t, res.Retval, res.Stderr)
	require.Equal(t, "near\n", string(cmd(nil, "prefix", "config get", "who", "mgr", "key", "mgr/alpha_mod/place").Stdout))
	require.Equal(t, "HEALTH_OK\n", string(cmd(nil, "prefix", "health").Stdout))
}
