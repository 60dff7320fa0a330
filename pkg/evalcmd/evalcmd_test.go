package evalcmd_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/evalcmd"
	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// mod is a module with a command of its own and the eval mixin.
type mod struct {
	h    *module.Handle
	eval *evalcmd.Eval
}

type pingArgs struct {
	clicommand.Read `prefix:"mixed ping" desc:"answer pong"`
}

func (m *mod) Init(h *module.Handle) error { m.h = h; return m.eval.Init(h) }

func (m *mod) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *pingArgs) objectformat.Result { return objectformat.OK("pong") }),
		m.eval.Command(),
	}
}

func (m *mod) Shutdown(context.Context) error { m.eval.Close(); return nil }

// config is the mixin of the test modules: "name" is the module's name;
// Adjust lifts the step limit, so only the clock stops a loop.
func config(name string) evalcmd.Config {
	return evalcmd.Config{
		Prefix: name + " eval",
		Globals: func(h *module.Handle) starlark.StringDict {
			return starlark.StringDict{"module": starlark.String(h.Name()), "answer": starlark.MakeInt(42)}
		},
		Adjust: func(l *evalsandbox.Limits) { l.MaxSteps = 1 << 62 },
	}
}

// start registers the module "mixed" (with the eval options when
// withOptions) and starts it.
func start(t *testing.T, withOptions bool) (*moduletest.Harness, *mod) {
	t.Helper()
	cfg := config("mixed")
	info := module.Info{Name: "mixed", New: func() module.Module { return &mod{eval: evalcmd.New(cfg)} }}
	if withOptions {
		info.Options = cfg.Options()
	}
	h := moduletest.Start(t, "mixed", moduletest.WithModules(info))
	return h, h.Module().(*mod)
}

func TestEval(t *testing.T) {
	h, _ := start(t, true)
	for _, c := range []struct {
		line, src      string
		retval         int
		stdout, stderr string
	}{
		{"mixed eval", "1+1", 0, "2\n", ""},
		{"mixed eval", "def f():\n  return answer", 2, "", ""},
		{"mixed eval", "def f():\n  return answer\n", 0, "", ""},
		{"mixed eval", "f()", 0, "42\n", ""},
		{"mixed eval", "module", 0, "\"mixed\"\n", ""},
		{"mixed eval f()", "", 0, "42\n", ""}, // the source in s
		{"mixed eval --complete ans", "", 0, "answer\n", ""},
		{"mixed eval", "nope", 0, "", "<input>:1:1: undefined: nope\n"},
		{"mixed ping", "", 0, "pong", ""},
	} {
		var res objectformat.Result
		if c.src != "" {
			res = h.Run(c.line, []byte(c.src))
		} else {
			res = h.Run(c.line)
		}
		if res.Retval != c.retval || string(res.Stdout) != c.stdout || res.Stderr != c.stderr {
			t.Errorf("%s %q: %v, want retval %d stdout %q stderr %q", c.line, c.src, res, c.retval, c.stdout, c.stderr)
		}
	}
}

func TestOptions(t *testing.T) {
	opts := config("x").Options()
	if len(opts) != 2 || opts[0].Name != evalcmd.TimeoutOption || opts[1].Name != evalcmd.MaxMemoryOption {
		t.Fatalf("options: %+v", opts)
	}
	if !strings.Contains(opts[0].Desc, "'x eval'") {
		t.Errorf("eval_timeout desc %q does not name the command", opts[0].Desc)
	}
	h, m := start(t, true)
	if l := m.eval.Limits(); l.Timeout != evalsandbox.DefaultTimeout || l.MaxMemory != evalsandbox.DefaultMaxMemory {
		t.Errorf("default limits: %+v", l)
	}
	if err := h.SetOption(evalcmd.TimeoutOption, 0.25); err != nil {
		t.Fatal(err)
	}
	if err := h.SetOption(evalcmd.MaxMemoryOption, "64M"); err != nil {
		t.Fatal(err)
	}
	if l := m.eval.Limits(); l.Timeout != 250*time.Millisecond || l.MaxMemory != 64<<20 || l.MaxSteps != 1<<62 {
		t.Errorf("limits from the options and Adjust: %+v", l)
	}
	if err := h.SetOption(evalcmd.MaxMemoryOption, "1M"); err == nil {
		t.Error("eval_max_memory 1M was accepted (minimum 8M)")
	}
}

// TestNoOptions: a module that does not declare the options runs with
// the defaults.
func TestNoOptions(t *testing.T) {
	h, m := start(t, false)
	if l := m.eval.Limits(); l.Timeout != evalsandbox.DefaultTimeout || l.MaxMemory != evalsandbox.DefaultMaxMemory {
		t.Errorf("limits: %+v", l)
	}
	if res := h.Run("mixed eval", []byte("1+1")); res.Retval != 0 || string(res.Stdout) != "2\n" {
		t.Errorf("1+1: %v", res)
	}
}

func TestTimeout(t *testing.T) {
	h, _ := start(t, true)
	if err := h.SetOption(evalcmd.TimeoutOption, 0.2); err != nil {
		t.Fatal(err)
	}
	h.Must("mixed eval", []byte("kept = 1"))
	res := h.Run("mixed eval", []byte("while True:\n  pass\n"))
	if res.Retval != 0 || !strings.Contains(res.Stderr, "timeout: eval ran longer than eval_timeout (200ms)") {
		t.Errorf("an endless loop: %v", res)
	}
	// A run stopped between steps keeps the session.
	if res := h.Run("mixed eval", []byte("kept")); string(res.Stdout) != "1\n" {
		t.Errorf("kept after the timeout: %v", res)
	}
}

func TestMemoryLimitResetsSession(t *testing.T) {
	h, m := start(t, true)
	if err := h.SetOption(evalcmd.MaxMemoryOption, "64M"); err != nil {
		t.Fatal(err)
	}
	h.Must("mixed eval", []byte("kept = 1"))
	pid := m.eval.Session().WorkerPID()
	res := h.Run("mixed eval", []byte("a = 'x' * (100 << 20)"))
	if res.Retval != -int(syscall.ENOMEM) || res.Stderr != "eval session exceeded its memory limit (64 MiB); the session was reset" {
		t.Errorf("100 MiB: %v, want -ENOMEM", res)
	}
	if testutil.ProcessAlive(pid) {
		t.Errorf("the worker %d survived", pid)
	}
	if res := h.Run("mixed eval", []byte("kept")); res.Stderr != "<input>:1:1: undefined: kept\n" {
		t.Errorf("kept after the reset: %v", res)
	}
}

// TestCloseStopsEval: Close (the module's Shutdown) stops a running eval
// at once, ends the worker, and fails later evals.
func TestCloseStopsEval(t *testing.T) {
	h, m := start(t, true)
	if err := h.SetOption(evalcmd.TimeoutOption, 60); err != nil {
		t.Fatal(err)
	}
	h.Must("mixed eval", []byte("x = 1"))
	pid := m.eval.Session().WorkerPID()
	done := make(chan objectformat.Result, 1)
	go func() { done <- h.Run("mixed eval", []byte("while True:\n  pass\n")) }()
	m.eval.Close()
	select {
	case res := <-done:
		if res.Retval != -int(syscall.ECANCELED) {
			t.Errorf("the running eval ended with %v, want -ECANCELED", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the eval still runs after Close")
	}
	if testutil.ProcessAlive(pid) {
		t.Errorf("the worker %d survived Close", pid)
	}
	if res := h.Run("mixed eval", []byte("1")); res.Retval != -int(syscall.ECANCELED) {
		t.Errorf("an eval after Close: %v, want -ECANCELED", res)
	}
}

// TestBeforeInit: the command exists before Init (the daemon lists a
// module's commands from an uninitialised value) and fails cleanly.
func TestBeforeInit(t *testing.T) {
	e := evalcmd.New(config("early"))
	c := e.Command()
	if c.Err() != nil || c.Prefix() != "early eval" {
		t.Fatalf("command: %v, prefix %q", c.Err(), c.Prefix())
	}
	res := c.Call(context.Background(), clicommand.Call{Cmd: map[string]any{"prefix": "early eval", "s": "1"}, Perm: "rw"})
	if res.Retval != -int(syscall.EAGAIN) {
		t.Errorf("before Init: %v, want -EAGAIN", res)
	}
	// Closed before Init (a module stopped while starting): evals fail.
	e = evalcmd.New(evalcmd.Config{Prefix: "early eval"})
	e.Close()
	if err := e.Init(nil); err != nil {
		t.Fatal(err)
	}
	res = e.Command().Call(context.Background(), clicommand.Call{Cmd: map[string]any{"prefix": "early eval", "s": "1"}, Perm: "rw"})
	if res.Retval != -int(syscall.ECANCELED) {
		t.Errorf("closed before Init: %v, want -ECANCELED", res)
	}
}

// plain is a module with no eval code: it gets the command from
// Info.Mixins.
type plain struct{ inits int }

func (p *plain) Init(*module.Handle) error { p.inits++; return nil }

// TestMixinInOneLine: one line of Info gives a module the eval command,
// its options, and an eval that disabling the module stops.
func TestMixinInOneLine(t *testing.T) {
	info := module.Info{Name: "plain", New: func() module.Module { return &plain{} },
		Mixins: []module.Mixin{config("plain")}}
	h := moduletest.Start(t, "plain", moduletest.WithModules(info))
	if got := h.Module().(*plain).inits; got != 1 {
		t.Fatalf("the module's own Init ran %d times", got)
	}

	// The REPL protocol: unfinished source asks for more, globals persist.
	if res := h.Run("plain eval", []byte("def f():\n  return answer")); res.Retval != 2 {
		t.Fatalf("unfinished source: %v, want retval 2", res)
	}
	h.Must("plain eval", []byte("def f():\n  return answer\n"))
	if out := h.Out("plain eval", []byte("print(module, f())")); strings.TrimSpace(out) != "plain 42" {
		t.Fatalf("eval printed %q", out)
	}
	if out := h.Out("plain eval --complete ans"); strings.TrimSpace(out) != "answer" {
		t.Fatalf("--complete printed %q", out)
	}

	// The mixin's options are the module's.
	if err := h.SetOption(evalcmd.TimeoutOption, 0.2); err != nil {
		t.Fatal(err)
	}
	if res := h.Run("plain eval", []byte("while True:\n  pass\n")); !strings.Contains(res.Stderr, "longer than eval_timeout (200ms)") {
		t.Fatalf("a loop past eval_timeout 0.2: %v", res)
	}
	if res := h.Run("config set mgr mgr/plain/eval_max_memory 1K"); res.Retval != -int(syscall.EINVAL) {
		t.Fatalf("eval_max_memory below its minimum: %v, want -EINVAL", res)
	}

	// Disabling the module shuts its part down: a running eval stops.
	if err := h.SetOption(evalcmd.TimeoutOption, 60); err != nil {
		t.Fatal(err)
	}
	done := make(chan objectformat.Result, 1)
	go func() { done <- h.Run("plain eval", []byte("while True:\n  pass\n")) }()
	time.Sleep(200 * time.Millisecond) // let it start
	h.Must("mgr module disable plain")
	select {
	case res := <-done:
		if res.Retval == 0 {
			t.Errorf("the running eval succeeded after disable: %v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the eval still runs after the module was disabled")
	}
}

// TestMixinOptionDeclaredByTheModule: a module that declares a mixin's
// option itself keeps its declaration.
func TestMixinOptionDeclaredByTheModule(t *testing.T) {
	info := module.Info{Name: "plain", New: func() module.Module { return &plain{} },
		Options: []module.Option{{Name: evalcmd.TimeoutOption, Type: module.Secs, Default: 1, Max: 2, Runtime: true}},
		Mixins:  []module.Mixin{config("plain")}}
	h := moduletest.Start(t, "plain", moduletest.WithModules(info))
	if res := h.Run("config set mgr mgr/plain/eval_timeout 3"); res.Retval != -int(syscall.EINVAL) {
		t.Fatalf("eval_timeout 3 over the module's max 2: %v, want -EINVAL", res)
	}
	h.Must("plain eval", []byte("1"))
}
