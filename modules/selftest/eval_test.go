package selftest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
)

func TestEvalStatePersists(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.eval("x = 40"), 0, "", "")
	e.want(e.eval("x + 2"), 0, "42\n", "")
	e.want(e.eval("def f(a):\n  return a * 2\n"), 0, "", "")
	e.want(e.eval("f(21)"), 0, "42\n", "")
	e.want(e.eval("_ + 1"), 0, "43\n", "") // the last echoed value
	e.want(e.eval("x = x + 1; x"), 0, "41\n", "")
	// Several statements at once (a script sent with -i).
	e.want(e.cmd("mgr self-test eval", "s", "def g():\n  return 'g'\nprint(g())\ng()\nNone\n"), 0, "g\n\"g\"\n", "")
	e.want(e.call("w", []byte("print(f(x))\n"), map[string]any{"prefix": "mgr self-test eval"}), 0, "82\n", "")
	// s wins over inbuf, as in Python ("s or inbuf").
	e.want(e.call("w", []byte("print('inbuf')"), map[string]any{"prefix": "mgr self-test eval", "s": "print('s')"}), 0, "s\n", "")
	e.want(e.call("w", []byte("print('inbuf')"), map[string]any{"prefix": "mgr self-test eval", "s": ""}), 0, "inbuf\n", "")
	e.want(e.cmd("mgr self-test eval"), -int(syscall.EINVAL), "", "source is not specified")
	e.want(e.eval("None"), 0, "", "")
	e.want(e.eval("# only a comment\n"), 0, "", "")
	e.want(e.eval("print(mgr.version)"), 0, testVersion+"\n", "")
	e.want(e.eval("mgr.release_name"), 0, "\"pacific\"\n", "")
}

func TestEvalStateIsPerInstance(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.eval("y = 1"), 0, "", "")
	ctx := context.Background()
	if _, err := e.m.Disable(ctx, Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Enable(ctx, Name, false); err != nil {
		t.Fatal(err)
	}
	e.want(e.eval("y"), 0, "", "<input>:1:1: undefined: y\n")
}

func TestEvalIncomplete(t *testing.T) {
	e := newEnv(t, nil)
	for _, src := range []string{
		"def f():", "if True:", "x = (", "def f():\n  return 1", "if True:\n  x = 1", "for i in range(3):",
		"s = \"\"\"abc", "x = [1,\n2,", "x = 1 + \\", "if True:\n  x = 1\nelse:", "y = 1\ndef h():",
		"def h():\n  return 1\nz = (",
	} {
		e.want(e.eval(src), evalIncomplete, "", "")
	}
	// Nothing ran.
	e.want(e.eval("y"), 0, "", "<input>:1:1: undefined: y\n")
	// A blank line completes a block.
	e.want(e.eval("if True:\n  y = 7\n"), 0, "", "")
	e.want(e.eval("y"), 0, "7\n", "")
	e.want(e.eval("def k():\n  return 1\n\nk()"), 0, "1\n", "")
	e.want(e.eval("def k2():\n  return 2\nk2()"), 0, "2\n", "")
}

func TestEvalErrors(t *testing.T) {
	e := newEnv(t, nil)
	// A runtime error stops the run; earlier output stays; retval 0.
	res := e.eval("print('before')\n1 // 0\nprint('after')\n")
	e.want(res, 0, "before\n", "Traceback (most recent call last):\n  <input>:2:3: in <expr>\nError: floored division by zero\n")
	res = e.eval("def boom():\n  return {}['missing']\n\nboom()")
	if res.Retval != 0 || !strings.Contains(res.Stderr, "in boom") || !strings.Contains(res.Stderr, `key "missing" not in dict`) {
		t.Errorf("backtrace: %s", res)
	}
	// Syntax errors go to stderr with retval 0.
	e.want(e.eval("x = )"), 0, "", "<input>:1:5: unexpected ')'\n")
	e.want(e.eval("1 +* 2"), 0, "", "<input>:1:4: got '*', want primary expression\n")
	// Errors from the module API carry their errno.
	res = e.eval("mgr.get_module_option('nope')")
	if res.Retval != 0 || !strings.Contains(res.Stderr, "config option 'nope' is not declared by module selftest (errno -2)") {
		t.Errorf("option error: %s", res)
	}
	res = e.eval("mgr.set_module_option('rwoption7', 43)")
	if res.Retval != 0 || !strings.Contains(res.Stderr, "exceeds maximum 42 (errno -22)") {
		t.Errorf("bound error: %s", res)
	}
}

func TestEvalSandbox(t *testing.T) {
	e := newEnv(t, nil)
	res := e.eval("load('x.star', 'y')")
	e.want(res, 0, "", "Traceback (most recent call last):\n  <input>:1:1: in <toplevel>\nError: load not implemented by this application\n")
	res = e.eval("def r(n):\n  return r(n)\n\nr(1)")
	if !strings.Contains(res.Stderr, "called recursively") {
		t.Errorf("recursion: %s", res)
	}
	for _, name := range []string{"open", "exec", "eval", "__import__", "time", "os"} {
		res := e.eval(name)
		e.want(res, 0, "", "<input>:1:1: undefined: "+name+"\n")
	}
}

// newBareEvaluator is an evaluator without a module handle, for the limit
// tests (they do not touch mgr).
func newBareEvaluator() *evaluator { return newModule().ev }

func TestEvalStepLimit(t *testing.T) {
	ev := newBareEvaluator()
	ev.maxSteps = 100_000
	for _, src := range []string{
		"for i in range(1000000000):\n  for j in range(1000000000):\n    pass\n",
		"while True:\n  pass\n",
	} {
		start := time.Now()
		out, errs := ev.exec(context.Background(), src, time.Minute)
		if len(out) != 0 || !strings.Contains(errs, "Starlark computation cancelled: too many steps") {
			t.Errorf("%q: got %q / %q", src, out, errs)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q took %s", src, d)
		}
	}
	// The default limit stops an endless loop too.
	ev.maxSteps = defaultEvalMaxSteps
	_, errs := ev.exec(context.Background(), "while True:\n  pass\n", time.Minute)
	if !strings.Contains(errs, "too many steps") {
		t.Errorf("default step limit: %q", errs)
	}
}

func TestEvalTimeLimit(t *testing.T) {
	ev := newBareEvaluator()
	ev.maxSteps = 0 // no step limit: only the clock stops it
	start := time.Now()
	_, errs := ev.exec(context.Background(), "while True:\n  pass\n", 200*time.Millisecond)
	d := time.Since(start)
	if !strings.Contains(errs, "Starlark computation cancelled: timeout: eval ran longer than eval_timeout (200ms)") {
		t.Errorf("got %q", errs)
	}
	if d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	// Cancelling the command stops it as well.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, errs = ev.exec(ctx, "while True:\n  pass\n", time.Minute)
	if !strings.Contains(errs, "the command was cancelled: context canceled") {
		t.Errorf("got %q", errs)
	}
}

func TestEvalTimeoutOption(t *testing.T) {
	b := module.NewMemoryBackend()
	e := newEnv(t, b)
	if got := e.mod.evalTimeout(); got != 5*time.Second {
		t.Errorf("default eval_timeout = %s", got)
	}
	setConfig(t, b, "mgr/selftest/eval_timeout", "0.25")
	if got := e.mod.evalTimeout(); got != 250*time.Millisecond {
		t.Errorf("eval_timeout = %s", got)
	}
	e.mod.ev.maxSteps = 0
	start := time.Now()
	res := e.eval("while True:\n  pass\n")
	if res.Retval != 0 || !strings.Contains(res.Stderr, "timeout: eval ran longer than eval_timeout (250ms)") {
		t.Errorf("got %s", res)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	res = e.eval("mgr.set_module_option('eval_timeout', 0)")
	if !strings.Contains(res.Stderr, "below minimum") {
		t.Errorf("eval_timeout 0: %s", res)
	}
}

func TestEvalOutputCap(t *testing.T) {
	ev := newBareEvaluator()
	ev.maxOutput = 1000
	out, errs := ev.exec(context.Background(), "for i in range(1000000):\n  print('line', i)\n", time.Minute)
	if len(out) != 1000 {
		t.Errorf("stdout is %d bytes, want the 1000 byte cap", len(out))
	}
	if !strings.Contains(errs, "output limit exceeded (1000 bytes)") || !strings.HasSuffix(errs, "[output truncated at 1000 bytes]\n") {
		t.Errorf("stderr %q", errs)
	}
	// One huge value is cut on a rune boundary.
	out, _ = ev.exec(context.Background(), "'é' * 600", time.Minute)
	if len(out) > 1000 || !strings.HasPrefix(string(out), "\"é") || strings.ContainsRune(string(out), '\uFFFD') {
		t.Errorf("huge value: %d bytes %q", len(out), out[:20])
	}
}

func TestEvalConcurrentCallsAreSerialised(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.eval("n = 0"), 0, "", "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := e.eval("n = n + 1"); res.Retval != 0 || res.Stderr != "" {
				t.Errorf("got %s", res)
			}
		}()
	}
	wg.Wait()
	e.want(e.eval("n"), 0, "8\n", "")
}

func TestEvalMgrAPI(t *testing.T) {
	b := module.NewMemoryBackend()
	e := newEnv(t, b)
	for _, c := range []struct{ src, out string }{
		{"mgr.get_mgr_id()", `"x"`},
		{"mgr.module_name", `"selftest"`},
		{"mgr.get_module_option('roption1')", ""},
		{"mgr.get_module_option('roption1', 'foobar')", `"foobar"`},
		{"mgr.get_module_option('roption2', 'foobar')", `"xyz"`},
		{"mgr.set_module_option('rwoption2', 10)", ""},
		{"mgr.get_module_option('rwoption2')", "10"},
		{"mgr.set_module_option('rwoption1', 8080)", ""},
		{"mgr.get_module_option('rwoption1')", `"8080"`},
		{"mgr.set_module_option('rwoption3', 1.5)", ""},
		{"type(mgr.get_module_option('rwoption3'))", `"float"`},
		{"mgr.get_localized_module_option('rwoption6')", "True"},
		{"mgr.set_localized_module_option('rwoption6', False)", ""},
		{"mgr.get_localized_module_option('rwoption6')", "False"},
		{"mgr.get_module_option('rwoption6')", "True"},
		{"mgr.set_module_option('rwoption2', None)", ""},
		{"mgr.get_module_option('rwoption2', 3)", "3"},
		{"mgr.get_module_option_ex('nosuch', 'bar', 'd')", `"d"`},
		{"mgr.get_module_option_ex('hello', 'place')", `"world"`},
		{"mgr.set_store('k', 'v')", ""},
		{"mgr.get_store('k')", `"v"`},
		{"mgr.get_store('nope', 'dflt')", `"dflt"`},
		{"mgr.get_store_prefix('k')", `{"k": "v"}`},
		{"mgr.set_store('k', None)", ""},
		{"mgr.get_store('k')", ""},
		{"mgr.set_localized_store('lk', 'local')", ""},
		{"mgr.get_localized_store('lk')", `"local"`},
		{"mgr.get('__OBJ_DNE__')", ""},
		{"mgr.get('mgr_map')['active_name']", `"x"`},
		{"mgr.have_mon_connection()", "False"},
		{"mgr.get_metadata('mgr', 'x')['hostname']", `"testhost"`},
		{"mgr.get_metadata('osd', '0', 'none')", `"none"`},
		{"[s['hostname'] for s in mgr.list_servers()] != []", "True"},
		{"mgr.get_server('nosuchhost')", ""},
		{"mgr.get_counter('mgr', 'x', 'mgr.commands')['mgr.commands'][0][1]", "7"},
		{"'commands' in mgr.get_perf_schema('mgr', 'x')['mgr']", "True"},
		{"mgr.get_daemon_status('mgr', 'x')", `{"role": "active"}`},
		{"mgr.mon_command({'prefix': 'osd tree'})[0]", fmt.Sprint(-int(syscall.ENOTCONN))},
		{"mgr.tell_command('osd', '0', {'prefix': 'perf dump'})[0]", fmt.Sprint(-int(syscall.ENOTCONN))},
		{"mgr.remote('selftest', 'echo', {'a': [1, 2.5, None, True]})", `{"a": [1, 2.5, None, True]}`},
		{"mgr.remote('selftest', 'echo', 1, 2)", "[1, 2]"},
		{"mgr.remote('selftest', 'echo', a=1)", `{"a": 1}`},
		{"mgr.remote('selftest', 'echo', 9007199254740993 - 1)", "9007199254740992"},
		{"mgr.remote('selftest', 'self_test')", `"selftest is healthy"`},
		{"mgr.set_health_checks({'EVAL_CHECK': {'severity': 'warning', 'summary': 'from eval', 'detail': ['d']}})", ""},
		{"mgr.get_health_checks()['EVAL_CHECK']['count']", "1"},
		{"mgr.log('hello from eval', level='warning')", ""},
		{"mgr.cluster_log('audit', 'info', 'from eval')", ""},
		{"'get_store' in dir(mgr) and 'version' in dir(mgr)", "True"},
		{"type(mgr)", `"mgr"`},
		{"str(mgr)", `"<mgr module selftest>"`},
	} {
		want := ""
		if c.out != "" {
			want = c.out + "\n"
		}
		e.want(e.eval(c.src), 0, want, "")
	}
	if h := e.m.Health(); h.Checks["EVAL_CHECK"].Summary.Message != "from eval" {
		t.Errorf("health = %+v", h)
	}
	mustContain(t, "log", e.log.String(), "hello from eval", "source=eval")
	e.want(e.eval("mgr.set_health_checks({})"), 0, "", "")
	if len(e.m.Health().Checks) != 0 {
		t.Errorf("health not cleared: %v", e.m.Health().Checks)
	}

	for src, msg := range map[string]string{
		"mgr.remote('nosuch', 'x')":                                         `remote nosuch.x: module "nosuch" is not enabled (errno -2)`,
		"mgr.remote('selftest', 'nosuch')":                                  `exports no method "nosuch" (errno -38)`,
		"mgr.remote('selftest', 'fail', {'errno': 16, 'message': 'busy!'})": "busy! (errno -16)",
		"l = []\nl.append(l)\nmgr.remote('selftest', 'echo', l)":            "nested more than 64 levels",
		"mgr.remote('selftest', 'echo', {1: 2})":                            "dict keys must be strings, not int",
		"mgr.mon_command({'no': 'prefix'})":                                 `the command has no "prefix" string`,
		"mgr.set_store('k', 3)":                                             "value must be a string or None, not int",
		"mgr.set_module_option('rwoption2', [1])":                           "an option value must be None",
		"mgr.set_health_checks({'X': {'severity': 'bad', 'summary': 's'}})": `severity "bad" is not`,
		"mgr.log('x', level='loud')":                                        `unknown level "loud"`,
		"mgr.nosuch":                                                        "mgr has no .nosuch field or method",
		"mgr.get_store()":                                                   "get_store: missing argument for key",
	} {
		res := e.eval(src)
		if res.Retval != 0 || !strings.Contains(res.Stderr, msg) {
			t.Errorf("%s: got %s, want stderr with %q", src, res, msg)
		}
	}
}

func TestEvalCompletion(t *testing.T) {
	e := newEnv(t, nil)
	complete := func(prefix string) string {
		t.Helper()
		res := e.cmd("mgr self-test eval", "complete", prefix)
		if res.Retval != 0 || res.Stderr != "" {
			t.Fatalf("complete %q: %s", prefix, res)
		}
		return string(res.Stdout)
	}
	if got, want := complete("mgr.get_s"), "mgr.get_server\nmgr.get_store\nmgr.get_store_prefix\n"; got != want {
		t.Errorf("mgr.get_s: %q, want %q", got, want)
	}
	if got := complete("x = len(mgr.ver"); got != "mgr.version\n" {
		t.Errorf("mgr.ver: %q", got)
	}
	if got := complete("pri"); got != "print\n" {
		t.Errorf("pri: %q", got)
	}
	if got := complete("wh"); got != "while\n" {
		t.Errorf("wh: %q", got)
	}
	e.want(e.eval("myvar = 'abc'"), 0, "", "")
	if got := complete("my"); got != "myvar\n" {
		t.Errorf("my: %q", got)
	}
	if got := complete("myvar.up"); got != "myvar.upper\n" {
		t.Errorf("myvar.up: %q", got)
	}
	if got := complete("nosuch.x"); got != "" {
		t.Errorf("nosuch.x: %q", got)
	}
	if got := complete("mgr..x"); got != "" {
		t.Errorf("mgr..x: %q", got)
	}
	all := complete("")
	for _, w := range []string{"mgr\n", "myvar\n", "len\n", "def\n", "True\n"} {
		if !strings.Contains(all, w) {
			t.Errorf("empty prefix: %q missing from %q", w, all)
		}
	}
	m := complete("mgr.")
	if n := strings.Count(m, "\n"); n != len(e.mod.ev.globals["mgr"].(*mgrValue).AttrNames()) {
		t.Errorf("mgr.: %d completions, want every attribute:\n%s", n, m)
	}
	// Completion runs nothing.
	e.want(e.cmd("mgr self-test eval", "s", "print('not run')", "complete", "pr"), 0, "print\n", "")
}

func TestNeedsMore(t *testing.T) {
	ev := newBareEvaluator()
	for src, want := range map[string]bool{
		"":                              false,
		"1+1":                           false,
		"x = 1\n":                       false,
		"def f():":                      true,
		"def f():\n  return 1":          true,
		"def f():\n  return 1\n":        false,
		"def f():\n  return 1\n\n\n":    false,
		"if True:\n  pass\n  \n":        false,
		"if True:\r\n  pass\r\n":        false,
		"def f():\n  return 1\nf()":     false,
		"def f():\n  return 1\nf(":      true,
		"def f():\n  return 1\nif f():": true,
		"x = {\n 'a': 1,\n}":            false,
		"x = {\n 'a': 1,\n":             true,
		"x = )":                         false, // a syntax error, not incomplete
		"x = 1\n  y = 2":                false,
		"# comment":                     false,
		"s = '''a\nb'''":                false,
		"s = '''a\nb":                   true,
		"for i in range(2):\n  if i:\n    pass\n": false,
		"for i in range(2):\n  if i:\n    pass":   true,
	} {
		if got := ev.needsMore(src); got != want {
			t.Errorf("needsMore(%q) = %v, want %v", src, got, want)
		}
	}
}
