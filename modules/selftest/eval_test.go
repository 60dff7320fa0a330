package selftest

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/objectformat"
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
		e.want(e.eval(src), evalsandbox.Incomplete, "", "")
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

// setEvalLimits adjusts the limits of the running instance's eval
// requests (nil: the options' limits).
func (e *env) setEvalLimits(adjust func(*evalsandbox.Limits)) {
	if adjust == nil {
		e.mod.adjustLimits.Store(nil)
		return
	}
	e.mod.adjustLimits.Store(&adjust)
}

// noStepLimit disables the step limit: only the clock stops a run.
const noStepLimit = math.MaxUint64

func TestEvalStepLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.setEvalLimits(func(l *evalsandbox.Limits) { l.MaxSteps = 100_000 })
	for _, src := range []string{
		"for i in range(1000000000):\n  for j in range(1000000000):\n    pass\n",
		"while True:\n  pass\n",
	} {
		res := e.eval(src)
		if res.Retval != 0 || len(res.Stdout) != 0 || !strings.Contains(res.Stderr, "Starlark computation cancelled: too many steps") {
			t.Errorf("%q: got %s", src, res)
		}
	}
	// The default limit stops an endless loop too.
	e.setEvalLimits(nil)
	setConfig(t, e.b, "mgr/selftest/eval_timeout", "60")
	if res := e.eval("while True:\n  pass\n"); !strings.Contains(res.Stderr, "too many steps") {
		t.Errorf("default step limit: %s", res)
	}
}

func TestEvalTimeLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.setEvalLimits(func(l *evalsandbox.Limits) { l.MaxSteps = noStepLimit; l.Timeout = 200 * time.Millisecond })
	e.want(e.eval("kept = 1"), 0, "", "")
	start := time.Now()
	res := e.eval("while True:\n  pass\n")
	d := time.Since(start)
	if res.Retval != 0 || !strings.Contains(res.Stderr, "Starlark computation cancelled: timeout: eval ran longer than eval_timeout (200ms)") {
		t.Errorf("got %s", res)
	}
	if d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	e.want(e.eval("kept"), 0, "1\n", "") // the interpreter stopped: the session is kept
	// Cancelling the command stops it as well.
	e.setEvalLimits(func(l *evalsandbox.Limits) { l.MaxSteps = noStepLimit; l.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res = e.m.Dispatch(ctx, clicommand.Call{Cmd: map[string]any{"prefix": evalName, "s": "while True:\n  pass\n"}, Perm: "rw"})
	if !strings.Contains(res.Stderr, "the command was cancelled: context canceled") {
		t.Errorf("got %s", res)
	}
}

func TestEvalTimeoutOption(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	if got := e.mod.ev.Limits().Timeout; got != 5*time.Second {
		t.Errorf("default eval_timeout = %s", got)
	}
	setConfig(t, b, "mgr/selftest/eval_timeout", "0.25")
	if got := e.mod.ev.Limits().Timeout; got != 250*time.Millisecond {
		t.Errorf("eval_timeout = %s", got)
	}
	e.setEvalLimits(func(l *evalsandbox.Limits) { l.MaxSteps = noStepLimit })
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

func TestEvalMaxMemoryOption(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	if got := e.mod.ev.Limits().MaxMemory; got != 256<<20 {
		t.Errorf("default eval_max_memory = %d", got)
	}
	if res := e.eval("mgr.set_module_option('eval_max_memory', '1M')"); !strings.Contains(res.Stderr, "below minimum") {
		t.Errorf("eval_max_memory 1M: %s", res)
	}
	setConfig(t, b, "mgr/selftest/eval_max_memory", "64M")
	if got := e.mod.ev.Limits().MaxMemory; got != 64<<20 {
		t.Errorf("eval_max_memory = %d", got)
	}
	// The option applies to the running session.
	e.want(e.eval("a = 'x' * (24 << 20)"), 0, "", "") // well inside the limit (40 MiB once tripped it on a loaded host)
	res := e.eval("b = a * 8")
	e.want(res, -int(syscall.ENOMEM), "", "eval session exceeded its memory limit (64 MiB); the session was reset")
}

// vmRSS is this process's resident set size.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestEvalMemoryLimit is issue #9's first input: it used to take the
// daemon down (or pin 2.7 GB in the session's globals).
func TestEvalMemoryLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.want(e.eval("kept = 'before'"), 0, "", "")
	pid := e.mod.ev.Session().WorkerPID()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := vmRSS(t)
	res := e.eval(`a = "x" * 1000000000; b = a + a`)
	e.want(res, -int(syscall.ENOMEM), "", "eval session exceeded its memory limit (256 MiB); the session was reset")
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapSys) - int64(before.HeapSys); grown > 64<<20 {
		t.Errorf("the daemon's heap grew by %d MiB", grown>>20)
	}
	if grown := vmRSS(t) - rssBefore; grown > 64<<20 {
		t.Errorf("the daemon's RSS grew by %d MiB", grown>>20)
	}
	if testutil.ProcessAlive(pid) {
		t.Errorf("the worker %d survived", pid)
	}
	// The session was reset; the next eval starts a fresh one.
	e.want(e.eval("kept"), 0, "", "<input>:1:1: undefined: kept\n")
	e.want(e.eval("mgr.module_name"), 0, "\"selftest\"\n", "")
}

// buildNested makes x a list nested 300,000 deep: str(x) then stays inside
// one builtin step for minutes.
func buildNested(t *testing.T, e *env) {
	t.Helper()
	e.want(e.eval("x = []\nfor i in range(300000):\n  x = [x]\n"), 0, "", "")
}

// evalAsync runs src in the background.
func evalAsync(e *env, src string) <-chan objectformat.Result {
	done := make(chan objectformat.Result, 1)
	go func() {
		done <- e.m.Dispatch(context.Background(), clicommand.Call{Cmd: map[string]any{"prefix": evalName, "s": src}, Perm: "rw"})
	}()
	return done
}

// TestEvalStuckBuiltinTimesOut is issue #9's second input: str() of a deep
// list ran for minutes inside one builtin, past eval_timeout, and every
// other eval got EBUSY.
func TestEvalStuckBuiltinTimesOut(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	buildNested(t, e)
	setConfig(t, b, "mgr/selftest/eval_timeout", "1")
	start := time.Now()
	done := evalAsync(e, "str(x)")
	var res objectformat.Result
	select {
	case res = <-done:
	case <-time.After(3 * time.Second):
		t.Fatalf("str(x) still runs after %s", time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s, past eval_timeout + 1 s", d)
	}
	e.want(res, -int(syscall.ETIMEDOUT), "", "timeout: eval ran longer than eval_timeout (1s); the session was reset")
	e.want(e.eval("1 + 1"), 0, "2\n", "")
}

// TestEvalDisableStopsEval: disabling the module stops its running eval at
// once and ends the worker.
func TestEvalDisableStopsEval(t *testing.T) {
	b := backend.NewMemoryBackend()
	e := newEnv(t, b)
	buildNested(t, e)
	setConfig(t, b, "mgr/selftest/eval_timeout", "60")
	pid := e.mod.ev.Session().WorkerPID()
	done := evalAsync(e, "mgr.log('stuck eval started')\nstr(x)")
	waitFor(t, "the eval to start", func() bool { return strings.Contains(e.log.String(), "stuck eval started") })
	start := time.Now()
	if _, err := e.m.Disable(context.Background(), Name); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.Retval != -int(syscall.ECANCELED) {
			t.Errorf("the eval ended with %s", res)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the eval still runs after disable")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("disable took %s", d)
	}
	if testutil.ProcessAlive(pid) {
		t.Errorf("the worker %d survived disable", pid)
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
	b := backend.NewMemoryBackend()
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
		{"mgr.get_server('nosuchhost')", `{"ceph_version": "", "hostname": "nosuchhost", "services": []}`},
		{"mgr.get_counter('mgr', 'x', 'mgr.commands')['mgr.commands'][0][1]", "7"},
		{"'mgr.commands' in mgr.get_perf_schema('mgr', 'x')['mgr.x']", "True"},
		{"mgr.get_latest_counter('mgr', 'x', 'mgr.commands')['mgr.commands'][1]", "7"},
		{"mgr.get_latest_counter('mgr', 'x', 'nosuch.counter')", `{"nosuch.counter": []}`},
		{"mgr.get_latest('mgr', 'x', 'mgr.commands')", "7"},
		{"mgr.get_latest('mgr', 'x', 'nosuch.counter')", "0"},
		{"mgr.get_latest_avg('mgr', 'x', 'nosuch.counter')", "(0, 0)"},
		{"mgr.get_all_perf_counters()", "{}"}, // no cluster daemons
		{"mgr.get_all_perf_counters(5, ['mgr'])['mgr.x']['mgr.commands']['value']", "7"},
		{"mgr.get_all_perf_counters(prio_limit=10, services=('mgr',))", "{}"},
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
		{"mgr.set_uri('http://h:1/')", ""},
		{"mgr.get('mgr_map')['services']['selftest']", `"http://h:1/"`},
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
		"mgr.get_latest_avg('mgr', 'x', 'mgr.commands')":                    "mgr.x mgr.commands is not an average (errno -22)",
		"mgr.get_all_perf_counters(5, 'mgr')":                               "get_all_perf_counters: services is string, not a list of strings",
		"mgr.get_all_perf_counters(5, [1])":                                 "a service is int, not a string",
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
	if n := strings.Count(m, "\n"); n != len(newMgrValue(e.mod).AttrNames()) {
		t.Errorf("mgr.: %d completions, want every attribute:\n%s", n, m)
	}
	// Completion runs nothing.
	e.want(e.cmd("mgr self-test eval", "s", "print('not run')", "complete", "pr"), 0, "print\n", "")
}
