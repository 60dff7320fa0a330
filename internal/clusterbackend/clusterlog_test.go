package clusterbackend

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterLogText(t *testing.T) {
	for _, tc := range []struct {
		channel string
		prio    slog.Level
		want    string
	}{
		{"cluster", slog.LevelInfo, "m"},
		{"", slog.LevelInfo, "m"},
		{"cluster", slog.LevelWarn, "[cluster WRN] m"},
		{"audit", slog.LevelInfo, "[audit INF] m"},
		{"audit", slog.LevelDebug, "[audit DBG] m"},
		{"cephadm", slog.LevelError, "[cephadm ERR] m"},
		{"cephadm", slog.Level(12), "[cephadm ERR] m"},
	} {
		assert.Equal(t, tc.want, clusterLogText(tc.channel, tc.prio, "m"), "%s %v", tc.channel, tc.prio)
	}
	long := clusterLogText("cluster", slog.LevelInfo, strings.Repeat("é", clusterLogMaxText))
	assert.LessOrEqual(t, len(long), clusterLogMaxText)
	assert.True(t, utf8.ValidString(long), "cut on a rune boundary")
	assert.True(t, strings.HasSuffix(long, " [... cut: longer than 64 KiB]"))
}

func TestClusterLogSendsInOrderThroughTheMonitors(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	b.ClusterLog("cluster", slog.LevelInfo, "one")
	b.ClusterLog("audit", slog.LevelWarn, "two")
	b.ClusterLog("cluster", slog.LevelError, "three")
	want := []string{"one", "[audit WRN] two", "[cluster ERR] three"}
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Equal(f.clog, want)
	}, 5*time.Second, 10*time.Millisecond)
}

// A module that logs faster than the monitors answer is never blocked:
// past the queue's bound entries are dropped, and Close still returns.
func TestClusterLogNeverBlocks(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	f.mu.Lock()
	f.down, f.downDelay = true, 50*time.Millisecond
	f.mu.Unlock()
	start := time.Now()
	for range 10 * clusterLogQueue {
		b.ClusterLog("cluster", slog.LevelInfo, "flood")
	}
	assert.Less(t, time.Since(start), 2*time.Second, "ClusterLog waited for the monitors")
	b.clog.mu.Lock()
	dropped := b.clog.lost
	b.clog.mu.Unlock()
	assert.GreaterOrEqual(t, dropped, 8*clusterLogQueue)
	done := make(chan struct{})
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung behind queued cluster log entries")
	}
}
