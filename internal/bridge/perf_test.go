package bridge

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// fakePerfShim answers perf_counters (and get_all_perf_counters) as the
// shim does, from daemons' counters it is given; it records the "known"
// of each perf_counters call.
type fakePerfShim struct {
	mu      sync.Mutex
	version int                        // of every daemon's schema
	values  map[string][]uint64        // daemon -> its values
	reply   func(d map[string]any) any // rewrites a daemon of the reply (bad replies)
	known   []map[string]any
}

func (f *fakePerfShim) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// knownOf is the known tokens of the i-th perf_counters call, and how
// many there were.
func (f *fakePerfShim) knownOf(i int) (map[string]any, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.known) {
		return nil, len(f.known)
	}
	return f.known[i], len(f.known)
}

var fakePerfCounters = [][]any{
	{"osd.lat", "latency", "l", module.PerfCounterTime | module.PerfCounterLongRunAvg, 5, 0},
	{"osd.op_r", "reads", "", module.PerfCounterU64 | module.PerfCounterCounter, 5, 1},
}

func (f *fakePerfShim) handle(_ context.Context, op string, raw json.RawMessage) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "get_all_perf_counters":
		return map[string]any{"osd.0": map[string]any{
			"osd.op_r": map[string]any{"description": "reads", "type": 10, "priority": 5, "units": 1, "value": 3}}}, nil
	case "perf_counters":
		var args struct {
			Prio     int            `json:"prio_limit"`
			Services []string       `json:"services"`
			Known    map[string]any `json:"known"`
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, err
		}
		f.known = append(f.known, args.Known)
		var daemons []any
		for _, name := range []string{"osd.1", "osd.0"} {
			if typ, _, _ := strings.Cut(name, "."); f.values[name] == nil || args.Services != nil && !slices.Contains(args.Services, typ) {
				continue
			}
			token := name + "/" + strconv.Itoa(f.version)
			d := map[string]any{"name": name, "token": token, "values": f.values[name]}
			if args.Known[name] != token {
				d["counters"] = fakePerfCounters
			}
			if f.reply != nil {
				daemons = append(daemons, f.reply(d))
			} else {
				daemons = append(daemons, d)
			}
		}
		return map[string]any{"daemons": daemons}, nil
	}
	return nil, nil
}

// perfBackend is a mgrBackend whose one module's shim is f, with the
// given hello features.
func perfBackend(t *testing.T, f *fakePerfShim, features ...string) *mgrBackend {
	a, c := testutil.UnixPair(t)
	shim := newPeer(a, f.handle)
	goSide := newPeer(c, func(context.Context, string, json.RawMessage) (any, error) { return nil, nil })
	goSide.features = map[string]bool{}
	for _, feat := range features {
		goSide.features[feat] = true
	}
	go shim.run(context.Background())
	go goSide.run(context.Background())
	t.Cleanup(func() { shim.close(); goSide.close() })
	b := newMgrBackend("x")
	b.peers["m"] = goSide
	return b
}

func TestPerfCounters(t *testing.T) {
	ctx := context.Background()
	f := &fakePerfShim{version: 1, values: map[string][]uint64{"osd.0": {30, 3, 7}, "osd.1": {0, 0, 1}}}
	b := perfBackend(t, f, featurePerfCounters)

	first, err := b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.Equal(t, []string{"osd.0", "osd.1"}, []string{first[0].Daemon, first[1].Daemon}, "sorted by name")
	c := first[0].Counters
	require.Len(t, c, 2)
	assert.Equal(t, module.PerfCounterInfo{Path: "osd.lat", Description: "latency", Nick: "l", Type: 5, Priority: 5}, *c[0].PerfCounterInfo)
	assert.Equal(t, [2]uint64{30, 3}, [2]uint64{c[0].Value, c[0].Count}, "an average's value and count")
	assert.Equal(t, [2]uint64{7, 0}, [2]uint64{c[1].Value, c[1].Count})
	known, _ := f.knownOf(0)
	assert.Empty(t, known)

	// Known tokens: values only, the same PerfCounterInfos.
	f.set(func() { f.values["osd.0"] = []uint64{31, 4, 8} })
	second, err := b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	known, _ = f.knownOf(1)
	assert.Equal(t, map[string]any{"osd.0": "osd.0/1", "osd.1": "osd.1/1"}, known)
	assert.Same(t, first[0].Counters[1].PerfCounterInfo, second[0].Counters[1].PerfCounterInfo)
	assert.Equal(t, uint64(8), second[0].Counters[1].Value)

	// Another priority limit is cached apart; a daemon that goes is
	// forgotten.
	_, err = b.PerfCounters(ctx, module.PrioCritical, []string{"osd"})
	require.NoError(t, err)
	known, _ = f.knownOf(2)
	assert.Empty(t, known)
	f.set(func() { delete(f.values, "osd.1") })
	_, err = b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	_, err = b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	known, _ = f.knownOf(4)
	assert.Equal(t, map[string]any{"osd.0": "osd.0/1"}, known)

	// A call for other daemon types keeps the OSDs' counters.
	_, err = b.PerfCounters(ctx, module.PrioUseful, []string{"mon"})
	require.NoError(t, err)
	_, err = b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	known, n := f.knownOf(6)
	assert.Equal(t, map[string]any{"osd.0": "osd.0/1"}, known, "after %d calls", n)

	// A changed schema: new counters, new PerfCounterInfos.
	f.set(func() { f.version = 2 })
	third, err := b.PerfCounters(ctx, module.PrioUseful, []string{"osd"})
	require.NoError(t, err)
	assert.NotSame(t, first[0].Counters[1].PerfCounterInfo, third[0].Counters[1].PerfCounterInfo)
	assert.Equal(t, *first[0].Counters[1].PerfCounterInfo, *third[0].Counters[1].PerfCounterInfo)
}

// TestPerfCountersStaleToken: a reply without counters for a token this
// side does not have (another call replaced it) is asked again, without
// known tokens.
func TestPerfCountersStaleToken(t *testing.T) {
	f := &fakePerfShim{version: 1, values: map[string][]uint64{"osd.0": {1, 1, 2}}}
	b := perfBackend(t, f, featurePerfCounters)
	calls := 0
	f.set(func() {
		f.reply = func(d map[string]any) any {
			calls++
			if calls == 1 {
				delete(d, "counters") // as if this side knew the token
			}
			return d
		}
	})
	got, err := b.PerfCounters(context.Background(), module.PrioUseful, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, uint64(2), got[0].Counters[1].Value)
	_, n := f.knownOf(0)
	assert.Equal(t, 2, n)
}

func TestPerfCountersBadReplies(t *testing.T) {
	for name, rewrite := range map[string]func(d map[string]any) any{
		"too few values":  func(d map[string]any) any { d["values"] = []uint64{1, 2}; return d },
		"too many values": func(d map[string]any) any { d["values"] = []uint64{1, 2, 3, 4}; return d },
		"a short counter": func(d map[string]any) any { d["counters"] = [][]any{{"osd.x", "", "", 2, 5}}; return d },
		"a bad type":      func(d map[string]any) any { d["counters"] = [][]any{{"osd.x", "", "", "u64", 5, 0}}; return d },
		"not sorted": func(d map[string]any) any {
			d["counters"] = [][]any{fakePerfCounters[1], fakePerfCounters[0]}
			return d
		},
		"a negative value": func(d map[string]any) any { d["values"] = []int{1, -2, 3}; return d },
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakePerfShim{version: 1, values: map[string][]uint64{"osd.0": {1, 1, 2}}, reply: rewrite}
			_, err := perfBackend(t, f, featurePerfCounters).PerfCounters(context.Background(), module.PrioUseful, nil)
			require.Error(t, err)
			assert.Equal(t, -int(syscall.EIO), objectformat.ResultOf(err).Retval, err.Error())
		})
	}
}

// TestPerfCountersWithoutTheFeature: an older shim is asked
// get_all_perf_counters, converted.
func TestPerfCountersWithoutTheFeature(t *testing.T) {
	f := &fakePerfShim{}
	got, err := perfBackend(t, f).PerfCounters(context.Background(), module.PrioUseful, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "osd.op_r", got[0].Counters[0].Path)
	assert.Equal(t, uint64(3), got[0].Counters[0].Value)
	_, n := f.knownOf(0)
	assert.Zero(t, n)
}

// FuzzPerfReply: whatever a shim sends as perf_counters' daemons, apply
// returns PerfCounters' answer or an -EIO error, never panics, and
// every counter it answers has its schema entry.
func FuzzPerfReply(f *testing.F) {
	f.Add([]byte(`[{"name":"osd.0","token":"1/5","counters":[["osd.lat","l","",5,5,0],["osd.op","o","",10,5,1]],"values":[1,2,3]}]`))
	f.Add([]byte(`[{"name":"osd.0","token":"1/5","values":[1,2,3]}]`))
	f.Add([]byte(`[{"name":"osd.0","token":"2/5","values":[1]}]`))
	f.Add([]byte(`[{"name":"osd.0","token":"1/5","counters":[],"values":[]},{"name":"osd.0","token":"1/5","values":[]}]`))
	f.Add([]byte(`[{"name":"mon.a","token":"x","counters":[["b","","",4,5,0],["a","","",2,5,0]],"values":[1,1,1]}]`))
	f.Add([]byte(`[{"name":"osd.0","token":"1/5","counters":[["osd.lat","l","",5,5,0]],"values":[7]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var daemons []perfDaemon
		if json.Unmarshal(data, &daemons) != nil {
			return // the call answers -EIO before apply
		}
		c := &perfSchemas{entries: map[perfKey]*perfSchema{}}
		seed := []perfDaemon{{Name: "osd.0", Token: "1/5", Values: []uint64{1, 2, 3}, Counters: [][]json.RawMessage{
			{json.RawMessage(`"osd.lat"`), json.RawMessage(`""`), json.RawMessage(`""`), json.RawMessage(`5`), json.RawMessage(`5`), json.RawMessage(`0`)},
			{json.RawMessage(`"osd.op"`), json.RawMessage(`""`), json.RawMessage(`""`), json.RawMessage(`10`), json.RawMessage(`5`), json.RawMessage(`1`)},
		}}}
		if _, _, err := c.apply(5, []string{"osd"}, seed); err != nil {
			t.Fatal(err)
		}
		out, _, err := c.apply(5, []string{"osd", "mon"}, daemons)
		if err != nil {
			if r := objectformat.ResultOf(err); r.Retval != -int(syscall.EIO) {
				t.Fatalf("errno %d: %v", r.Retval, err)
			}
			return
		}
		for _, d := range out {
			for _, pc := range d.Counters {
				if pc.PerfCounterInfo == nil {
					t.Fatalf("%s: a counter without its schema entry", d.Daemon)
				}
			}
		}
	})
}
