package modhost

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// flakyStore is a KV store whose writes can be made to fail as librados'
// do with the monitors down (-ETIMEDOUT), optionally after the write
// landed (a reply lost after the commit).
type flakyStore struct {
	*backend.MemoryStore
	fail   atomic.Bool
	landed atomic.Bool // a failing write is applied anyway
}

func (s *flakyStore) Set(ctx context.Context, key, value string) error {
	if s.fail.Load() {
		if s.landed.Load() {
			s.Put(key, value)
		}
		return fmt.Errorf("config-key set %s: %w", key, syscall.ETIMEDOUT)
	}
	return s.MemoryStore.Set(ctx, key, value)
}

// flakyBackend is a MemoryBackend with a flakyStore as its KV store.
type flakyBackend struct {
	*backend.MemoryBackend
	kv *flakyStore
}

func (b *flakyBackend) KV() backend.Store { return b.kv }

func newFlakyBackend() *flakyBackend {
	mb := backend.NewMemoryBackend()
	return &flakyBackend{MemoryBackend: mb, kv: &flakyStore{MemoryStore: mb.KVStore}}
}

// newManager starts a Manager over b with the given modules.
func newManager(t *testing.T, b backend.Backend, infos ...module.Info) *Manager {
	t.Helper()
	reg := NewRegistry()
	for _, info := range infos {
		require.NoError(t, reg.Register(info))
	}
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: b, ShutdownTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	return m
}

// state is what the manager, its running modules and the store say is
// enabled (always-on modules aside).
type state struct{ memory, running, stored []string }

func (m *Manager) state(t *testing.T) state {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var s state
	for _, n := range sortedKeys(m.enabled) {
		if c, ok := m.catalog[n]; !ok || !c.info.AlwaysOn {
			s.memory = append(s.memory, n)
		}
	}
	for _, n := range sortedKeys(m.running) {
		if !m.catalog[n].info.AlwaysOn {
			s.running = append(s.running, n)
		}
	}
	if raw, ok := m.cfg.Backend.KV().Get(enabledKey); ok {
		if names, _ := parseEnabled(raw); len(names) > 0 {
			s.stored = names
		}
	}
	return s
}

// requireState checks that memory, running modules and the store agree on
// want (modules that are not compiled in do not run).
func (m *Manager) requireState(t *testing.T, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	var running []string
	for _, n := range want {
		if _, ok := m.catalog[n]; ok {
			running = append(running, n)
		}
	}
	require.Equal(t, state{want, running, want}, m.state(t))
}

func plainInfo(name string) module.Info {
	return module.Info{Name: name, New: func() module.Module { return &testMod{name: name} }}
}

func TestEnableDisableAtomicWhenTheSaveFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool // t is enabled before the failing call
		landed  bool // the failing write is applied anyway
	}{
		{"disable, write lost", true, false},
		{"disable, write landed", true, true},
		{"enable, write lost", false, false},
		{"enable, write landed", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFlakyBackend()
			m := newManager(t, b, plainInfo("t"))
			ctx := context.Background()
			var before []string
			if tc.enabled {
				_, err := m.Enable(ctx, "t", false)
				require.NoError(t, err)
				before = []string{"t"}
			}
			m.requireState(t, before...)

			b.kv.fail.Store(true)
			b.kv.landed.Store(tc.landed)
			var err error
			if tc.enabled {
				_, err = m.Disable(ctx, "t")
				require.ErrorContains(t, err, "module 't' is still enabled: cannot save the enabled module list")
			} else {
				_, err = m.Enable(ctx, "t", false)
				require.ErrorContains(t, err, "module 't' was not enabled: cannot save the enabled module list")
			}
			require.Equal(t, -int(syscall.ETIMEDOUT), objectformat.ErrnoOf(err), "the store's errno is kept")
			st := m.state(t)
			require.Equal(t, before, st.memory, "nothing changed")
			require.Equal(t, before, st.running, "nothing started or stopped")
			res := call(m, map[string]any{"prefix": "t ping"})
			if tc.enabled {
				require.Equal(t, "pong world", string(res.Stdout), "the module keeps serving")
			} else {
				require.Equal(t, -int(syscall.EOPNOTSUPP), res.Retval, res.Stderr)
			}

			// The store comes back: the manager writes its state again
			// (at once when the connection comes back), whatever the
			// failed write did.
			b.kv.fail.Store(false)
			b.Emit(backend.Event{Kind: backend.ConnectionChanged})
			require.Eventually(t, func() bool {
				m.saveMu.Lock()
				defer m.saveMu.Unlock()
				return !m.unsynced
			}, 5*time.Second, 5*time.Millisecond)
			m.requireState(t, before...)

			// And the change works now.
			if tc.enabled {
				_, err = m.Disable(ctx, "t")
				require.NoError(t, err)
				m.requireState(t)
			} else {
				_, err = m.Enable(ctx, "t", false)
				require.NoError(t, err)
				m.requireState(t, "t")
			}
		})
	}
}

// TestEnableDisableDoNotInterleave runs a disable while an enable of the
// same module is still starting it: the disable waits, and the module
// ends stopped and stored as disabled.
func TestEnableDisableDoNotInterleave(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var first atomic.Bool
	info := module.Info{Name: "t", New: func() module.Module {
		return &initMod{init: func() {
			if first.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
		}}
	}}
	m := newManager(t, backend.NewMemoryBackend(), info)
	ctx := context.Background()
	enableDone := make(chan error, 1)
	go func() { _, err := m.Enable(ctx, "t", false); enableDone <- err }()
	<-entered
	disableDone := make(chan error, 1)
	go func() { _, err := m.Disable(ctx, "t"); disableDone <- err }()
	// The disable must not complete while the enable is in the middle
	// of starting the module; give it the chance to.
	select {
	case err := <-disableDone:
		disableDone <- err
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-enableDone)
	require.NoError(t, <-disableDone)
	m.requireState(t)
}

// initMod runs a hook in Init.
type initMod struct{ init func() }

func (i *initMod) Init(*module.Handle) error { i.init(); return nil }

// TestEnableDisableChurn enables and disables two modules from many
// goroutines; memory, running modules and the store agree at the end.
func TestEnableDisableChurn(t *testing.T) {
	m := newManager(t, backend.NewMemoryBackend(), plainInfo("a"), plainInfo("b"))
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 40 {
				name := []string{"a", "b"}[r.IntN(2)]
				var err error
				if r.IntN(2) == 0 {
					_, err = m.Enable(ctx, name, false)
				} else {
					_, err = m.Disable(ctx, name)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := m.state(t)
	require.Equal(t, st.memory, st.running)
	require.Equal(t, st.memory, st.stored)
}

func TestStoredEnabledListIsReadLeniently(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    []string // enabled after start
		problem string   // "" for no health warning
	}{
		{raw: `["t","u"]`, want: []string{"t", "u"}},
		{raw: `null`},
		{raw: `[]`},
		{raw: `{bad`, problem: "not a JSON list of module names"},
		{raw: `["t","u"`, want: []string{"t", "u"}, problem: "not a JSON list of module names"},
		{raw: `["t", 1]`, want: []string{"t"}, problem: "not a JSON list of module names"},
		{raw: `"u"`, want: []string{"u"}, problem: "not a JSON list of module names"},
		{raw: `["t","../x","U"]`, want: []string{"t"}, problem: `not module names: "../x", "U"`},
		{raw: "\x00\xff[\"u\"]", want: []string{"u"}, problem: "not a JSON list of module names"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			b := backend.NewMemoryBackend()
			b.KVStore.Put(enabledKey, tc.raw)
			m := newManager(t, b, plainInfo("t"), plainInfo("u"), plainInfo("v"))
			st := m.state(t)
			want := tc.want
			if len(want) == 0 {
				want = nil
			}
			require.Equal(t, want, st.memory)
			require.Equal(t, want, st.running, "the modules that could be read are running")
			h := m.Health()
			c, raised := h.Checks[enabledCorruptCheck]
			if tc.problem == "" {
				require.False(t, raised, "%v", h.Checks)
				return
			}
			require.True(t, raised, "no %s: %v", enabledCorruptCheck, h.Checks)
			require.Equal(t, health.Warn, c.Severity)
			require.Equal(t, health.Warn, h.Status)
			require.Equal(t, "the stored list of enabled mgr modules is corrupt", c.Summary.Message)
			require.Contains(t, c.Detail[0].Message, fmt.Sprintf("%s = %q: ", enabledKey, tc.raw))
			require.Contains(t, c.Detail[0].Message, tc.problem)
			if len(tc.want) > 0 {
				require.Equal(t, "modules read from it: "+strings.Join(tc.want, ", "), c.Detail[1].Message)
			} else {
				require.Equal(t, "no module name could be read from it", c.Detail[1].Message)
			}

			// Any enable or disable writes the list again, even one that
			// changes nothing, and the warning goes.
			msg, err := m.Disable(context.Background(), "v")
			require.NoError(t, err)
			require.Equal(t, "module 'v' is already disabled", msg)
			require.NotContains(t, m.Health().Checks, enabledCorruptCheck)
			m.requireState(t, tc.want...)
		})
	}
}

func TestStoredEnabledListCorruptedWhileRunning(t *testing.T) {
	b := backend.NewMemoryBackend()
	m := newManager(t, b, plainInfo("t"))
	_, err := m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	require.NotContains(t, m.Health().Checks, enabledCorruptCheck)
	b.KVStore.Put(enabledKey, "{bad") // e.g. `ceph config-key set` on the cluster
	require.Contains(t, m.Health().Checks, enabledCorruptCheck)
	running, _ := m.Running("t")
	require.True(t, running)
	msg, err := m.Enable(context.Background(), "t", false)
	require.NoError(t, err)
	require.Equal(t, "module 't' is already enabled", msg)
	require.NotContains(t, m.Health().Checks, enabledCorruptCheck)
	m.requireState(t, "t")
}

func TestEnabledModuleNotCompiledIn(t *testing.T) {
	b := backend.NewMemoryBackend()
	b.KVStore.Put(enabledKey, `["gone","t"]`)
	m := newManager(t, b, plainInfo("t"), plainInfo("u"))
	ctx := context.Background()

	l := m.List()
	require.Equal(t, []string{"gone", "t"}, l.Enabled)
	require.Equal(t, []DisabledModule{{Name: "gone", CanRun: false, ErrorString: "not compiled into this daemon"}}, l.Unavailable)
	require.Equal(t, []DisabledModule{{Name: "u", CanRun: true}}, l.Disabled)
	h := m.Health()
	require.Equal(t, health.Warn, h.Status)
	dep := h.Checks["MGR_MODULE_DEPENDENCY"]
	require.Equal(t, "Module 'gone' has failed dependency: not compiled into this daemon", dep.Summary.Message)
	require.Equal(t, []health.Message{{Message: "Module 'gone' has failed dependency: not compiled into this daemon"}}, dep.Detail)
	var infos []string
	for _, mi := range m.Modules() {
		infos = append(infos, fmt.Sprintf("%s enabled=%v can_run=%v %s", mi.Name, mi.Enabled, mi.CanRun, mi.Why))
	}
	require.Equal(t, []string{"gone enabled=true can_run=false not compiled into this daemon", "t enabled=true can_run=true ", "u enabled=false can_run=true "}, infos)

	// It cannot be enabled (again), with or without --force, and the
	// error does not suggest --force.
	for _, force := range []bool{false, true} {
		_, err := m.Enable(ctx, "gone", force)
		require.EqualError(t, err, "all mgr daemons do not support module 'gone': it is not compiled into this daemon (compiled-in modules: t, u)")
		require.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	}
	// Other modules can still be enabled and disabled; the unavailable
	// one stays listed.
	_, err := m.Enable(ctx, "u", false)
	require.NoError(t, err)
	m.requireState(t, "gone", "t", "u")
	_, err = m.Disable(ctx, "u")
	require.NoError(t, err)

	// Disabling it clears it.
	msg, err := m.Disable(ctx, "gone")
	require.NoError(t, err)
	require.Empty(t, msg)
	l = m.List()
	require.Equal(t, []string{"t"}, l.Enabled)
	require.Empty(t, l.Unavailable)
	require.Equal(t, health.OK, m.Health().Status)
	m.requireState(t, "t")
	b2, _ := json.Marshal(l)
	require.NotContains(t, string(b2), "unavailable_modules", "left out when empty")
}

func FuzzParseEnabled(f *testing.F) {
	for _, s := range []string{`["hello","selftest"]`, `null`, `[]`, `{bad`, `["a","b"`, `["a",1,"B"]`, `"x"`, `["a\u0062"]`, "\xff\"a\"", `[` + strings.Repeat(`"a",`, 5) + `]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		names, problem := parseEnabled(raw)
		if len(names) > maxEnabledNames {
			t.Fatalf("%d names", len(names))
		}
		for _, n := range names {
			if !module.ValidName(n) {
				t.Fatalf("invalid name %q from %q", n, raw)
			}
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names %q not sorted and unique", names)
		}
		// What the manager writes back reads back the same, cleanly.
		b, _ := json.Marshal(names)
		again, p2 := parseEnabled(string(b))
		if p2 != "" || !slices.Equal(again, names) {
			t.Fatalf("%s reads back as %q, %q", b, again, p2)
		}
		// A clean list of valid names is read exactly.
		var list []string
		if json.Unmarshal([]byte(raw), &list) == nil {
			clean := true
			for _, n := range list {
				clean = clean && module.ValidName(n)
			}
			if clean && len(list) <= maxEnabledNames {
				want := slices.Compact(slices.Sorted(slices.Values(list)))
				if problem != "" || !slices.Equal(names, want) {
					t.Fatalf("%q: got %q, %q; want %q", raw, names, problem, want)
				}
			}
		}
	})
}
