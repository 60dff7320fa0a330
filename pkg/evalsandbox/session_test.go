package evalsandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// host is the parent-side state the test globals reach.
type host struct {
	calls   atomic.Int64
	label   atomic.Value // string
	blocked chan struct{}
}

// testGlobals are a "host" object (methods run in the test process) and
// plain values.
func testGlobals(h *host) starlark.StringDict {
	h.label.Store("first")
	builtin := func(name string, fn func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			h.calls.Add(1)
			return fn(thread, args, kwargs)
		})
	}
	obj := &testObject{h: h, methods: map[string]*starlark.Builtin{
		"echo": builtin("echo", func(_ *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if len(kwargs) > 0 {
				d := starlark.NewDict(len(kwargs))
				for _, kv := range kwargs {
					_ = d.SetKey(kv[0], kv[1])
				}
				return starlark.Tuple{args, d}, nil
			}
			if len(args) == 1 {
				return args[0], nil
			}
			return args, nil
		}),
		"fail": builtin("fail", func(_ *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var msg string
			if err := starlark.UnpackArgs("fail", args, kwargs, "msg", &msg); err != nil {
				return nil, err
			}
			return nil, errors.New(msg)
		}),
		"panic": builtin("panic", func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			panic("boom")
		}),
		"deadline": builtin("deadline", func(thread *starlark.Thread, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			_, ok := Context(thread).Deadline()
			return starlark.Bool(ok), nil
		}),
		"block": builtin("block", func(thread *starlark.Thread, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if h.blocked != nil {
				close(h.blocked)
			}
			<-Context(thread).Done()
			return nil, context.Cause(Context(thread))
		}),
		"big": builtin("big", func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			n, _ := starlark.AsInt32(args[0])
			return starlark.String(strings.Repeat("b", n)), nil
		}),
		"child": builtin("child", func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return &testObject{h: h, methods: map[string]*starlark.Builtin{
				"echo": builtin("echo", func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
					return starlark.Tuple{starlark.String("child"), args}, nil
				}),
			}}, nil
		}),
		"unconvertible": builtin("unconvertible", func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.NewSet(1), nil
		}),
	}}
	return starlark.StringDict{
		"host":   obj,
		"answer": starlark.MakeInt(42),
		"cfg":    starlarkstruct.FromStringDict(starlark.String("cfg"), starlark.StringDict{"name": starlark.String("test")}),
		"twice": starlark.NewBuiltin("twice", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			n, _ := starlark.AsInt32(args[0])
			return starlark.MakeInt(2 * n), nil
		}),
	}
}

// testObject is a HasAttrs object of the parent.
type testObject struct {
	h       *host
	methods map[string]*starlark.Builtin
}

func (o *testObject) String() string        { return "<host object>" }
func (o *testObject) Type() string          { return "host" }
func (o *testObject) Freeze()               {}
func (o *testObject) Truth() starlark.Bool  { return starlark.True }
func (o *testObject) Hash() (uint32, error) { return 0, errors.New("unhashable") }
func (o *testObject) AttrNames() []string {
	names := []string{"label"}
	for n := range o.methods {
		names = append(names, n)
	}
	return names
}

func (o *testObject) Attr(name string) (starlark.Value, error) {
	if name == "label" {
		return starlark.String(o.h.label.Load().(string)), nil
	}
	if b, ok := o.methods[name]; ok {
		return b.BindReceiver(o), nil
	}
	return nil, nil
}

type sessionOpt func(*Config)

func withLimits(l Limits) sessionOpt {
	return func(c *Config) { c.Limits = func() Limits { return l } }
}

// limitsVar is limits a test changes between requests.
type limitsVar struct {
	mu sync.Mutex
	l  Limits
}

func (v *limitsVar) set(l Limits) { v.mu.Lock(); v.l = l; v.mu.Unlock() }

func (v *limitsVar) opt() sessionOpt {
	return func(c *Config) { c.Limits = func() Limits { v.mu.Lock(); defer v.mu.Unlock(); return v.l } }
}

func newTestSession(t *testing.T, opts ...sessionOpt) (*Session, *host) {
	t.Helper()
	h := &host{}
	cfg := Config{Name: "test eval", Globals: testGlobals(h), TimeoutName: "test_timeout"}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, h
}

func evalOK(t *testing.T, s *Session, src string) Output {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Eval(ctx, src)
	if err != nil {
		t.Fatalf("eval %q: %v", truncate(src), err)
	}
	return out
}

func wantOut(t *testing.T, s *Session, src, stdout, stderr string) {
	t.Helper()
	out := evalOK(t, s, src)
	if string(out.Stdout) != stdout || out.Stderr != stderr || out.Incomplete {
		t.Errorf("eval %q: got stdout %q stderr %q, want stdout %q stderr %q", truncate(src), truncate(string(out.Stdout)), truncate(out.Stderr), stdout, stderr)
	}
}

// wantErr runs src and checks the request failed with errno and a message
// containing msg.
func wantErr(t *testing.T, s *Session, src string, errno syscall.Errno, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Eval(ctx, src)
	var e *Error
	if !errors.As(err, &e) || e.Errno != errno || !strings.Contains(e.Msg, msg) {
		t.Fatalf("eval %q: got error %v, want errno %d (%v) with %q", truncate(src), err, errno, errno, msg)
	}
}

func TestSessionPersistsAndProxies(t *testing.T) {
	s, h := newTestSession(t, withLimits(Limits{Timeout: time.Minute})) // big values are slow under -race
	wantOut(t, s, "x = 40", "", "")
	wantOut(t, s, "x + 2", "42\n", "")
	wantOut(t, s, "_ + 1", "43\n", "")
	wantOut(t, s, "answer", "42\n", "")
	wantOut(t, s, "twice(21)", "42\n", "")
	wantOut(t, s, "host.label", "\"first\"\n", "")
	h.label.Store("second") // attributes are read at each access
	wantOut(t, s, "host.label", "\"second\"\n", "")
	wantOut(t, s, "cfg.name", "\"test\"\n", "")
	wantOut(t, s, "type(host), str(host), 'echo' in dir(host)", "(\"host\", \"<host object>\", True)\n", "")
	wantOut(t, s, "host.echo", "<built-in method echo of host value>\n", "")
	for _, v := range []string{
		"None", "True", "False", "0", "-7", "9223372036854775807", "-9223372036854775808", "123456789012345678901234567890",
		"-(1 << 200)", "1.5", "-0.0", "float('inf')", "float('-inf')", "\"\"", "\"héllo\\n\\x00\"", "b\"\\xff\\x00\"",
		"[]", "[1, [2, [3]]]", "()", "(1,)", "(1, \"a\", None)", "{}", "{1: 2, \"a\": [3], (1, 2): None}", "[{\"k\": (b\"v\",)}]",
	} {
		wantOut(t, s, "host.echo("+v+")", string(evalOK(t, s, v).Stdout), "")
	}
	wantOut(t, s, "str(host.echo(float('nan')))", "\"nan\"\n", "")
	wantOut(t, s, "host.echo(1, 2, k=3)", "((1, 2), {\"k\": 3})\n", "")
	wantOut(t, s, "list(range(3)) == host.echo(range(3))", "True\n", "")
	wantOut(t, s, "host.deadline()", "True\n", "")
	// Starlark's json module, in every session.
	wantOut(t, s, `json.encode({"a": [1, 2.5, None, True]})`, `"{\"a\":[1,2.5,null,true]}"`+"\n", "")
	wantOut(t, s, `json.decode('{"b": [1]}')["b"]`, "[1]\n", "")
	if n := h.calls.Load(); n < 10 {
		t.Errorf("host calls = %d", n)
	}
	for src, msg := range map[string]string{
		"host.fail('nope')":                 "Error in fail: nope",
		"host.fail()":                       "fail: missing argument for msg",
		"host.panic()":                      "host.panic: internal error: boom",
		"host.echo(len)":                    "echo: cannot pass a builtin_function_or_method value",
		"host.echo(host)":                   "echo: cannot pass a host value",
		"l = []\nl.append(l)\nhost.echo(l)": "value nested more than 64 levels deep",
		"host.unconvertible()":              "host.unconvertible: cannot return the result: cannot pass a set value",
		"host.nosuch":                       "host has no .nosuch field or method",
		"host.echo('x' * (9 << 20))":        "echo: the arguments are too large to pass",
	} {
		out := evalOK(t, s, src)
		if !strings.Contains(out.Stderr, msg) {
			t.Errorf("%s: stderr %q, want %q", src, out.Stderr, msg)
		}
	}
	// A big result crosses (the parent's frames may be larger).
	wantOut(t, s, "len(host.big(10 << 20))", fmt.Sprintln(10<<20), "")
}

func TestSessionCommandProtocol(t *testing.T) {
	s, _ := newTestSession(t)
	ctx := context.Background()
	str := func(v string) *string { return &v }
	for _, c := range []struct {
		src      string
		complete *string
		want     objectformat.Result
	}{
		{"", nil, objectformat.Result{Retval: -int(syscall.EINVAL), Stderr: "source is not specified"}},
		{"def f():", nil, objectformat.Result{Retval: Incomplete}},
		{"def f():\n  return 1\n", nil, objectformat.Result{}},
		{"f()", nil, objectformat.Result{Stdout: []byte("1\n")}},
		{"print('x')\n1 // 0", nil, objectformat.Result{Stdout: []byte("x\n"),
			Stderr: "Traceback (most recent call last):\n  <input>:2:3: in <expr>\nError: floored division by zero\n"}},
		{"print('not run')", str("hos"), objectformat.Result{Stdout: []byte("host\n")}},
		{"", str("host.ec"), objectformat.Result{Stdout: []byte("host.echo\n")}},
		{"", str("nosuch.x"), objectformat.Result{}},
	} {
		got := s.Command(ctx, c.src, c.complete)
		if got.Retval != c.want.Retval || string(got.Stdout) != string(c.want.Stdout) || got.Stderr != c.want.Stderr {
			t.Errorf("Command(%q, %v) = %v, want %v", c.src, c.complete, got, c.want)
		}
	}
}

func TestSessionCompletionWithoutWorker(t *testing.T) {
	s, _ := newTestSession(t)
	ctx := context.Background()
	got, err := s.Complete(ctx, "x = host.l")
	if err != nil || strings.Join(got, ",") != "host.label" {
		t.Fatalf("complete: %q %v", got, err)
	}
	if pid := s.WorkerPID(); pid != 0 {
		t.Errorf("completion started a worker (pid %d)", pid)
	}
	wantOut(t, s, "myvar = 1", "", "")
	got, _ = s.Complete(ctx, "my")
	if strings.Join(got, ",") != "myvar" {
		t.Errorf("complete my: %q", got)
	}
	got, _ = s.Complete(ctx, "cfg.na")
	if strings.Join(got, ",") != "cfg.name" {
		t.Errorf("complete cfg.na: %q", got)
	}
}

func TestSessionLimits(t *testing.T) {
	s, _ := newTestSession(t, withLimits(Limits{MaxSteps: 100_000, MaxOutput: 1000}))
	out := evalOK(t, s, "while True:\n  pass\n")
	if !strings.Contains(out.Stderr, "Starlark computation cancelled: too many steps") {
		t.Errorf("step limit: %+v", out)
	}
	out = evalOK(t, s, "for i in range(1000000):\n  print('line', i)\n")
	if len(out.Stdout) != 1000 || !strings.Contains(out.Stderr, "output limit exceeded (1000 bytes)") ||
		!strings.HasSuffix(out.Stderr, "[output truncated at 1000 bytes]\n") {
		t.Errorf("output cap: %d bytes, stderr %q", len(out.Stdout), out.Stderr)
	}
	out = evalOK(t, s, "'é' * 600")
	if len(out.Stdout) > 1000 || !strings.HasPrefix(string(out.Stdout), "\"é") || strings.ContainsRune(string(out.Stdout), '\uFFFD') {
		t.Errorf("huge value: %d bytes", len(out.Stdout))
	}
	if out := evalOK(t, s, "def r(n):\n  return r(n)\n\nr(1)"); !strings.Contains(out.Stderr, "Error: function r called recursively") {
		t.Errorf("recursion: %q", out.Stderr)
	}
	wantErr(t, s, strings.Repeat("x", MaxSource+1), syscall.E2BIG, "the source is too large")
	// A source within the size limit that takes long to parse and run is
	// stopped at the time limit.
	s, _ = newTestSession(t, withLimits(Limits{Timeout: 300 * time.Millisecond}))
	wantOut(t, s, "1", "1\n", "") // start the worker
	start := time.Now()
	_, err := s.Eval(context.Background(), strings.Repeat("y = 1\n", 600_000))
	if d := time.Since(start); err == nil || d > 300*time.Millisecond+time.Second {
		t.Errorf("long source: %v after %s", err, d)
	}
	s, _ = newTestSession(t)
	wantOut(t, s, strings.Repeat("y = 2\n", 1000)+"y", "2\n", "")
}

func TestSessionSandbox(t *testing.T) {
	s, _ := newTestSession(t)
	wantOut(t, s, "load('x.star', 'y')", "", "Traceback (most recent call last):\n  <input>:1:1: in <toplevel>\nError: load not implemented by this application\n")
	for _, name := range []string{"open", "exec", "eval", "__import__", "time", "os"} {
		wantOut(t, s, name, "", "<input>:1:1: undefined: "+name+"\n")
	}
}

// waitGone polls until pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ProcessAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d still runs", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nestedList is the input that keeps str() inside one builtin step for
// minutes: a list nested 300,000 deep (str() checks each level against
// every enclosing one).
const nestedList = "x = []\nfor i in range(300000):\n  x = [x]\n"

func TestSessionMemoryLimit(t *testing.T) {
	s, _ := newTestSession(t)
	wantOut(t, s, "keep = 'still here'", "", "")
	pid := s.WorkerPID()
	wantErr(t, s, `a = "x" * 1000000000; b = a + a`, syscall.ENOMEM,
		"eval session exceeded its memory limit (256 MiB); the session was reset")
	waitGone(t, pid)
	// The next eval starts a fresh session.
	wantOut(t, s, "keep", "", "<input>:1:1: undefined: keep\n")
	if s.WorkerPID() == pid || s.WorkerPID() == 0 {
		t.Errorf("worker %d after the reset (was %d)", s.WorkerPID(), pid)
	}
	// A smaller limit applies to the running session.
	s2, _ := newTestSession(t, withLimits(Limits{MaxMemory: 32 << 20}))
	wantOut(t, s2, "a = 'x' * (4 << 20)", "", "")
	wantErr(t, s2, "b = [a + str(i) for i in range(60)]", syscall.ENOMEM, "exceeded its memory limit (32 MiB)")
}

func TestSessionDeepStructures(t *testing.T) {
	var lim limitsVar
	lim.set(Limits{Timeout: time.Minute})
	s, _ := newTestSession(t, lim.opt())
	wantOut(t, s, nestedList, "", "")
	lim.set(Limits{Timeout: time.Second})
	start := time.Now()
	wantErr(t, s, "str(x)", syscall.ETIMEDOUT, "timeout: eval ran longer than test_timeout (1s); the session was reset")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("str(x) returned after %s", d)
	}
	wantOut(t, s, "1 + 1", "2\n", "")
	// Deep recursion inside the interpreter ends in the memory limit.
	s, _ = newTestSession(t, withLimits(Limits{Timeout: 20 * time.Second, MaxSteps: 1 << 62}), func(c *Config) { c.Recursion = true })
	wantErr(t, s, "def r(n):\n  return r(n + 1)\n\nr(0)", syscall.ENOMEM, "exceeded its memory limit")
	wantOut(t, s, "1 + 1", "2\n", "")
}

func TestSessionTimeout(t *testing.T) {
	s, _ := newTestSession(t, withLimits(Limits{Timeout: 250 * time.Millisecond, MaxSteps: 1 << 62}))
	wantOut(t, s, "keep = 1", "", "")
	// A run the interpreter can stop keeps the session.
	start := time.Now()
	out := evalOK(t, s, "while True:\n  pass\n")
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	if !strings.HasSuffix(out.Stderr, "\nError: Starlark computation cancelled: timeout: eval ran longer than test_timeout (250ms)\n") {
		t.Errorf("stderr %q", out.Stderr)
	}
	wantOut(t, s, "keep", "1\n", "")
	// A host call is bounded by the time limit too.
	start = time.Now()
	out = evalOK(t, s, "host.block()")
	if d := time.Since(start); d > 2*time.Second || !strings.Contains(out.Stderr, "context deadline exceeded") {
		t.Errorf("block: %q after %s", out.Stderr, d)
	}
	wantOut(t, s, "keep", "1\n", "")
}

func TestSessionCancel(t *testing.T) {
	s, _ := newTestSession(t, withLimits(Limits{Timeout: time.Minute, MaxSteps: 1 << 62}))
	wantOut(t, s, nestedList, "", "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	out, err := s.Eval(ctx, "while True:\n  pass\n")
	if err != nil || !strings.Contains(out.Stderr, "the command was cancelled: context canceled") {
		t.Errorf("cancel a loop: %+v %v", out, err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Eval(ctx, "str(x)")
	var e *Error
	if !errors.As(err, &e) || e.Errno != syscall.ECANCELED || time.Since(start) > 2*time.Second {
		t.Errorf("cancel str(x): %v after %s", err, time.Since(start))
	}
}

func TestSessionBusyIsBounded(t *testing.T) {
	var lim limitsVar
	lim.set(Limits{Timeout: time.Minute})
	s, _ := newTestSession(t, lim.opt())
	wantOut(t, s, nestedList, "", "")
	lim.set(Limits{Timeout: 500 * time.Millisecond})
	first := make(chan error, 1)
	go func() {
		_, err := s.Eval(context.Background(), "str(x)")
		first <- err
	}()
	waitFor(t, "the first eval to run", func() bool { return len(s.sem) == 1 })
	start := time.Now()
	// The second waits for the first to be killed, then runs.
	wantOut(t, s, "1 + 1", "2\n", "")
	if d := time.Since(start); d > 500*time.Millisecond+time.Second {
		t.Errorf("the second eval waited %s", d)
	}
	if err := <-first; err == nil {
		t.Error("str(x) succeeded")
	}
}

func TestSessionClose(t *testing.T) {
	s, _ := newTestSession(t, withLimits(Limits{Timeout: time.Minute}))
	wantOut(t, s, nestedList, "", "")
	pid := s.WorkerPID()
	done := make(chan error, 1)
	go func() {
		_, err := s.Eval(context.Background(), "str(x)")
		done <- err
	}()
	waitFor(t, "the eval to run", func() bool { return len(s.sem) == 1 })
	s.Close()
	if testutil.ProcessAlive(pid) {
		t.Errorf("worker %d survived Close", pid)
	}
	select {
	case err := <-done:
		var e *Error
		if !errors.As(err, &e) || e.Errno != syscall.ECANCELED {
			t.Errorf("eval after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the eval did not stop on Close")
	}
	wantErr(t, s, "1", syscall.ECANCELED, "the eval session was closed")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWorkerHasNoFiles: a descriptor the parent leaked (no close-on-exec)
// is closed in the worker; the worker's descriptors are /dev/null, its
// pipe, its socket and the Go runtime's own.
func TestWorkerHasNoFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	s, _ := newTestSession(t)
	wantOut(t, s, "1", "1\n", "")
	pid := s.WorkerPID()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		switch {
		case target == "/dev/null", strings.HasPrefix(target, "pipe:"), strings.HasPrefix(target, "socket:"),
			strings.HasPrefix(target, "anon_inode:"),
			strings.HasPrefix(target, "/sys/fs/cgroup/"): // the Go runtime reads its CPU quota
		case target == path:
			t.Errorf("worker fd %s is the parent's leaked file", e.Name())
		default:
			t.Errorf("worker fd %s is %s", e.Name(), target)
		}
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimRight(string(env), "\x00"), "\x00"); strings.Join(got, " ") != envWorker+"=1 GOMAXPROCS=1" {
		t.Errorf("worker environment %q", got)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != "/" {
		t.Errorf("worker cwd %q", cwd)
	}
}

// TestWorkerExitsWithoutParent: when the parent's end of the socket goes
// away (the parent died), the worker exits.
func TestWorkerExitsWithoutParent(t *testing.T) {
	w, err := spawnProcess("orphan")
	if err != nil {
		t.Fatal(err)
	}
	pw := w.(*procWorker)
	pw.conn.Close()
	waitGone(t, pw.pid())
	if info := w.exited(time.Now().Add(time.Second)); info == nil || info.code != 1 {
		t.Errorf("exit: %+v", info)
	}
}

// TestWorkerCPULimitBackstop: a worker whose parent never cancels its run
// (a parent that is stopped, say) ends at its CPU limit: the time limit
// plus a margin (2 s; none here), rounded up to a second.
func TestWorkerCPULimitBackstop(t *testing.T) {
	w, err := spawnProcess("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer w.kill(nil)
	lim := toWireLimits(Limits{Timeout: time.Millisecond, MaxSteps: 1 << 62}.withDefaults())
	lim.CPUMarginMS = 0
	deadline := time.Now().Add(5 * time.Second)
	if err := w.send(&message{Op: opInit, Name: "cpu", Limits: lim}, deadline); err != nil {
		t.Fatal(err)
	}
	if m := <-w.messages(); m == nil || m.Op != opReady {
		t.Fatalf("no ready: %+v %v", m, w.readErr())
	}
	if err := w.send(&message{Op: opEval, ID: 1, Src: []byte("while True:\n  pass\n"), Limits: lim}, deadline); err != nil {
		t.Fatal(err)
	}
	info := w.exited(time.Now().Add(30 * time.Second))
	if info == nil {
		t.Fatal("the worker still runs")
	}
	if info.code != exitCPU || !strings.Contains(info.stderr, "CPU time limit exceeded") {
		t.Errorf("exit: %+v", info)
	}
}

// TestSessionResultObjects: a host method that returns an object gives
// the worker a proxy of it (kept between runs), a container holding one
// still fails, and past maxResultObjects the oldest proxies stop working.
func TestSessionResultObjects(t *testing.T) {
	s, _ := newTestSession(t, withLimits(Limits{Timeout: time.Minute}))
	for _, tc := range []struct{ src, stdout string }{
		{"c = host.child()", ""},
		{"type(c), str(c), dir(c)", "(\"host\", \"<host object>\", [\"echo\", \"label\"])\n"},
		{"c.echo(1, 'a')", "(\"child\", (1, \"a\"))\n"},
		{"c.label", "\"first\"\n"},
		{"[host.child().echo(i)[1][0] for i in range(3)]", "[0, 1, 2]\n"},
	} {
		wantOut(t, s, tc.src, tc.stdout, "")
	}
	// The object of a result cannot go back as an argument.
	wantStderr(t, s, "host.echo(c)", "echo: cannot pass a host value")
	wantStderr(t, s, "host.child().child", "host has no .child field or method")
	wantOut(t, s, fmt.Sprintf("x = [host.child() for i in range(%d)]", maxResultObjects), "", "")
	wantStderr(t, s, "c.echo(2)", `no object "#1"`)
	wantOut(t, s, "x[-1].echo(3)", "(\"child\", (3,))\n", "")
}

// wantStderr runs src and checks it failed with an error containing msg.
func wantStderr(t *testing.T, s *Session, src, msg string) {
	t.Helper()
	out := evalOK(t, s, src)
	if len(out.Stdout) != 0 || !strings.Contains(out.Stderr, msg) {
		t.Errorf("eval %q: got stdout %q stderr %q, want an error with %q", src, out.Stdout, out.Stderr, msg)
	}
}
