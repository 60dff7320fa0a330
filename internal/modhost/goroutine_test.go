package modhost

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// goMod starts background work with Handle.Go from Init.
type goMod struct {
	testMod
	work    func(ctx context.Context) error
	started bool
}

func (m *goMod) Init(h *module.Handle) error {
	m.h = h
	m.started = h.Go(m.work)
	return nil
}

// TestGoroutinePanicFailsTheModule: a panic in a goroutine started with
// Handle.Go fails the module (MGR_MODULE_ERROR, its commands -EIO) as one
// in Serve does, and the rest of the daemon runs on; with a plain `go`
// statement it killed the whole daemon. An error it returns fails the
// module too; the goroutine's ctx ends when the module stops, which waits
// for it.
func TestGoroutinePanicFailsTheModule(t *testing.T) {
	trigger := make(chan struct{})
	var returned atomic.Bool
	var panickies atomic.Int32 // only the first panicky instance panics
	f := newFixture(t, module.Info{Name: "panicky", New: func() module.Module {
		return &goMod{testMod: testMod{name: "panicky"}, work: func(ctx context.Context) error {
			first := panickies.Add(1) == 1 // of the instances that run
			select {
			case <-trigger:
				if first {
					panic("background boom")
				}
				<-ctx.Done()
				return nil
			case <-ctx.Done():
				return nil
			}
		}}
	}}, module.Info{Name: "erring", New: func() module.Module {
		return &goMod{testMod: testMod{name: "erring"}, work: func(context.Context) error { return errors.New("lost the thread") }}
	}}, module.Info{Name: "polite", New: func() module.Module {
		return &goMod{testMod: testMod{name: "polite"}, work: func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // cleaning up
			returned.Store(true)
			return ctx.Err()
		}}
	}},
	)
	ctx := context.Background()
	for _, name := range []string{"panicky", "polite"} {
		_, err := f.m.Enable(ctx, name, false)
		require.NoError(t, err)
	}
	close(trigger)
	require.Eventually(t, func() bool { _, why := f.m.Running("panicky"); return why == "background boom" }, 5*time.Second, 5*time.Millisecond)
	res := call(f.m, map[string]any{"prefix": "panicky ping"})
	require.Equal(t, -int(syscall.EIO), res.Retval, res.Stderr)
	require.Equal(t, "Module 'panicky' has failed: background boom", f.m.Health().Checks["MGR_MODULE_ERROR"].Summary.Message)
	require.Equal(t, "pong world", string(call(f.m, map[string]any{"prefix": "polite ping"}).Stdout), "the other modules run on")

	_, err := f.m.Enable(ctx, "erring", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, why := f.m.Running("erring"); return why == "lost the thread" }, 5*time.Second, 5*time.Millisecond)

	// Stopping a module ends its goroutines' ctx and waits for them.
	_, err = f.m.Disable(ctx, "polite")
	require.NoError(t, err)
	require.True(t, returned.Load(), "disable returned before the module's goroutine did")

	// Disabling a failed module clears its failure; enabling it again
	// starts it afresh.
	_, err = f.m.Disable(ctx, "panicky")
	require.NoError(t, err)
	_, err = f.m.Enable(ctx, "panicky", false)
	require.NoError(t, err)
	running, why := f.m.Running("panicky")
	require.True(t, running)
	require.Empty(t, why)
}

// TestGoAfterStop: once a module is stopping, Go runs nothing and says so.
func TestGoAfterStop(t *testing.T) {
	f := newFixture(t, module.Info{Name: "t", New: func() module.Module { return &testMod{} }})
	h := f.enable("t").h
	_, err := f.m.Disable(context.Background(), "t")
	require.NoError(t, err)
	ran := make(chan struct{}, 1)
	require.False(t, h.Go(func(context.Context) error { ran <- struct{}{}; return nil }))
	select {
	case <-ran:
		t.Fatal("Go ran work for a stopped module")
	case <-time.After(50 * time.Millisecond):
	}
}
