package modhost_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
)

// greeter is a complete module: a declared option, a command and a health
// check.
type greeter struct{ mgr *module.Handle }

func (g *greeter) Init(h *module.Handle) error { g.mgr = h; return nil }

type greetArgs struct {
	clicommand.Read `prefix:"greet" desc:"Greet someone"`
	Name            *string
}

func (g *greeter) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Responder(g.greet)}
}

func (g *greeter) greet(ctx context.Context, a *greetArgs) (map[string]string, error) {
	who, err := g.mgr.StringOption("default_name")
	if err != nil {
		return nil, err
	}
	if a.Name != nil {
		who = *a.Name
	}
	if who == "nobody" {
		g.mgr.SetHealthChecks(map[string]module.HealthCheck{
			"GREETER_LONELY": {Severity: module.SeverityWarning, Summary: "nobody to greet", Count: 1},
		})
	}
	return map[string]string{"greeting": "hello " + who}, nil
}

// A module is registered with an Info (normally from init in its package)
// and run by a Manager over a backend; here an in-memory one.
func Example() {
	reg := modhost.NewRegistry()
	_ = reg.Register(module.Info{
		Name:    "greeter",
		New:     func() module.Module { return &greeter{} },
		Options: []module.Option{{Name: "default_name", Default: "world", Runtime: true}},
	})
	mgr, err := modhost.NewManager(modhost.Config{MgrID: "x", Registry: reg, Backend: backend.NewMemoryBackend()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_ = mgr.Start(ctx)
	defer mgr.Close()
	_, _ = mgr.Enable(ctx, "greeter", false)

	run := func(cmd map[string]any) {
		res := mgr.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: cmd})
		fmt.Printf("%d %s%s\n", res.Retval, res.Stdout, res.Stderr)
	}
	run(map[string]any{"prefix": "greet"})
	_ = mgr.SetOption(ctx, "greeter", "", "default_name", "Ceph")
	run(map[string]any{"prefix": "greet", "format": "yaml"})
	run(map[string]any{"prefix": "greet", "name": "nobody", "format": "json"})
	fmt.Print(mgr.Health().Plain(false))
	// Output:
	// 0 {
	//   "greeting": "hello world"
	// }
	// 0 greeting: hello Ceph
	//
	// 0 {
	//   "greeting": "hello nobody"
	// }
	// HEALTH_WARN nobody to greet
}

// A module's options declared as a struct: Declare gives Info.Options, Get
// a typed snapshot.
func ExampleNewOptions() {
	type Config struct {
		Place    string        `option:"place" default:"world" desc:"a place in the world" runtime:"true"`
		Emphatic bool          `option:"emphatic" default:"true"`
		Interval time.Duration `option:"interval" default:"1m" min:"1"`
	}
	options := module.NewOptions[Config]()

	var h *module.Handle
	reg := modhost.NewRegistry()
	_ = reg.Register(module.Info{Name: "hello", Options: options.Declare(),
		New: func() module.Module { return initFunc(func(hh *module.Handle) { h = hh }) }})
	mgr, _ := modhost.NewManager(modhost.Config{MgrID: "x", Registry: reg, Backend: backend.NewMemoryBackend()})
	ctx := context.Background()
	_ = mgr.Start(ctx)
	defer mgr.Close()
	_, _ = mgr.Enable(ctx, "hello", false)

	fmt.Printf("%+v\n", options.Get(h))
	_ = mgr.SetOption(ctx, "hello", "", "place", "Mars")
	_ = mgr.SetOption(ctx, "hello", "", "interval", "1h 30m")
	fmt.Printf("%+v\n", options.Get(h))
	fmt.Println(mgr.SetOption(ctx, "hello", "", "interval", "0"))
	// Output:
	// {Place:world Emphatic:true Interval:1m0s}
	// {Place:Mars Emphatic:true Interval:1h30m0s}
	// error parsing value: Value '0' is below minimum 1
}

// initFunc is a module whose Init calls f.
type initFunc func(*module.Handle)

func (f initFunc) Init(h *module.Handle) error { f(h); return nil }
