package modhost

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// perfBackend is a MemoryBackend with the OSD perf queries of the
// active ceph-mgr, as the bridge has them.
type perfBackend struct {
	*backend.MemoryBackend
	mu         sync.Mutex
	next       int
	queries    map[int]string // id -> module
	failRemove bool
}

func (b *perfBackend) AddOSDPerfQuery(_ context.Context, mod string, _ module.OSDPerfQuery) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.queries[b.next] = mod
	return b.next, nil
}

func (b *perfBackend) OSDPerfCounters(_ context.Context, _ string, id int) (module.OSDPerfCounters, error) {
	return module.OSDPerfCounters{Counters: []module.OSDPerfGroup{{K: [][]string{{"1"}}, C: [][2]uint64{{uint64(id), 0}}}}}, nil
}

func (b *perfBackend) RemoveOSDPerfQuery(_ context.Context, _ string, id int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failRemove {
		return objectformat.NewErrorResponseCode("no such query", -int(syscall.ENOENT))
	}
	delete(b.queries, id)
	return nil
}

func (b *perfBackend) left() map[int]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[int]string{}
	for k, v := range b.queries {
		out[k] = v
	}
	return out
}

var testPerfQuery = module.OSDPerfQuery{
	KeyDescriptor:                 []module.OSDPerfSubKey{{Type: "pool_id", Regex: "^(.*)$"}},
	PerformanceCounterDescriptors: []string{"write_ops"},
}

func TestOSDPerfQueriesUnsupported(t *testing.T) {
	f := newFixture(t, plainInfo("t"))
	mod := f.enable("t")
	ctx := context.Background()
	_, err := mod.h.AddOSDPerfQuery(ctx, testPerfQuery)
	assert.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err))
	assert.ErrorContains(t, err, "OSD perf queries need the active ceph-mgr: run the module bridged")
	_, err = mod.h.GetOSDPerfCounters(ctx, 1)
	assert.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(err))
	assert.Equal(t, -int(syscall.EOPNOTSUPP), objectformat.ErrnoOf(mod.h.RemoveOSDPerfQuery(ctx, 1)))
}

func TestOSDPerfQueriesRemovedOnStop(t *testing.T) {
	b := &perfBackend{MemoryBackend: backend.NewMemoryBackend(), queries: map[int]string{}}
	var mu sync.Mutex
	handles := map[string]*module.Handle{}
	info := func(name string) module.Info {
		return module.Info{Name: name, New: func() module.Module {
			return &handleMod{init: func(h *module.Handle) { mu.Lock(); handles[name] = h; mu.Unlock() }}
		}}
	}
	m := newManager(t, b, info("a"), info("b"))
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		_, err := m.Enable(ctx, n, false)
		require.NoError(t, err)
	}
	get := func(n string) *module.Handle {
		var h *module.Handle
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); h = handles[n]; return h != nil }, 5*time.Second, 5*time.Millisecond)
		return h
	}
	ha, hb := get("a"), get("b")

	bad := testPerfQuery
	bad.PerformanceCounterDescriptors = []string{"nope"}
	_, err := ha.AddOSDPerfQuery(ctx, bad)
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err))
	_, err = ha.AddOSDPerfQuery(ctx, module.OSDPerfQuery{PerformanceCounterDescriptors: []string{"ops"}})
	assert.Equal(t, -int(syscall.EINVAL), objectformat.ErrnoOf(err))

	a1, err := ha.AddOSDPerfQuery(ctx, testPerfQuery)
	require.NoError(t, err)
	a2, err := ha.AddOSDPerfQuery(ctx, testPerfQuery)
	require.NoError(t, err)
	b1, err := hb.AddOSDPerfQuery(ctx, testPerfQuery)
	require.NoError(t, err)
	c, err := ha.GetOSDPerfCounters(ctx, a1)
	require.NoError(t, err)
	assert.Equal(t, [][2]uint64{{uint64(a1), 0}}, c.Counters[0].C)
	// Another module's query is not this one's to read or remove.
	_, err = ha.GetOSDPerfCounters(ctx, b1)
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err))
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(ha.RemoveOSDPerfQuery(ctx, b1)))
	require.NoError(t, ha.RemoveOSDPerfQuery(ctx, a2))
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(ha.RemoveOSDPerfQuery(ctx, a2)), "removed once")
	assert.Equal(t, map[int]string{a1: "a", b1: "b"}, b.left())
	// A removal that fails (the mgr dropped it already) forgets the id.
	a3, err := ha.AddOSDPerfQuery(ctx, testPerfQuery)
	require.NoError(t, err)
	b.mu.Lock()
	b.failRemove = true
	b.mu.Unlock()
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(ha.RemoveOSDPerfQuery(ctx, a3)))
	b.mu.Lock()
	b.failRemove = false
	delete(b.queries, a3)
	b.mu.Unlock()
	_, err = ha.GetOSDPerfCounters(ctx, a3)
	assert.Equal(t, -int(syscall.ENOENT), objectformat.ErrnoOf(err), "no longer the module's")

	// Stopping a module removes the queries it left, and only those.
	_, err = m.Disable(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, map[int]string{b1: "b"}, b.left())
	_, err = ha.AddOSDPerfQuery(ctx, testPerfQuery)
	assert.Equal(t, -int(syscall.ESHUTDOWN), objectformat.ErrnoOf(err), "a stopped module adds none")
	m.Close()
	assert.Empty(t, b.left(), "closing the daemon removes every module's")
}

// handleMod gives its handle to a hook in Init.
type handleMod struct{ init func(*module.Handle) }

func (i *handleMod) Init(h *module.Handle) error { i.init(h); return nil }
