package evalsandbox

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	starlarkjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"golang.org/x/sys/unix"
)

// Worker mode. A worker is the program's own executable, started by
// spawnProcess with envWorker set and its socket on fd 3. This init
// function recognises it before main runs, so every program that links the
// package (ceph-mgr, a module author's own host, a go test binary) can
// host workers without a call in main: the worker serves its session and
// exits without returning. Without both marks (the variable and a socket
// on fd 3) the program starts normally.
func init() {
	v, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	os.Unsetenv(envWorker)
	if v != workerMagic || !isSocket(workerFD) {
		return
	}
	os.Exit(workerMain())
}

func isSocket(fd int) bool {
	var st syscall.Stat_t
	return syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFSOCK
}

// workerState is the worker's side of a session.
type workerState struct {
	conn net.Conn
	name string
	in   *interp

	wmu      sync.Mutex // one writer at a time
	requests chan *message
	replies  chan *message
	nextID   uint64

	mu           sync.Mutex // the running request, for cancel
	curID        uint64
	cur          *starlark.Thread
	cancelID     uint64
	cancelReason string

	baseData  int64  // VmData after start-up
	baseSys   uint64 // the Go runtime's memory after start-up
	maxMemory int64  // the memory limit in force
}

func workerMain() int {
	closeInheritedFDs()
	syscall.CloseOnExec(workerFD)
	conn, err := fileConn(workerFD)
	if err != nil {
		fmt.Fprintln(os.Stderr, "evalsandbox worker:", err)
		return 1
	}
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, "evalsandbox worker: CPU time limit exceeded")
		os.Exit(exitCPU)
	}()
	w := &workerState{conn: conn, requests: make(chan *message, 1), replies: make(chan *message, 1)}
	initMsg, err := readFrame(conn, maxParentFrame)
	if err != nil || initMsg.Op != opInit || initMsg.Limits == nil {
		fmt.Fprintln(os.Stderr, "evalsandbox worker: no init message:", err)
		return 1
	}
	if err := w.setup(initMsg); err != nil {
		fmt.Fprintln(os.Stderr, "evalsandbox worker:", err)
		return 1
	}
	w.baseData = vmData()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.baseSys = ms.Sys
	w.applyLimits(initMsg.Limits)
	if err := w.write(&message{Op: opReady}); err != nil {
		return 1
	}
	go w.readLoop()
	for req := range w.requests {
		var res *message
		switch req.Op {
		case opEval:
			res = w.eval(req)
		case opComplete:
			w.applyLimits(req.Limits)
			res = &message{Op: opResult}
			for _, c := range complete(w.in.globals, string(req.Src)) {
				res.Candidates = append(res.Candidates, []byte(c))
			}
		}
		res.ID = req.ID
		if err := w.write(res); err != nil {
			return 1
		}
	}
	return 0
}

// closeInheritedFDs closes every descriptor above stderr that this process
// inherited, except the socket. Inherited ones are exactly those without
// close-on-exec (exec closed the others); everything the Go runtime and
// the package initialisers opened here has it.
func closeInheritedFDs() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 || fd == workerFD {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
}

// setup builds the interpreter and the proxies of the parent's objects.
func (w *workerState) setup(m *message) error {
	w.name = m.Name
	// Starlark's json module (encode, decode, indent), in the worker: a
	// global of the host's named json replaces it.
	w.in = &interp{opts: fileOptions(m.Recursion), globals: starlark.StringDict{"json": starlarkjson.Module}}
	for _, g := range m.Globals {
		switch g.Kind {
		case globalValue:
			if g.Value == nil {
				return fmt.Errorf("global %s has no value", g.Name)
			}
			v, err := decode(g.Value, 0)
			if err != nil {
				return fmt.Errorf("global %s: %w", g.Name, err)
			}
			w.in.globals[g.Name] = v
		case globalObject:
			w.in.globals[g.Name] = newProxyObject(w, g)
		case globalFunc:
			w.in.globals[g.Name] = starlark.NewBuiltin(g.Name, w.proxyCall(g.Name, ""))
		default:
			return fmt.Errorf("global %s: unknown kind %q", g.Name, g.Kind)
		}
	}
	return nil
}

func (w *workerState) write(m *message) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return writeFrame(w.conn, m, maxChildFrame)
}

// readLoop dispatches the parent's messages; when the socket ends (the
// parent died or gave up on this worker) the worker exits.
func (w *workerState) readLoop() {
	for {
		m, err := readFrame(w.conn, maxParentFrame)
		if err != nil {
			os.Exit(0)
		}
		switch m.Op {
		case opCancel:
			w.cancel(m.ID, m.Reason)
		case opReply:
			w.replies <- m
		case opEval, opComplete:
			if m.Limits == nil {
				fmt.Fprintln(os.Stderr, "evalsandbox worker: a request without limits")
				os.Exit(1)
			}
			w.requests <- m
		default:
			fmt.Fprintln(os.Stderr, "evalsandbox worker: unexpected message", m.Op)
			os.Exit(1)
		}
	}
}

func (w *workerState) cancel(id uint64, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id == w.curID && w.cur != nil {
		w.cur.Cancel(reason)
		return
	}
	w.cancelID, w.cancelReason = id, reason
}

func (w *workerState) setCurrent(id uint64, t *starlark.Thread) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.curID, w.cur = id, t
	if t != nil && w.cancelID == id {
		t.Cancel(w.cancelReason)
	}
}

func (w *workerState) eval(req *message) *message {
	lim := req.Limits
	w.applyLimits(lim)
	src := string(req.Src)
	if needsMore(w.in.opts, src) {
		return &message{Op: opResult, Incomplete: true}
	}
	thread := &starlark.Thread{Name: w.name}
	out := newCapWriter(lim.MaxOutput, func() { thread.Cancel(fmt.Sprintf("output limit exceeded (%d bytes)", lim.MaxOutput)) })
	errs := newCapWriter(lim.MaxOutput, nil)
	thread.Print = func(_ *starlark.Thread, msg string) { out.write(msg + "\n") }
	// Load is nil: load() fails with "load not implemented by this
	// application".
	thread.SetMaxExecutionSteps(lim.MaxSteps)
	w.setCurrent(req.ID, thread)
	func() {
		defer func() {
			if p := recover(); p != nil {
				errs.write(fmt.Sprintf("internal error of the interpreter: %v\n", p))
			}
		}()
		w.in.exec(thread, src, out, errs)
	}()
	w.setCurrent(0, nil)
	if out.b.truncated {
		errs.write(truncatedNote(lim.MaxOutput))
	}
	return &message{Op: opResult, Stdout: out.buf.Bytes(), Stderr: errs.buf.Bytes()}
}

// applyLimits sets the memory limit (RLIMIT_DATA above the start-up
// baseline, and the Go runtime's soft limit) and a CPU backstop
// (RLIMIT_CPU: the CPU used so far, plus the time limit, plus the margin).
func (w *workerState) applyLimits(l *wireLimits) {
	if l.MaxMemory > 0 && l.MaxMemory != w.maxMemory {
		w.maxMemory = l.MaxMemory
		var cur unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_DATA, &cur) == nil {
			want := uint64(w.baseData) + uint64(l.MaxMemory)*raceFactor
			if cur.Max != unix.RLIM_INFINITY && want > cur.Max {
				want = cur.Max
			}
			_ = unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: want, Max: cur.Max})
		}
		debug.SetMemoryLimit(int64(w.baseSys) + l.MaxMemory)
	}
	var ru unix.Rusage
	var cur unix.Rlimit
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil && unix.Getrlimit(unix.RLIMIT_CPU, &cur) == nil {
		used := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + time.Duration(l.TimeoutMS+l.CPUMarginMS)*time.Millisecond
		want := uint64(math.Ceil(used.Seconds()))
		if cur.Max != unix.RLIM_INFINITY && want > cur.Max {
			want = cur.Max
		}
		_ = unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: want, Max: cur.Max})
	}
}

// vmData is the process's data segment (private writable memory, what
// RLIMIT_DATA counts), in bytes.
func vmData() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmData:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// ---- proxies of the parent's objects ----

// proxyObject stands for an object of the parent: its methods are proxy
// builtins, its other attributes are read from the parent at each access.
type proxyObject struct {
	spec    globalSpec
	methods map[string]*starlark.Builtin
	attrs   map[string]bool
	names   []string
	w       *workerState
}

var _ starlark.HasAttrs = (*proxyObject)(nil)

func newProxyObject(w *workerState, g globalSpec) *proxyObject {
	p := &proxyObject{spec: g, methods: map[string]*starlark.Builtin{}, attrs: map[string]bool{}, w: w}
	for _, m := range g.Methods {
		p.methods[m] = starlark.NewBuiltin(m, w.proxyCall(g.Name, m)).BindReceiver(p)
		p.names = append(p.names, m)
	}
	for _, a := range g.Attrs {
		p.attrs[a] = true
		p.names = append(p.names, a)
	}
	sort.Strings(p.names)
	return p
}

func (p *proxyObject) String() string       { return p.spec.Str }
func (p *proxyObject) Type() string         { return p.spec.Type }
func (p *proxyObject) Freeze()              {}
func (p *proxyObject) Truth() starlark.Bool { return starlark.True }
func (p *proxyObject) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", p.spec.Type)
}
func (p *proxyObject) AttrNames() []string { return append([]string(nil), p.names...) }

// Attr returns a method, or reads an attribute from the parent; nil means
// "no such attribute".
func (p *proxyObject) Attr(name string) (starlark.Value, error) {
	if b, ok := p.methods[name]; ok {
		return b, nil
	}
	if !p.attrs[name] {
		return nil, nil
	}
	rep, err := p.w.roundTrip(&message{Op: opAttr, Obj: p.spec.Name, Attr: name})
	if err != nil {
		return nil, err
	}
	return p.w.replyValue(rep)
}

// proxyCall returns a builtin's function that runs obj.attr (obj itself
// when attr is "") in the parent.
func (w *workerState) proxyCall(obj, attr string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		pos, keys, vals, err := encodeArgs(args, kwargs, maxChildFrame-4096)
		if errors.Is(err, errValueTooLarge) {
			return nil, fmt.Errorf("%s: the arguments are too large to pass (limit %d bytes)", fn.Name(), maxChildFrame-4096)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		rep, err := w.roundTrip(&message{Op: opCall, Obj: obj, Attr: attr, Args: pos, KwKeys: keys, KwVals: vals})
		if err != nil {
			return nil, err
		}
		return w.replyValue(rep)
	}
}

// roundTrip sends a call or attribute read and waits for its reply. The
// parent always replies or kills the worker.
func (w *workerState) roundTrip(m *message) (*message, error) {
	w.nextID++
	m.ID = w.nextID
	if err := w.write(m); err != nil {
		return nil, fmt.Errorf("send to the daemon: %w", err)
	}
	rep := <-w.replies
	if rep.ID != m.ID {
		fmt.Fprintf(os.Stderr, "evalsandbox worker: reply %d to request %d\n", rep.ID, m.ID)
		os.Exit(1)
	}
	return rep, nil
}

func (w *workerState) replyValue(rep *message) (starlark.Value, error) {
	if rep.Err != nil {
		return nil, errors.New(string(rep.Err))
	}
	if g := rep.Object; g != nil {
		if g.Kind != globalObject || !strings.HasPrefix(g.Name, "#") || rep.Value != nil {
			return nil, fmt.Errorf("bad reply from the daemon: an object %q of kind %q", g.Name, g.Kind)
		}
		return newProxyObject(w, *g), nil
	}
	if rep.Value == nil {
		return starlark.None, nil
	}
	v, err := decode(rep.Value, 0)
	if err != nil {
		return nil, fmt.Errorf("bad reply from the daemon: %w", err)
	}
	return v, nil
}
