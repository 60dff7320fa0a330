package modhost

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
)

func TestLevelFromDebug(t *testing.T) {
	for debug, want := range map[int]slog.Level{-1: module.LevelCritical, 0: module.LevelCritical, 1: slog.LevelWarn, 2: slog.LevelInfo, 4: slog.LevelInfo, 5: slog.LevelDebug, 20: slog.LevelDebug} {
		require.Equal(t, want, LevelFromDebug(debug), "debug_mgr %d", debug)
	}
}

// TestModuleLogging: a module's log level follows its log_level option (or
// the daemon's debug level), and log_to_file moves its log to its own file.
func TestModuleLogging(t *testing.T) {
	var daemonLog testutil.SyncBuffer
	logDir := t.TempDir()
	b := backend.NewMemoryBackend()
	reg := NewRegistry()
	var h *module.Handle
	require.NoError(t, reg.Register(module.Info{Name: "chatty", New: func() module.Module { return &testMod{name: "chatty"} }}))
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: b, LogWriter: &daemonLog, LogDir: logDir, DebugLevel: 2})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	defer m.Close()
	_, err = m.Enable(context.Background(), "chatty", false)
	require.NoError(t, err)
	h = m.running["chatty"].handle

	h.Log().Debug("hidden at the default level")
	h.Log().Info("visible info")
	require.NotContains(t, daemonLog.String(), "hidden")
	require.Contains(t, daemonLog.String(), "visible info")
	require.Contains(t, daemonLog.String(), "module=chatty")

	ctx := context.Background()
	require.NoError(t, h.SetOption(ctx, "log_level", "debug"))
	require.Eventually(t, func() bool { return h.Log().Enabled(ctx, slog.LevelDebug) }, 2*time.Second, 5*time.Millisecond)
	h.Log().Debug("now debug shows")
	require.Contains(t, daemonLog.String(), "now debug shows")
	require.Error(t, h.SetOption(ctx, "log_level", "verbose"), "log_level is an enum")

	require.NoError(t, h.SetOption(ctx, "log_to_file", true))
	path := filepath.Join(logDir, "ceph-mgr.x.chatty.log")
	require.Eventually(t, func() bool { _, err := os.Stat(path); return err == nil }, 2*time.Second, 5*time.Millisecond)
	h.Log().Warn("to the file only")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), "to the file only")
	require.NotContains(t, daemonLog.String(), "to the file only")

	require.NoError(t, h.SetOption(ctx, "log_to_file", false))
	require.NoError(t, h.SetOption(ctx, "log_level", "error"))
	require.Eventually(t, func() bool { return !h.Log().Enabled(ctx, slog.LevelWarn) }, 2*time.Second, 5*time.Millisecond)
	h.Log().Warn("suppressed warning")
	h.Log().Error("an error")
	require.NotContains(t, daemonLog.String(), "suppressed warning")
	require.True(t, strings.Contains(daemonLog.String(), "an error"))
}

// clogBackend is a MemoryBackend with a cluster log of its own, as the
// attached backend has.
type clogBackend struct {
	*backend.MemoryBackend
	mu      sync.Mutex
	entries []string
}

func (c *clogBackend) ClusterLog(channel string, prio slog.Level, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, fmt.Sprintf("%s %v %s", channel, prio, msg))
}

func (c *clogBackend) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.entries)
}

// With a backend that has a cluster log, a module's ClusterLog and its
// log_to_cluster records reach it, and the daemon log keeps them too.
func TestClusterLogReachesTheBackendsClusterLog(t *testing.T) {
	var daemonLog testutil.SyncBuffer
	b := &clogBackend{MemoryBackend: backend.NewMemoryBackend()}
	reg := NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "chatty", New: func() module.Module { return &testMod{name: "chatty"} }}))
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: b, LogWriter: &daemonLog, DebugLevel: 2, Log: slog.New(slog.NewTextHandler(&daemonLog, nil))})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, m.Start(ctx))
	defer m.Close()
	_, err = m.Enable(ctx, "chatty", false)
	require.NoError(t, err)
	h := m.running["chatty"].handle

	h.ClusterLog("audit", slog.LevelWarn, "direct entry")
	assert.Equal(t, []string{"audit WARN direct entry"}, b.got())
	assert.Contains(t, daemonLog.String(), "direct entry")

	require.NoError(t, h.SetOption(ctx, "log_to_cluster", true))
	require.NoError(t, h.SetOption(ctx, "log_to_cluster_level", "warning"))
	require.Eventually(t, func() bool {
		h.Log().Error("teed record")
		return slices.ContainsFunc(b.got(), func(s string) bool { return strings.HasPrefix(s, "chatty ERROR teed record") })
	}, 5*time.Second, 20*time.Millisecond)
	h.Log().Error("teed once")
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(b.got(), func(s string) bool { return strings.HasPrefix(s, "chatty ERROR teed once") })
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, strings.Count(daemonLog.String(), "teed once"),
		"a log_to_cluster record is in the daemon log once (as the module's record):\n%s", daemonLog.String())
	n := len(b.got())
	h.Log().Info("below the level")
	assert.Len(t, b.got(), n, "an INFO record is below log_to_cluster_level warning")
}
