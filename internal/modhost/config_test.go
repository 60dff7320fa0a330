package modhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// corruptStore is a MemoryStore whose listed keys fail their checksum, as
// the embedded store reports them: absent to Get, -EIO from Corrupt.
type corruptStore struct {
	*backend.MemoryStore
	mu  sync.Mutex
	bad map[string]bool
}

// damage makes key fail its checksum.
func (s *corruptStore) damage(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad[key] = true
}

func (s *corruptStore) Corrupt(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bad[key] {
		return nil
	}
	return fmt.Errorf("'%s': the stored value fails its checksum: %w", key, syscall.EIO)
}

func (s *corruptStore) Set(ctx context.Context, key, value string) error {
	s.mu.Lock()
	delete(s.bad, key) // a write replaces the damaged value
	s.mu.Unlock()
	return s.MemoryStore.Set(ctx, key, value)
}

// damagedBackend is a MemoryBackend whose config and KV stores report
// damaged values.
type damagedBackend struct {
	*backend.MemoryBackend
	config, kv *corruptStore
}

func newDamagedBackend() *damagedBackend {
	mb := backend.NewMemoryBackend()
	return &damagedBackend{MemoryBackend: mb,
		config: &corruptStore{MemoryStore: mb.ConfigStore, bad: map[string]bool{}},
		kv:     &corruptStore{MemoryStore: mb.KVStore, bad: map[string]bool{}}}
}

func (b *damagedBackend) Config() backend.Store { return b.config }
func (b *damagedBackend) KV() backend.Store     { return b.kv }

// managerOn starts a Manager with the fixture's test module "t" on b,
// logging to the returned buffer.
func managerOn(t *testing.T, b backend.Backend) (*Manager, *testutil.SyncBuffer) {
	t.Helper()
	f := &fixture{t: t}
	reg := NewRegistry()
	require.NoError(t, reg.Register(f.info("t", nil)))
	require.NoError(t, reg.Register(f.info("u", nil)))
	logs := &testutil.SyncBuffer{}
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: b, ShutdownTimeout: 500 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	return m, logs
}

// handleOf returns the Handle of a running module.
func handleOf(m *Manager, name string) *module.Handle {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.running[name].handle
}

// TestStoredOptionOutsideItsSchemaReadsAsDefault is review finding 3's
// read side: a value the schema refuses (stored by the real `ceph config
// set --force` when attached, or by an older daemon) is not served; the
// module sees the default and the log says why, once.
func TestStoredOptionOutsideItsSchemaReadsAsDefault(t *testing.T) {
	b := backend.NewMemoryBackend()
	m, logs := managerOn(t, b)
	_, err := m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	h := handleOf(m, "t")
	set := func(k, v string) { require.NoError(t, b.ConfigStore.Set(context.Background(), k, v)) }

	// count: Int, 1..10, default 3; color: enum red|blue, no default.
	for _, tc := range []struct{ key, stored, why string }{
		{"count", "100000", "value '100000' exceeds maximum 10"},
		{"count", "0", "value '0' is below minimum 1"},
		{"count", "garbage", "strict_si_cast: unit prefix not recognized"},
		{"count", "0x10", "strict_si_cast: unit prefix not recognized"},
	} {
		set("mgr/t/"+tc.key, tc.stored)
		for range 3 {
			v, err := h.IntOption(tc.key)
			require.NoError(t, err)
			require.Equal(t, int64(3), v, "%s = %q reads as the default", tc.key, tc.stored)
		}
		v, err := m.OptionValue("t", "", tc.key)
		require.NoError(t, err)
		require.Equal(t, int64(3), v, "config get shows what the module reads")
		require.Equal(t, 1, strings.Count(logs.String(), "value="+tc.stored+" "), "logged once: %s", logs.String())
		require.Contains(t, logs.String(), tc.why)
	}
	set("mgr/t/color", "green")
	v, err := h.Option("color")
	require.NoError(t, err)
	require.Nil(t, v)
	require.Contains(t, logs.String(), "'green' is not one of the permitted values: blue, red")

	// A localized value that cannot be served falls back to the global one.
	set("mgr/t/count", "7")
	set("mgr/t/x/count", "11")
	v, err = h.LocalizedOption("count")
	require.NoError(t, err)
	require.Equal(t, int64(7), v)
	set("mgr/t/x/count", "8")
	v, err = h.LocalizedOption("count")
	require.NoError(t, err)
	require.Equal(t, int64(8), v)
}

// TestOptionFailingItsChecksum is review finding 13c: the daemon's
// `config get` of an option whose stored value fails its checksum answers
// -EIO, as config-key get does; the module reads the default, with a
// warning in the log (MGR_STORE_CORRUPT, raised by the store, names the
// key).
func TestOptionFailingItsChecksum(t *testing.T) {
	b := newDamagedBackend()
	b.config.damage("mgr/t/place")
	m, logs := managerOn(t, b)
	_, err := m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	h := handleOf(m, "t")

	_, err = m.OptionValue("t", "", "place")
	require.Error(t, err)
	require.Equal(t, -int(syscall.EIO), objectformat.ErrnoOf(err))
	require.Contains(t, err.Error(), "'mgr/t/place': the stored value fails its checksum")
	_, err = m.OptionValue("t", "x", "place")
	require.Equal(t, -int(syscall.EIO), objectformat.ErrnoOf(err), "the localized read falls back to the damaged global value")
	s, err := h.StringOption("place")
	require.NoError(t, err)
	require.Equal(t, "world", s, "the module reads the default")
	require.Contains(t, logs.String(), "ignoring an option value that fails its checksum")

	// A sound localized value is served without touching the global one.
	require.NoError(t, b.config.Set(context.Background(), "mgr/t/x/place", "here"))
	v, err := m.OptionValue("t", "x", "place")
	require.NoError(t, err)
	require.Equal(t, "here", v)
	// Setting the option repairs it.
	require.NoError(t, m.ConfigSet(context.Background(), "mgr", "mgr/t/place", "there"))
	v, err = m.OptionValue("t", "", "place")
	require.NoError(t, err)
	require.Equal(t, "there", v)
	require.False(t, errors.Is(backend.StoreCorrupt(b.config, "mgr/t/place"), syscall.EIO))
}

// TestEnabledListFailingItsChecksum is review finding 8: a stored enabled
// list whose bytes fail their checksum was read as "nothing enabled" with
// no trace, and the next enable wrote a list without the other modules.
// Now nothing is enabled from it (the damaged bytes are not trusted), the
// log says so at error level, and MGR_ENABLED_MODULES_CORRUPT stays until
// the operator changes the list.
func TestEnabledListFailingItsChecksum(t *testing.T) {
	b := newDamagedBackend()
	b.kv.damage(enabledKey)
	m, logs := managerOn(t, b)
	require.Empty(t, m.List().Enabled)
	require.Contains(t, logs.String(), "level=ERROR msg=\"the stored enabled module list is unreadable (it fails its checksum): no module is enabled from it, and the modules it named are not running")

	for range 2 { // it stays
		h := m.Health()
		c, ok := h.Checks[enabledCorruptCheck]
		require.True(t, ok, "%+v", h.Checks)
		require.Equal(t, health.Warn, c.Severity)
		require.Equal(t, "the stored list of enabled mgr modules is unreadable: the modules it named are not running", c.Summary.Message)
		require.Contains(t, c.Detail[0].Message, "'mgr/.gomgr/enabled_modules': the stored value fails its checksum")
		require.Contains(t, c.Detail[1].Message, "enable again the modules that should run")
	}
	_, err := m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	require.NotContains(t, m.Health().Checks, enabledCorruptCheck, "changing the list clears it")
	require.Equal(t, []string{"t"}, m.List().Enabled)
	v, _ := b.kv.Get(enabledKey)
	require.Equal(t, `["t"]`, v)

	// A no-op enable or disable is the operator acting on the list too.
	b.kv.damage(enabledKey)
	b.KVStore.Remove(enabledKey)
	m.parseMu.Lock()
	m.lastParse = storedState{}
	m.parseMu.Unlock()
	require.Contains(t, m.Health().Checks, enabledCorruptCheck)
	msg, err := m.Disable(context.Background(), "u")
	require.NoError(t, err)
	require.Equal(t, "module 'u' is already disabled", msg)
	require.NotContains(t, m.Health().Checks, enabledCorruptCheck)
	v, _ = b.kv.Get(enabledKey)
	require.Equal(t, `["t"]`, v, "the list in memory is written")
}

// TestNumberOptionsThroughConfigSet: the daemon's config set (and a
// module's mon_command) refuse what the monitor refuses, with -EINVAL and
// its text, and store what it stores.
func TestNumberOptionsThroughConfigSet(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }, Options: []module.Option{
		{Name: "i", Type: module.Int}, {Name: "sz", Type: module.Size}, {Name: "s", Type: module.Secs},
	}})
	h := f.enable("t").h
	ctx := context.Background()
	for _, tc := range []struct{ name, in, stored, err string }{
		{"i", "010", "10", ""},
		{"i", "10K", "10000", ""},
		{"i", "0x10", "", "error parsing value: strict_si_cast: unit prefix not recognized"},
		{"sz", "4Ki", "4096", ""},
		{"s", "1h 30m", "5400", ""},
		{"s", "5ms", "", "error parsing value: unrecogized unit 'ms'"},
	} {
		require.NoError(t, f.b.ConfigStore.Set(ctx, "mgr/t/"+tc.name, "unchanged"))
		err := f.m.ConfigSet(ctx, "mgr", "mgr/t/"+tc.name, tc.in)
		res := h.MonCommand(ctx, map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/t/" + tc.name, "value": tc.in}, nil)
		got, _ := f.b.ConfigStore.Get("mgr/t/" + tc.name)
		if tc.err != "" {
			require.EqualError(t, err, tc.err)
			require.Equal(t, objectformat.Failed(syscall.EINVAL, tc.err), res)
			require.Equal(t, "unchanged", got)
			continue
		}
		require.NoError(t, err)
		require.Zero(t, res.Retval, res.Stderr)
		require.Equal(t, tc.stored, got)
	}
	// A Secs value given as a number is stored in a form that reads back.
	require.NoError(t, h.SetOption(ctx, "s", 1e6))
	got, _ := f.b.ConfigStore.Get("mgr/t/s")
	require.Equal(t, "1000000", got)
	secs, err := h.FloatOption("s")
	require.NoError(t, err)
	require.Equal(t, 1e6, secs)
}
