package daemon

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/modhost"
	_ "github.com/gomgr/gomgr/modules/hello"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// panicky panics wherever it is asked to: in a handler, in Notify, in
// Serve.
type panicky struct {
	h          *module.Handle
	servePanic chan struct{}
}

func (p *panicky) Init(h *module.Handle) error { p.h = h; return nil }

type panicHandlerArgs struct {
	clicommand.Write `prefix:"panicky handler"`
}
type panicNotifyArgs struct {
	clicommand.Write `prefix:"panicky notify"`
}
type panicServeArgs struct {
	clicommand.Write `prefix:"panicky serve"`
}

func (p *panicky) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *panicHandlerArgs) objectformat.Result { panic("handler boom") }),
		clicommand.Func(func(ctx context.Context, _ *panicNotifyArgs) objectformat.Result {
			// The completion of this command triggers a "command"
			// notification, and Notify panics.
			p.h.SendCommand(context.Background(), module.Target{Type: "mon"}, map[string]any{"prefix": "config-key ls"}, nil, "boom")
			return objectformat.OK("sent")
		}),
		clicommand.Func(func(context.Context, *panicServeArgs) objectformat.Result {
			close(p.servePanic)
			return objectformat.OK("armed")
		}),
	}
}

func (p *panicky) Notify(context.Context, module.Notification) { panic("notify boom") }

func (p *panicky) Serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-p.servePanic:
		panic("serve boom")
	}
}

// TestModulePanicsDoNotHurtOthers: a module that panics in a handler, in
// notify and in serve leaves the daemon and the other modules serving.
func TestModulePanicsDoNotHurtOthers(t *testing.T) {
	reg := modhost.NewRegistry()
	helloInfo, ok := modhost.Default().Lookup("hello")
	require.True(t, ok, "modules/hello registers itself")
	require.NoError(t, reg.Register(helloInfo))
	require.NoError(t, reg.Register(module.Info{Name: "panicky", New: func() module.Module { return &panicky{servePanic: make(chan struct{})} },
		NotifyTypes: []module.NotifyType{module.NotifyCommand}}))

	ctx := context.Background()
	d, cancel, done := runInProcess(t, ctx, Options{Registry: reg})
	waitActive(t, d)
	c := api.NewClient(d.APIPath())
	defer c.Close()
	run := func(words string) objectformat.Result {
		t.Helper()
		m, err := cmddesc.NewMatcher(d.Describe(cmddesc.DescribeOptions{}))
		require.NoError(t, err)
		got, err := m.Match(strings.Fields(words))
		require.NoError(t, err, words)
		res, err := c.Command(ctx, got.Cmd, nil)
		require.NoError(t, err)
		return res
	}
	helloWorks := func() {
		t.Helper()
		res := run("hello Alice")
		require.Equal(t, "Hello, Alice!\n", string(res.Stdout), res.Stderr)
	}
	require.Zero(t, run("mgr module enable hello").Retval)
	require.Zero(t, run("mgr module enable panicky").Retval)
	helloWorks()

	res := run("panicky handler")
	require.Equal(t, -int(syscall.EINVAL), res.Retval)
	require.Contains(t, res.Stderr, "handler boom")
	helloWorks()

	require.Equal(t, "sent\n", string(run("panicky notify").Stdout))
	time.Sleep(100 * time.Millisecond) // let the notification be delivered (and panic)
	helloWorks()
	require.Equal(t, "sent\n", string(run("panicky notify").Stdout), "the module still serves after a notify panic")

	require.Equal(t, "armed\n", string(run("panicky serve").Stdout))
	require.Eventually(t, func() bool {
		return strings.Contains(string(run("health detail").Stdout), "MGR_MODULE_ERROR")
	}, 5*time.Second, 20*time.Millisecond)
	require.Contains(t, string(run("health").Stdout), "HEALTH_ERR Module 'panicky' has failed: serve boom")
	res = run("panicky handler")
	require.Equal(t, -int(syscall.EIO), res.Retval, "a failed module's commands answer EIO")
	helloWorks()
	require.Zero(t, run("mgr module disable panicky").Retval)
	require.Equal(t, "HEALTH_OK\n", string(run("health").Stdout))
	helloWorks()

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not shut down")
	}
}
