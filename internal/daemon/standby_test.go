package daemon

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// webby publishes a URI when active; its standby variant reads the active
// daemon's URI and the module's options, as a dashboard-style redirector
// would.
type webby struct{ h *module.Handle }

func (w *webby) Init(h *module.Handle) error {
	w.h = h
	h.SetURI("http://active.example:8080/")
	return nil
}

type webbyPokeArgs struct {
	clicommand.Read `prefix:"webby poke" desc:"poke the active daemon's webby"`
}

func (w *webby) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(context.Context, *webbyPokeArgs) objectformat.Result { return objectformat.OK("poked") })}
}

type webbyStandby struct {
	h    *module.StandbyHandle
	mu   sync.Mutex
	seen []string
}

func (s *webbyStandby) InitStandby(h *module.StandbyHandle) error { s.h = h; return nil }

func (s *webbyStandby) Serve(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		place, _ := s.h.Option("place")
		s.mu.Lock()
		s.seen = append(s.seen, s.h.ActiveURI()+" "+place.(string))
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *webbyStandby) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return ""
	}
	return s.seen[len(s.seen)-1]
}

func startInProcess(t *testing.T, ctx context.Context, id, data, run string, reg *modhost.Registry) (*Daemon, <-chan error) {
	t.Helper()
	d, _, done := runInProcess(t, ctx, Options{ID: id, DataDir: data, RunDir: run, Registry: reg, StandbyPoll: 20 * time.Millisecond})
	return d, done
}

// TestStandbyModules: a standby daemon runs standby variants, which see the
// active daemon's URI and the module options.
func TestStandbyModules(t *testing.T) {
	standby := &webbyStandby{}
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "webby", AlwaysOn: true, New: func() module.Module { return &webby{} },
		Options: []module.Option{{Name: "place", Default: "home"}},
		Standby: func() module.StandbyModule { return standby }}))
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	ctxX, stopX := context.WithCancel(context.Background())
	x, doneX := startInProcess(t, ctxX, "x", data, dir, reg)
	require.Eventually(t, func() bool { return x.Role() == RoleActive }, 5*time.Second, 10*time.Millisecond)
	res := x.Command(context.Background(), map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/webby/place", "value": "away"}, nil, "rw")
	require.Zero(t, res.Retval, res.Stderr)

	ctxY, stopY := context.WithCancel(context.Background())
	defer stopY()
	y, doneY := startInProcess(t, ctxY, "y", data, dir, reg)
	require.Eventually(t, func() bool { return y.Role() == RoleStandby }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return standby.last() == "http://active.example:8080/ away" }, 5*time.Second, 10*time.Millisecond,
		"the standby module sees the active URI and the options; last saw %q", standby.last())
	res = y.Command(context.Background(), map[string]any{"prefix": "mgr module ls"}, nil, "rw")
	require.Equal(t, -11, res.Retval, "standbys refuse commands: %s", res.Stderr)
	require.Equal(t, "mgr.y is a standby and cannot run 'mgr module ls'; the active daemon is mgr.x (admin socket "+x.AsokPath()+", api "+x.APIPath()+")", res.Stderr)
	res = y.Command(context.Background(), map[string]any{"prefix": "webby poke"}, nil, "rw")
	require.Equal(t, -11, res.Retval, "a module's command is the active daemon's: %s", res.Stderr)
	res = y.Command(context.Background(), map[string]any{"prefix": "config-key get k"}, nil, "rw")
	require.Equal(t, -11, res.Retval, "a built-in command followed by arguments (how mgrctl asks): %s", res.Stderr)
	// A command no daemon runs is not worth retrying: -EINVAL, as the
	// active daemon answers it.
	res = y.Command(context.Background(), map[string]any{"prefix": "no such thing"}, nil, "rw")
	want := x.Command(context.Background(), map[string]any{"prefix": "no such thing"}, nil, "rw")
	require.Equal(t, -22, want.Retval, want.Stderr)
	require.Equal(t, [2]any{want.Retval, want.Stderr}, [2]any{res.Retval, res.Stderr})

	stopX()
	require.NoError(t, <-doneX)
	require.Eventually(t, func() bool { return y.Role() == RoleActive }, 5*time.Second, 10*time.Millisecond)
	res = y.Command(context.Background(), map[string]any{"prefix": "mgr services"}, nil, "rw")
	require.Equal(t, "{\n  \"webby\": \"http://active.example:8080/\"\n}", string(res.Stdout))
	stopY()
	require.NoError(t, <-doneY)
}
