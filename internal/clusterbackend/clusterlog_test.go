package clusterbackend

import (
	"fmt"
	"log/slog"
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
	// Entries queued together go in one command, one per line.
	want := "one\n[audit WRN] two\n[cluster ERR] three"
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return strings.Join(f.clog, "\n") == want
	}, 5*time.Second, 10*time.Millisecond)
}

// What is queued when the backend closes is still sent.
func TestClusterLogFlushesAtClose(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	for i := range 50 {
		b.ClusterLog("cluster", slog.LevelInfo, fmt.Sprintf("entry %d", i))
	}
	require.NoError(t, b.Close())
	f.mu.Lock()
	defer f.mu.Unlock()
	got := strings.Split(strings.Join(f.clog, "\n"), "\n")
	require.Len(t, got, 50)
	assert.Equal(t, "entry 49", got[49])
}

// A batch never exceeds the bound of one entry.
func TestClusterLogBatchBound(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	f.mu.Lock() // hold the sender back until the queue is full
	for range clusterLogQueue {
		b.ClusterLog("cluster", slog.LevelInfo, strings.Repeat("x", 1000))
	}
	f.mu.Unlock()
	require.NoError(t, b.Close())
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, text := range f.clog {
		assert.LessOrEqual(t, len(text), clusterLogMaxText)
		n += strings.Count(text, "\n") + 1
	}
	assert.Equal(t, clusterLogQueue, n, "every entry sent once")
}

// A module that logs faster than the monitors answer is never blocked:
// past the queue's bound entries are dropped, and Close still returns.
func TestClusterLogNeverBlocks(t *testing.T) {
	f := newFakeCluster()
	b, _ := newTestBackend(t, f)
	f.mu.Lock()
	f.down, f.downDelay = true, 2*time.Second
	f.mu.Unlock()
	// The sender is held up in a slow monitor command before the flood
	// (else it could batch the flood away as fast as it arrives).
	b.ClusterLog("cluster", slog.LevelInfo, "first")
	require.Eventually(t, func() bool { return f.count("log") > 0 }, 5*time.Second, time.Millisecond)
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
