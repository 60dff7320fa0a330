package modhost

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type rvMod struct {
	shut  *atomic.Int32
	block bool
}

func (m *rvMod) Init(*module.Handle) error { return nil }
func (m *rvMod) Shutdown(ctx context.Context) error {
	m.shut.Add(1)
	if m.block {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

type rvPart struct {
	initErr error
	inits   *atomic.Int32
	shut    *atomic.Int32
}

func (p *rvPart) Init(*module.Handle) error      { p.inits.Add(1); return p.initErr }
func (p *rvPart) Shutdown(context.Context) error { p.shut.Add(1); return nil }

type rvMixin struct {
	initErr     error
	inits, shut *atomic.Int32
}

func (x rvMixin) Options() []module.Option { return nil }
func (x rvMixin) New() any                 { return &rvPart{initErr: x.initErr, inits: x.inits, shut: x.shut} }

// A part's Init fails after the module's Init and an earlier part's Init
// succeeded: both are shut down (review finding).
func TestFailedPartInitShutsDownWhatWasInitialised(t *testing.T) {
	var modShut, okInits, okShut, badInits, badShut atomic.Int32
	info := module.Info{Name: "mx", New: func() module.Module { return &rvMod{shut: &modShut} },
		Mixins: []module.Mixin{rvMixin{inits: &okInits, shut: &okShut}, rvMixin{initErr: errors.New("nope"), inits: &badInits, shut: &badShut}}}
	m := newManager(t, backend.NewMemoryBackend(), info)
	_, err := m.Enable(context.Background(), "mx", false)
	require.Error(t, err)
	require.ErrorContains(t, err, "nope")
	require.Equal(t, int32(1), okInits.Load())
	require.Equal(t, int32(1), okShut.Load(), "the initialised first part was never shut down")
	require.Equal(t, int32(1), modShut.Load(), "the initialised module was never shut down")
}

// The module's Shutdown overruns the deadline: its parts are still shut
// down (an eval part holds a worker process) (review finding).
func TestPartsShutDownWhenTheModuleOverruns(t *testing.T) {
	var modShut, inits, shut atomic.Int32
	info := module.Info{Name: "mx", New: func() module.Module { return &rvMod{shut: &modShut, block: true} },
		Mixins: []module.Mixin{rvMixin{inits: &inits, shut: &shut}}}
	reg := NewRegistry()
	require.NoError(t, reg.Register(info))
	m, err := NewManager(Config{MgrID: "x", Registry: reg, Backend: backend.NewMemoryBackend(), ShutdownTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	defer m.Close()
	_, err = m.Enable(context.Background(), "mx", false)
	require.NoError(t, err)
	_, err = m.Disable(context.Background(), "mx")
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, int32(1), shut.Load(), "the part (e.g. evalcmd's session) was never shut down")
}

// pingMixin adds the command "dup ping" and the option "shared".
type pingMixin struct{}

func (pingMixin) Options() []module.Option {
	return []module.Option{{Name: "shared", Type: module.Int}}
}
func (pingMixin) New() any { return &pingPart{} }

type pingPart struct{}

func (*pingPart) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Legacy("dup ping", "ping", "r", objectformat.HandlerFunc(
		func(context.Context, *objectformat.Request) objectformat.Result { return objectformat.OK("pong") }))}
}

type otherMixin struct{}

func (otherMixin) Options() []module.Option { return []module.Option{{Name: "shared"}} }
func (otherMixin) New() any                 { return struct{}{} }

// pingMod has the command "dup ping" of its own.
type pingMod struct{ pingPart }

func (*pingMod) Init(*module.Handle) error { return nil }

// valueHooks has a Serve with a pointer receiver but is returned by value.
type valueHooks struct{}

func (valueHooks) Init(*module.Handle) error    { return nil }
func (*valueHooks) Serve(context.Context) error { return nil }

// TestRegisterChecksMixinsAndReceivers: what would stop the daemon or be
// silently ignored is refused at Register (review findings).
func TestRegisterChecksMixinsAndReceivers(t *testing.T) {
	err := NewRegistry().Register(module.Info{Name: "dup", New: func() module.Module { return &pingMod{} }, Mixins: []module.Mixin{pingMixin{}}})
	require.EqualError(t, err, `module dup: command "dup ping" is declared twice (by the module and a mixin, or by two mixins)`)

	err = NewRegistry().Register(module.Info{Name: "two", New: func() module.Module { return &rvMod{} }, Mixins: []module.Mixin{pingMixin{}, otherMixin{}}})
	require.ErrorContains(t, err, `module two: option "shared" is declared by two mixins`)
	require.NoError(t, NewRegistry().Register(module.Info{Name: "two", New: func() module.Module { return &rvMod{} },
		Options: []module.Option{{Name: "shared"}}, Mixins: []module.Mixin{pingMixin{}, otherMixin{}}}), "the module's own declaration decides")

	err = NewRegistry().Register(module.Info{Name: "byvalue", New: func() module.Module { return valueHooks{} }})
	require.EqualError(t, err, "module byvalue: New returns a modhost.valueHooks, but its Server methods have pointer receivers, so the daemon would never call them: return a *modhost.valueHooks")
}
