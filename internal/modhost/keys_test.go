package modhost

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

const reservedMsg = "keys under 'mgr/.gomgr/' hold the daemon's own state and cannot be changed with config-key"

// TestLocalMonCommandKeyRules is review finding 1 (and 6, module side):
// the monitor commands of a backend without monitors follow the daemon's
// rules on keys. mgr.mon_command({"prefix": "config-key set", "key":
// "mgr/.gomgr/enabled_modules", "val": "{bad"}) from an eval used to
// disable every module at the next start.
func TestLocalMonCommandKeyRules(t *testing.T) {
	ctx := context.Background()
	kv, config := backend.NewMemoryStore(), backend.NewMemoryStore()
	kv.Put(enabledKey, `["hello"]`)
	kv.Put("mgr/t/k", "v")
	other := kvkeys.ReservedKVPrefix + "other"
	run := func(inbuf []byte, kvs ...string) objectformat.Result {
		t.Helper()
		cmd := map[string]any{}
		for i := 0; i+1 < len(kvs); i += 2 {
			cmd[kvs[i]] = kvs[i+1]
		}
		res, ok := backend.LocalMonCommand(ctx, config, kv, cmd, inbuf)
		require.True(t, ok, "%v", cmd)
		return res
	}
	for _, prefix := range []string{"config-key set", "config-key put", "config-key rm", "config-key del"} {
		for _, key := range []string{enabledKey, other} {
			res := run(nil, "prefix", prefix, "key", key, "val", "{bad")
			require.Equal(t, -int(syscall.EPERM), res.Retval, "%s %s", prefix, key)
			require.Equal(t, prefix+" '"+key+"': "+reservedMsg+" (use `mgr module enable|disable` for the enabled module list)", res.Stderr)
		}
		res := run([]byte("[]"), "prefix", prefix, "key", enabledKey)
		require.Equal(t, -int(syscall.EPERM), res.Retval, "%s with an input buffer", prefix)
	}
	v, _ := kv.Get(enabledKey)
	require.Equal(t, `["hello"]`, v, "the reserved key is unchanged")
	_, made := kv.Get(other)
	require.False(t, made)

	res := run(nil, "prefix", "config-key get", "key", enabledKey)
	require.Equal(t, objectformat.Failed(syscall.ENOENT, "error obtaining 'mgr/.gomgr/enabled_modules': (2) No such file or directory"), res)
	res = run(nil, "prefix", "config-key exists", "key", enabledKey)
	require.Equal(t, objectformat.Failed(syscall.ENOENT, "key 'mgr/.gomgr/enabled_modules' doesn't exist"), res)
	for _, prefix := range []string{"config-key ls", "config-key list"} {
		res = run(nil, "prefix", prefix)
		var keys []string
		require.NoError(t, json.Unmarshal(res.Stdout, &keys))
		require.Equal(t, []string{"mgr/t/k"}, keys, prefix)
	}
	for _, p := range []string{"", "mgr/", kvkeys.ReservedKVPrefix} {
		res = run(nil, "prefix", "config-key dump", "key", p)
		var dump map[string]string
		require.NoError(t, json.Unmarshal(res.Stdout, &dump))
		require.NotContains(t, dump, enabledKey, "config-key dump %q", p)
		if p != kvkeys.ReservedKVPrefix {
			require.Equal(t, map[string]string{"mgr/t/k": "v"}, dump)
		}
	}

	// Keys must be valid UTF-8: "k\xff" and "k\xfe" would be one key to
	// every JSON client. Values may be any bytes.
	for _, prefix := range []string{"config-key set", "config-key put"} {
		res = run(nil, "prefix", prefix, "key", "mgr/t/k\xff", "val", "v1")
		require.Equal(t, -int(syscall.EINVAL), res.Retval, prefix)
		require.Equal(t, `invalid UTF-8 in key "mgr/t/k\xff": keys must be valid UTF-8 (values may hold any bytes)`, res.Stderr)
	}
	res = run(nil, "prefix", "config set", "who", "mgr", "name", "mgr/t/o\xfe", "value", "v")
	require.Equal(t, -int(syscall.EINVAL), res.Retval)
	require.Contains(t, res.Stderr, `invalid UTF-8 in name "mgr/t/o\xfe"`)
	require.Len(t, kv.List(""), 2, "nothing was written")
	require.Empty(t, config.List(""))
	res = run([]byte("\xff\xfe binary"), "prefix", "config-key set", "key", "mgr/t/bin")
	require.Zero(t, res.Retval, res.Stderr)
	v, _ = kv.Get("mgr/t/bin")
	require.Equal(t, "\xff\xfe binary", v)
	// A key an older daemon let in can still be removed.
	kv.Put("mgr/t/old\xff", "x")
	require.Zero(t, run(nil, "prefix", "config-key rm", "key", "mgr/t/old\xff").Retval)
	_, left := kv.Get("mgr/t/old\xff")
	require.False(t, left)
}

// recordingMon is a cluster whose monitors record the commands they get
// (a daemon attached to a real cluster sends a module's MonCommand there).
type recordingMon struct {
	mu   sync.Mutex
	cmds []map[string]any
}

func (r *recordingMon) FSID() string                             { return "fsid" }
func (r *recordingMon) HaveMonConnection() bool                  { return true }
func (r *recordingMon) Get(context.Context, string) (any, error) { return nil, nil }
func (r *recordingMon) Command(_ context.Context, _ module.Target, cmd map[string]any, _ []byte) objectformat.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, maps.Clone(cmd))
	return objectformat.Result{}
}

func (r *recordingMon) sent() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.cmds...)
}

// TestModuleMonCommandFollowsTheDaemonsRules is review findings 1, 3 and
// 6 through the module API, in both modes: on the embedded-like
// MemoryBackend (LocalMonCommand) and attached, where the command would
// reach real monitors that know nothing of gomgr's rules.
func TestModuleMonCommandFollowsTheDaemonsRules(t *testing.T) {
	ctx := context.Background()
	for _, attached := range []bool{false, true} {
		name := map[bool]string{false: "embedded", true: "attached"}[attached]
		t.Run(name, func(t *testing.T) {
			f := &fixture{t: t}
			mon := &recordingMon{}
			var b backend.Backend = backend.NewMemoryBackend()
			mem := b.(*backend.MemoryBackend)
			if attached {
				b = &clusterBackend{MemoryBackend: mem, cl: mon}
			}
			reg := NewRegistry()
			require.NoError(t, reg.Register(f.info("t", nil)))
			m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: b})
			require.NoError(t, err)
			require.NoError(t, m.Start(ctx))
			t.Cleanup(m.Close)
			f.m = m
			h := f.enable("t").h
			mem.KVStore.Put(enabledKey, `["t"]`)
			send := func(cmd map[string]any) objectformat.Result {
				t.Helper()
				res := h.MonCommand(ctx, cmd, nil)
				// SendCommand to a mon takes the same path.
				cr := h.SendCommand(ctx, module.Target{Type: "mon"}, cmd, nil, "")
				<-cr.Done()
				got, err := cr.Wait(ctx)
				require.NoError(t, err)
				require.Equal(t, res, got, "SendCommand %v", cmd)
				return res
			}

			for _, prefix := range []string{"config-key set", "config-key put", "config-key rm", "config-key del"} {
				res := send(map[string]any{"prefix": prefix, "key": enabledKey, "val": "{bad"})
				require.Equal(t, -int(syscall.EPERM), res.Retval, prefix)
				require.Contains(t, res.Stderr, reservedMsg)
			}
			res := send(map[string]any{"prefix": "config-key get", "key": enabledKey})
			require.Equal(t, -int(syscall.ENOENT), res.Retval)
			res = send(map[string]any{"prefix": "config-key exists", "key": enabledKey})
			require.Equal(t, -int(syscall.ENOENT), res.Retval)
			res = send(map[string]any{"prefix": "config-key set", "key": "mgr/t/k\xff", "val": "v"})
			require.Equal(t, -int(syscall.EINVAL), res.Retval)
			require.Contains(t, res.Stderr, `invalid UTF-8 in key "mgr/t/k\xff"`)
			v, _ := mem.KVStore.Get(enabledKey)
			require.Equal(t, `["t"]`, v)

			// config set of the module's own options: the schema applies,
			// --force or not (count: Int, 1..10, default 3).
			for _, tc := range []struct {
				name  string
				value any
				force bool
				err   string
			}{
				{"mgr/t/count", "100000", false, "error parsing value: Value '100000' exceeds maximum 10"},
				{"mgr/t/count", "100000", true, "error parsing value: Value '100000' exceeds maximum 10"},
				{"mgr/t/x/count", "0", false, "error parsing value: Value '0' is below minimum 1"},
				{"mgr/t/count", "garbage", false, "error parsing value: strict_si_cast: unit prefix not recognized"},
				{"mgr/t/color", "green", false, "error parsing value: 'green' is not one of the permitted values: blue, red"},
				{"mgr/t/nosuch", "1", false, "unrecognized config option 'mgr/t/nosuch': module 't' has no option 'nosuch'"},
				{"mgr/t/count", nil, false, "config set mgr/t/count: no value given"},
			} {
				cmd := map[string]any{"prefix": "config set", "who": "mgr", "name": tc.name, "value": tc.value}
				if tc.force {
					cmd["force"] = true
				}
				res := send(cmd)
				require.Equal(t, objectformat.Failed(syscall.EINVAL, tc.err), res, "%v", cmd)
			}
			require.Empty(t, mem.ConfigStore.List(""), "no refused value was stored")
			c, err := h.IntOption("count")
			require.NoError(t, err)
			require.Equal(t, int64(3), c)

			res = send(map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/t/count", "value": "010"})
			require.Equal(t, objectformat.Result{}, res)
			stored, _ := mem.ConfigStore.Get("mgr/t/count")
			require.Equal(t, "10", stored, "stored in its canonical form, as the daemon's config set does")
			res = send(map[string]any{"prefix": "config rm", "who": "mgr", "name": "mgr/t/count"})
			require.Equal(t, objectformat.Result{}, res)
			_, left := mem.ConfigStore.Get("mgr/t/count")
			require.False(t, left)
			res = send(map[string]any{"prefix": "config set", "who": "osd", "name": "mgr/t/count", "value": "5"})
			require.Equal(t, -int(syscall.EINVAL), res.Retval, "a module option lives in the mgr sections")

			for _, cmd := range mon.sent() {
				prefix, _ := cmd["prefix"].(string)
				require.False(t, strings.HasPrefix(prefix, "config"), "a checked command reached the monitors: %v", cmd)
			}
			// Other monitor commands still go to the backend.
			res = send(map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/balancer/mode", "value": "upmap"})
			require.Zero(t, res.Retval, res.Stderr)
			if attached {
				require.Len(t, mon.sent(), 2, "a Python module's option is the monitors' to check")
			} else {
				v, _ := mem.ConfigStore.Get("mgr/balancer/mode")
				require.Equal(t, "upmap", v)
			}
		})
	}
}

// TestSetStoreRefusesInvalidUTF8 is review finding 6 (module side): a
// module could create keys that no client can address (Starlark's
// "é"[0] is a string holding one invalid byte).
func TestSetStoreRefusesInvalidUTF8(t *testing.T) {
	f := &fixture{t: t}
	f = newFixture(t, f.info("t", nil))
	h := f.enable("t").h
	ctx := context.Background()
	for _, set := range map[string]func() error{
		"SetStore":          func() error { return h.SetStore(ctx, "k\xc3", "v") },
		"SetLocalizedStore": func() error { return h.SetLocalizedStore(ctx, "k\xc3", "v") },
	} {
		err := set()
		require.Error(t, err)
		require.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err))
		require.Contains(t, err.Error(), `invalid UTF-8 in key "`)
		require.Contains(t, err.Error(), `k\xc3"`)
	}
	require.Empty(t, f.b.KVStore.List("mgr/t/"))
	require.NoError(t, h.SetStore(ctx, "é", "\xff"), "valid keys, binary values")
	v, _ := h.Store("é")
	require.Equal(t, "\xff", v)
}
