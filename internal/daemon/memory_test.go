package daemon

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/stretchr/testify/require"
)

// TestLargeInputReleasesMemory: once a command whose input is large
// completes, the daemon hands the memory it left behind back to the OS
// (a forced collection and scavenge) instead of keeping it at its peak;
// a command with a small input does not pay for one.
func TestLargeInputReleasesMemory(t *testing.T) {
	d := startDaemon(t, Options{})
	c := api.NewClient(d.APIPath())
	defer c.Close()
	ctx := context.Background()
	set := func(n int) {
		t.Helper()
		res, err := c.Command(ctx, map[string]any{"prefix": "config-key set", "key": "big"}, bytes.Repeat([]byte("x"), n))
		require.NoError(t, err)
		require.Zero(t, res.Retval, res.Stderr)
	}
	set(largeInput - 1)
	require.False(t, d.release.pending.Load(), "a smaller input schedules no release")
	require.Zero(t, d.release.runs.Load())

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	set(largeInput)
	require.Eventually(t, func() bool { return d.release.runs.Load() == 1 }, 5*time.Second, 5*time.Millisecond,
		"a release follows the command with a large input")
	runtime.ReadMemStats(&after)
	require.Greater(t, after.NumForcedGC, before.NumForcedGC, "the release collects")
	require.False(t, d.release.pending.Load())
}
