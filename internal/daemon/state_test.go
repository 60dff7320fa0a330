package daemon

import (
	"context"
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type nopModule struct{}

// stateRegistry returns a registry of modules that do nothing.
func stateRegistry(t *testing.T, names ...string) *modhost.Registry {
	t.Helper()
	reg := modhost.NewRegistry()
	for _, n := range names {
		require.NoError(t, reg.Register(module.Info{Name: n, New: func() module.Module { return &nopModule{} }}))
	}
	return reg
}

// runFor starts an in-process daemon on data/run and returns a function
// that runs a command on it and one that stops it.
func runFor(t *testing.T, data, run string, reg *modhost.Registry) (cmd func(inbuf []byte, words ...any) objectformat.Result, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, done := startInProcess(t, ctx, "s", data, run, reg)
	require.Eventually(t, func() bool { return d.Role() == RoleActive }, 5*time.Second, 5*time.Millisecond)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	cmd = func(inbuf []byte, words ...any) objectformat.Result {
		c := map[string]any{}
		for i := 0; i+1 < len(words); i += 2 {
			c[words[i].(string)] = words[i+1]
		}
		return d.Command(context.Background(), c, inbuf, "rw")
	}
	return cmd, stop
}

func TestConfigKeyHidesTheDaemonsState(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	cmd, _ := runFor(t, filepath.Join(dir, "data"), dir, stateRegistry(t, "t"))
	require.Zero(t, cmd(nil, "prefix", "mgr module enable", "module", "t").Retval)
	require.Zero(t, cmd(nil, "prefix", "config-key set", "key", "mgr/t/k", "val", "v").Retval)
	const key = kvkeys.ReservedKVPrefix + "enabled_modules"

	res := cmd(nil, "prefix", "config-key ls", "format", "json")
	require.Zero(t, res.Retval, res.Stderr)
	var keys []string
	require.NoError(t, json.Unmarshal(res.Stdout, &keys))
	require.Equal(t, []string{"mgr/t/k"}, keys)
	for _, prefix := range []any{nil, "mgr/", kvkeys.ReservedKVPrefix} {
		words := []any{"prefix", "config-key dump", "format", "json"}
		if prefix != nil {
			words = append(words, "key", prefix)
		}
		res := cmd(nil, words...)
		require.Zero(t, res.Retval, res.Stderr)
		var dump map[string]string
		require.NoError(t, json.Unmarshal(res.Stdout, &dump))
		require.NotContains(t, dump, key, "config-key dump %v", prefix)
	}
	res = cmd(nil, "prefix", "config-key get", "key", key)
	require.Equal(t, -int(syscall.ENOENT), res.Retval)
	res = cmd(nil, "prefix", "config-key exists", "key", key)
	require.Equal(t, -int(syscall.ENOENT), res.Retval)

	for _, tc := range []struct {
		words []any
		inbuf []byte
	}{
		{[]any{"prefix", "config-key set", "key", key, "val", "{bad"}, nil},
		{[]any{"prefix", "config-key set", "key", key}, []byte("[]")},
		{[]any{"prefix", "config-key set", "key", kvkeys.ReservedKVPrefix + "other", "val", "x"}, nil},
		{[]any{"prefix", "config-key rm", "key", key}, nil},
	} {
		res := cmd(tc.inbuf, tc.words...)
		require.Equal(t, -int(syscall.EPERM), res.Retval, "%v", tc.words)
		require.Contains(t, res.Stderr, "keys under 'mgr/.gomgr/' hold the daemon's own state and cannot be changed with config-key")
	}
	// The module is still enabled, and stays so across a restart.
	var l modhost.ModuleList
	res = cmd(nil, "prefix", "mgr module ls", "format", "json")
	require.NoError(t, json.Unmarshal(res.Stdout, &l))
	require.Equal(t, []string{"t"}, l.Enabled)
	require.Equal(t, "HEALTH_OK\n", string(cmd(nil, "prefix", "health").Stdout))
}

func TestModuleLsShowsUnavailableModules(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	cmd, stop := runFor(t, data, dir, stateRegistry(t, "gone", "t"))
	require.Zero(t, cmd(nil, "prefix", "mgr module enable", "module", "gone").Retval)
	require.Zero(t, cmd(nil, "prefix", "mgr module enable", "module", "t").Retval)
	stop()

	// The same data directory, with a daemon that lacks "gone".
	cmd, _ = runFor(t, data, dir, stateRegistry(t, "t", "u"))
	res := cmd(nil, "prefix", "mgr module ls")
	require.Zero(t, res.Retval, res.Stderr)
	require.Equal(t, "MODULE  \ngone    on (unavailable: not compiled into this daemon)\nt       on\nu       -", string(res.Stdout))
	res = cmd(nil, "prefix", "mgr module ls", "format", "json")
	require.JSONEq(t, `{"always_on_modules":[],"enabled_modules":["gone","t"],"disabled_modules":[{"name":"u","can_run":true,"error_string":""}],
		"unavailable_modules":[{"name":"gone","can_run":false,"error_string":"not compiled into this daemon"}]}`, string(res.Stdout))
	res = cmd(nil, "prefix", "health")
	require.Equal(t, "HEALTH_WARN Module 'gone' has failed dependency: not compiled into this daemon\n", string(res.Stdout))

	res = cmd(nil, "prefix", "mgr module enable", "module", "gone", "force", "--force")
	require.Equal(t, -int(syscall.ENOENT), res.Retval)
	require.NotContains(t, res.Stderr, "--force")
	res = cmd(nil, "prefix", "mgr module disable", "module", "gone")
	require.Zero(t, res.Retval, res.Stderr)
	res = cmd(nil, "prefix", "mgr module ls")
	require.Equal(t, "MODULE  \nt       on\nu       -", string(res.Stdout))
	require.Equal(t, "HEALTH_OK\n", string(cmd(nil, "prefix", "health").Stdout))
}

func (nopModule) Init(*module.Handle) error { return nil }
