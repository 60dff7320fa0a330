package modhost

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// nativeMod counts its ConfigNotify calls and keeps its handle.
type nativeMod struct {
	h     *module.Handle
	calls *atomic.Int32
}

func (n *nativeMod) Init(h *module.Handle) error      { n.h = h; return nil }
func (n *nativeMod) ConfigNotify(ctx context.Context) { n.calls.Add(1) }

func TestCephOptionsWithoutACluster(t *testing.T) {
	b := backend.NewMemoryBackend()
	var calls atomic.Int32
	mod := &nativeMod{calls: &calls}
	m := newManager(t, b, module.Info{Name: "native", New: func() module.Module { return mod },
		AlwaysOn: true, NativeOptions: []string{"mgr_stats_period"}})
	m.cfg.CephOptions = map[string]string{"run_dir": "/run/gomgr"}
	require.Eventually(t, func() bool { return mod.h != nil }, 5*time.Second, 5*time.Millisecond)
	ctx := context.Background()

	v, err := mod.h.CephOption(ctx, "mgr_stats_period")
	require.NoError(t, err)
	assert.Equal(t, int64(5), v, "Ceph's default")
	v, err = mod.h.CephOption(ctx, "admin_socket")
	require.NoError(t, err)
	assert.Equal(t, "/run/gomgr/ceph-mgr.x.asok", v, "the daemon's run_dir, expanded into the default")
	_, err = mod.h.CephOption(ctx, "no_such_option")
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	assert.ErrorContains(t, err, "option not found: no_such_option")
	v, err = mod.h.ForeignCephOption(ctx, "osd.0", "osd_max_object_size")
	require.NoError(t, err)
	assert.Equal(t, int64(128<<20), v)
	_, err = mod.h.ForeignCephOption(ctx, "", "osd_max_object_size")
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err))

	// A native option set in the configuration: its value, and the
	// module's ConfigNotify; another option does not notify it.
	require.NoError(t, b.ConfigStore.Set(ctx, "mgr_stats_period", "7"))
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	v, err = mod.h.CephOption(ctx, "mgr_stats_period")
	require.NoError(t, err)
	assert.Equal(t, int64(7), v)
	require.NoError(t, b.ConfigStore.Set(ctx, "mgr_tick_period", "3"))
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, int32(1), calls.Load(), "mgr_tick_period is not the module's native option")

	cfg, err := mod.h.Get(ctx, "config")
	require.NoError(t, err)
	assert.Equal(t, "7", cfg.(map[string]any)["mgr_stats_period"])
	assert.Equal(t, "mgr.x", cfg.(map[string]any)["name"])
	opts, err := mod.h.Get(ctx, "config_options")
	require.NoError(t, err)
	assert.Greater(t, len(opts.(map[string]any)["options"].([]any)), 1000)
}

func TestRegisterRefusesAnUnknownNativeOption(t *testing.T) {
	err := NewRegistry().Register(module.Info{Name: "n", New: func() module.Module { return &nativeMod{} },
		NativeOptions: []string{"mgr_stats_periodd"}})
	require.ErrorContains(t, err, `module n: NativeOptions: "mgr_stats_periodd" is not a Ceph option`)
}
