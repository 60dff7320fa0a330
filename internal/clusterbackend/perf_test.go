package clusterbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/perfstate"
)

// osdPerf answers an OSD's perf commands: one counter, one average and a
// histogram, the counter one more at every dump; every OSD answers, up
// or not.
type osdPerf struct {
	mu      sync.Mutex
	dumps   int
	schemas int
	added   bool // a counter "new.c" appeared (the schema then has op_r and it only)
}

func (p *osdPerf) reply(_ int, cmd map[string]any) ([]byte, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch cmd["prefix"] {
	case "perf schema":
		p.schemas++
		if p.added {
			return []byte(`{"osd": {"op_r": {"type": 10, "description": "Client read operations", "nick": "", "priority": 5, "units": "none"}},
			  "new": {"c": {"type": 10, "description": "A new counter", "nick": "", "priority": 5, "units": "none"}}}`), "", nil
		}
		return []byte(`{"osd": {"op_r": {"type": 10, "description": "Client read operations", "nick": "", "priority": 5, "units": "none"},
		  "op_latency": {"type": 5, "description": "Latency", "nick": "l", "priority": 9, "units": "none"},
		  "debug_only": {"type": 2, "description": "x", "nick": "", "priority": 0, "units": "none"}}}`), "", nil
	case "perf histogram schema":
		return []byte(`{"osd": {"op_r_hist": {"type": 26, "description": "Histogram", "nick": "", "priority": 5, "units": "none"}}}`), "", nil
	case "perf dump":
		p.dumps++
		extra := ""
		if p.added {
			extra = `, "new": {"c": 1}`
		}
		return []byte(fmt.Sprintf(`{"osd": {"op_r": %d, "op_latency": {"avgcount": %d, "sum": 0.%09d, "avgtime": 0.0}, "debug_only": 1}%s}`,
			p.dumps, p.dumps, p.dumps, extra)), "", nil
	}
	return nil, "unknown command", fail(syscall.EINVAL)
}

func TestCollectsTheOSDsCounters(t *testing.T) {
	f := newFakeCluster()
	perf := &osdPerf{}
	f.osds = []any{map[string]any{"osd": 0, "up": 1}, map[string]any{"osd": 1, "up": 0}}
	f.osdReply = perf.reply
	b, err := New(context.Background(), f.conn(), Options{ID: "x", Hostname: "h1", Log: testLog(t),
		PollInterval: 10 * time.Millisecond, OpTimeout: time.Second, PerfPeriod: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })

	series := func(path string) []any { return b.CounterSeries("osd", "0", path, false)[path].([]any) }
	require.Eventually(t, func() bool { return len(series("osd.op_r")) == perfstate.HistoryLen },
		10*time.Second, 5*time.Millisecond, "the history fills up to its bound")
	time.Sleep(50 * time.Millisecond)
	s := series("osd.op_r")
	require.Len(t, s, perfstate.HistoryLen, "and stays there")
	for i := 1; i < len(s); i++ {
		prev, cur := s[i-1].([]any), s[i].([]any)
		require.Equal(t, prev[1].(int64)+1, cur[1].(int64), "one sample a round, oldest first: %v", s)
		require.GreaterOrEqual(t, cur[0].(float64), prev[0].(float64))
	}
	latest := b.CounterSeries("osd", "0", "osd.op_latency", true)["osd.op_latency"].([]any)
	require.Len(t, latest, 3, "an average is [t, sum, count]")
	require.Equal(t, latest[1], latest[2], "the sum in nanoseconds: %v", latest)
	require.Equal(t, []any{}, b.CounterSeries("osd", "1", "osd.op_r", false)["osd.op_r"], "a down OSD is not asked")

	schema := b.PerfSchema("", "")
	require.Len(t, schema, 1, "%v", schema)
	counters := schema["osd.0"].(map[string]any)
	require.ElementsMatch(t, []string{"osd.op_r", "osd.op_latency", "osd.op_r_hist"}, keysOf(counters),
		"the histograms included, below mgr_stats_threshold left out")
	perf.mu.Lock()
	require.Equal(t, 1, perf.schemas, "the schema is read once a minute, not every round")
	perf.mu.Unlock()

	// A counter that appears is declared at the next round, not at the
	// next schemaRefresh (a minute, longer than the wait).
	perf.mu.Lock()
	perf.added = true
	perf.mu.Unlock()
	require.Eventually(t, func() bool { _, ok := b.PerfSchema("osd", "0")["osd.0"].(map[string]any)["new.c"]; return ok },
		10*time.Second, 5*time.Millisecond)
	require.NotEmpty(t, series("new.c"), "sampled from then on")

	// An OSD that leaves the map is forgotten.
	f.mu.Lock()
	f.osds = []any{map[string]any{"osd": 1, "up": 0}}
	f.osdEpoch++
	f.mu.Unlock()
	require.Eventually(t, func() bool { return len(b.PerfSchema("osd", "")) == 0 }, 10*time.Second, 5*time.Millisecond)
}

// mdsConn is a fakeConn with an MDS client: mds.a answers the perf
// commands as an OSD does.
type mdsConn struct {
	*fakeConn
	perf *osdPerf
}

func (c *mdsConn) MDSCommand(spec string, cmd, _ []byte) ([]byte, string, error) {
	if spec != "a" {
		return nil, "", fail(syscall.ENOENT)
	}
	var m map[string]any
	_ = json.Unmarshal(cmd, &m)
	return c.perf.reply(0, m)
}

func TestCollectsTheMDSsCounters(t *testing.T) {
	f := newFakeCluster()
	f.fsMap = map[string]any{"epoch": 3, "filesystems": []any{map[string]any{"mdsmap": map[string]any{"info": map[string]any{
		"gid_4100": map[string]any{"name": "a", "state": "up:active"}}}}},
		"standbys": []any{map[string]any{"name": "b", "state": "up:standby"}}}
	perf := &osdPerf{}
	b, err := New(context.Background(), &mdsConn{fakeConn: f.conn(), perf: perf}, Options{ID: "x", Hostname: "h1", Log: testLog(t),
		PollInterval: 10 * time.Millisecond, OpTimeout: time.Second, PerfPeriod: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.Eventually(t, func() bool { return len(b.CounterSeries("mds", "a", "osd.op_r", false)["osd.op_r"].([]any)) >= 2 },
		10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"mds.a"}, keysOf(b.PerfSchema("mds", "")), "mds.b does not answer")
	require.Equal(t, []string{"a", "b"}, mdsNames(f.fsMap))
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
