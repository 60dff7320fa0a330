// Package hello is a Go port of Ceph's example mgr module "hello": a
// greeting command, a counting command, three options and a serve loop.
// It is the smallest complete module, meant to be read and copied.
package hello

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Config is the module's options (Python's MODULE_OPTIONS), declared like
// its commands: read them with options.Get.
type Config struct {
	Place    string `option:"place" default:"world" desc:"a place in the world" runtime:"true"`
	Emphatic bool   `option:"emphatic" default:"true" desc:"whether to say it loudly" runtime:"true"`
	Foo      string `option:"foo" default:"a" enum:"a|b|c" desc:"a frobnicating setting" runtime:"true"`
}

var options = module.NewOptions[Config]()

func init() {
	module.Register(module.Info{
		Name:    "hello",
		Desc:    "A simple example module",
		New:     func() module.Module { return &Module{} },
		Options: options.Declare(),
	})
}

// Module is the hello module.
type Module struct {
	mgr *module.Handle

	mu    sync.Mutex
	ticks int // serve loop iterations
}

// Init keeps the handle.
func (m *Module) Init(h *module.Handle) error {
	m.mgr = h
	return nil
}

type helloArgs struct {
	clicommand.Read `prefix:"hello" desc:"Say hello"`
	PersonName      *string
}

type countArgs struct {
	clicommand.Read `prefix:"count" desc:"Do some counting"`
	Num             int
}

// Commands lists the module's commands.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.ErrorResponseHandler(m.hello),
		clicommand.ErrorResponseHandler(m.count),
	}
}

// hello says hello to a person, or to the configured place; with
// emphatic on (the default) it exclaims.
func (m *Module) hello(_ context.Context, a *helloArgs) (objectformat.Result, error) {
	cfg := options.Get(m.mgr)
	out := "Hello " + cfg.Place
	if a.PersonName != nil {
		out = "Hello, " + *a.PersonName
	}
	if cfg.Emphatic {
		out += "!"
	}
	return objectformat.OK(out), nil
}

// count counts from 1 to num, which must be between 1 and 10.
func (m *Module) count(_ context.Context, a *countArgs) (objectformat.Result, error) {
	switch {
	case a.Num < 1:
		return objectformat.Result{}, objectformat.NewErrorResponse("That's too small a number")
	case a.Num > 10:
		return objectformat.Result{}, objectformat.NewErrorResponse("That's too big a number")
	}
	nums := make([]string, 0, a.Num)
	for i := 1; i <= a.Num; i++ {
		nums = append(nums, fmt.Sprint(i))
	}
	return objectformat.OK("Hello, I am the count!\n" + strings.Join(nums, ", ") + "!"), nil
}

// ConfigNotify is called after one of the module's options changed, with
// their new values.
func (m *Module) ConfigNotify(_ context.Context, cfg Config) {
	m.mgr.Log().Debug("mgr options", "place", cfg.Place, "emphatic", cfg.Emphatic, "foo", cfg.Foo)
}

// Serve is the module's background loop; it wakes up every tick until the
// daemon stops the module (the Python example sleeps mgr_tick_period).
func (m *Module) Serve(ctx context.Context) error {
	m.mgr.Log().Info("Starting")
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		m.mu.Lock()
		m.ticks++
		m.mu.Unlock()
		m.mgr.Log().Debug("Sleeping", "seconds", 2)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Shutdown is called before the serve loop is stopped.
func (m *Module) Shutdown(context.Context) error {
	m.mgr.Log().Info("Stopping")
	return nil
}

// Exports lets other modules call self_test ("mgr self-test module
// hello"): it checks that the options parse and returns the greeting.
func (m *Module) Exports() map[string]module.RemoteFunc {
	return map[string]module.RemoteFunc{
		"self_test": module.Export(func(ctx context.Context, _ struct{}) (string, error) {
			if foo := options.Get(m.mgr).Foo; foo == "" {
				return "", fmt.Errorf("option foo is unset")
			}
			res, err := m.hello(ctx, &helloArgs{})
			if err != nil {
				return "", err
			}
			return string(res.Stdout), nil
		}),
	}
}
