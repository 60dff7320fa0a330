package evalsandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Default limits.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultMaxSteps  = 10_000_000
	DefaultMaxOutput = 1 << 20
	DefaultMaxMemory = 256 << 20
)

// MaxSource is the largest source (or completion text) a request takes, in
// bytes.
const MaxSource = 4 << 20

// Incomplete is the retval Command returns for source that needs more
// lines.
const Incomplete = 2

// Internal timing: how long a worker may take to start, how long a
// cancelled run may take to stop before its worker is killed (the time
// limit plus killGrace stays well under the time limit plus 1 s), how long
// a worker whose socket ended may take to exit before it is killed, and
// how long Close waits for a killed worker to be reaped.
const (
	startTimeout = 10 * time.Second
	killGrace    = 300 * time.Millisecond
	exitWait     = 500 * time.Millisecond
	reapTimeout  = 2 * time.Second
)

// Limits bound the requests of a session. A zero field takes its default.
type Limits struct {
	// Timeout is the wall-clock limit of one request (DefaultTimeout).
	Timeout time.Duration
	// MaxSteps is the Starlark execution steps of one run
	// (DefaultMaxSteps); math.MaxUint64 means no step limit.
	MaxSteps uint64
	// MaxOutput caps one run's stdout, and separately its stderr, in bytes
	// (DefaultMaxOutput; at most 2 MiB).
	MaxOutput int
	// MaxMemory is the memory the session's worker may use beyond what it
	// needs to start (DefaultMaxMemory).
	MaxMemory int64
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxSteps == 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxOutput > maxChildFrame/4 {
		l.MaxOutput = maxChildFrame / 4
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	return l
}

// Config describes the sessions of one eval command.
type Config struct {
	// Name names the interpreter thread and the worker process, e.g.
	// "mgr self-test eval".
	Name string
	// Globals are every session's predeclared names. A plain value (None,
	// bool, int, float, string, bytes, list, tuple, dict) is copied into the
	// worker. Any other value stays in this process: an object with
	// attributes (starlark.HasAttrs, like a module's "mgr") is replaced in
	// the worker by a proxy with the same type name, str() and attribute
	// names, whose methods (the callable attributes) run here and whose
	// other attributes are read from here at each access; a callable is
	// replaced by a proxy function. Arguments and results cross as plain
	// values, except that a result that is an object with attributes (not
	// a dict, list or set) stays here and the worker gets a proxy of it
	// (see the package documentation). Each attribute of an object
	// is read once when a session starts, to tell methods from values.
	Globals starlark.StringDict
	// Recursion allows recursive Starlark functions; deep recursion then
	// ends in the memory limit.
	Recursion bool
	// Limits returns the limits of the next request; nil means the
	// defaults. A change of MaxMemory applies to the running session.
	Limits func() Limits
	// TimeoutName names the time limit in messages, e.g. "eval_timeout"
	// for an option ("the time limit" if empty).
	TimeoutName string
}

// Output is the result of a run.
type Output struct {
	// Incomplete means the source needs more lines; nothing ran.
	Incomplete bool
	// Stdout has print() output and the repr of top-level expressions.
	Stdout []byte
	// Stderr has the error that stopped the run (a backtrace, a syntax
	// error) and limit notes.
	Stderr string
}

// Error is a failure of a request: the session is busy, a limit killed its
// worker, or the session is closed. It carries a negative errno for the
// command's result (it is an objectformat.ErrorResponseBase).
type Error struct {
	Errno syscall.Errno
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// FormatResponse returns (-errno, "", message).
func (e *Error) FormatResponse() objectformat.Result {
	return objectformat.Result{Retval: -int(e.Errno), Stderr: e.Msg}
}

func newError(errno syscall.Errno, format string, args ...any) *Error {
	return &Error{Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// Session is one eval session: Starlark globals that persist between runs,
// kept in a worker process started on the first run and reused by the
// next ones. One request runs at a time. A session is safe for concurrent
// use; Close ends it.
type Session struct {
	cfg     Config
	sem     chan struct{}
	closing chan struct{}

	nextID uint64 // of requests; under sem

	mu     sync.Mutex
	closed bool
	live   *live
}

// live is a running worker and the objects its proxies stand for.
type live struct {
	w worker

	mu      sync.Mutex
	objects map[string]*hostObject
	results []string // the names of the objects of results, oldest first
	nextObj uint64
}

// hostObject is a global that stays in the parent.
type hostObject struct {
	v       starlark.Value
	methods map[string]bool // callable attributes
	attrs   map[string]bool // other attributes
	fn      bool            // the global itself is called
}

// New returns a session for cfg. It starts no process: the first run does.
func New(cfg Config) (*Session, error) {
	if _, _, err := buildGlobals(cfg.Globals); err != nil {
		return nil, err
	}
	return &Session{cfg: cfg, sem: make(chan struct{}, 1), closing: make(chan struct{})}, nil
}

func (s *Session) name() string {
	if s.cfg.Name != "" {
		return s.cfg.Name
	}
	return "eval"
}

func (s *Session) limits() Limits {
	var l Limits
	if s.cfg.Limits != nil {
		l = s.cfg.Limits()
	}
	return l.withDefaults()
}

// buildGlobals describes the globals to a worker.
func buildGlobals(globals starlark.StringDict) ([]globalSpec, map[string]*hostObject, error) {
	names := make([]string, 0, len(globals))
	for n := range globals {
		names = append(names, n)
	}
	sort.Strings(names)
	var specs []globalSpec
	objects := map[string]*hostObject{}
	for _, n := range names {
		v := globals[n]
		if w, err := (&encoder{left: maxParentFrame}).encode(v, 0); err == nil {
			specs = append(specs, globalSpec{Name: n, Kind: globalValue, Value: &w})
			continue
		}
		switch x := v.(type) {
		case starlark.HasAttrs:
			o, g := describeObject(n, x)
			objects[n] = o
			specs = append(specs, g)
		case starlark.Callable:
			objects[n] = &hostObject{v: v, fn: true}
			specs = append(specs, globalSpec{Name: n, Kind: globalFunc, Type: x.Type(), Str: x.String()})
		default:
			return nil, nil, fmt.Errorf("evalsandbox: global %s: a %s is neither a plain value, an object with attributes nor a callable", n, v.Type())
		}
	}
	return specs, objects, nil
}

// describeObject is the host side and the worker's description of an
// object with attributes named name: each attribute is read once, to tell
// methods from values.
func describeObject(name string, x starlark.HasAttrs) (*hostObject, globalSpec) {
	o := &hostObject{v: x, methods: map[string]bool{}, attrs: map[string]bool{}}
	g := globalSpec{Name: name, Kind: globalObject, Type: x.Type(), Str: x.String()}
	for _, a := range x.AttrNames() {
		av, err := x.Attr(a)
		if _, callable := av.(starlark.Callable); err == nil && callable {
			o.methods[a] = true
			g.Methods = append(g.Methods, a)
		} else {
			o.attrs[a] = true
			g.Attrs = append(g.Attrs, a)
		}
	}
	return o, g
}

// maxResultObjects bounds the objects a session keeps for the results of
// host methods that are objects (see live.addObject).
const maxResultObjects = 1024

// addObject keeps an object a host method returned, under a new name the
// worker's proxy uses ("#1", "#2"... which no global can be named). Past
// maxResultObjects the oldest is dropped: calling its proxy then fails
// with "no object". The globals are never dropped.
func (l *live) addObject(x starlark.HasAttrs) globalSpec {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextObj++
	name := "#" + strconv.FormatUint(l.nextObj, 10)
	o, g := describeObject(name, x)
	l.objects[name] = o
	l.results = append(l.results, name)
	if len(l.results) > maxResultObjects {
		delete(l.objects, l.results[0])
		l.results = l.results[1:]
	}
	return g
}

// builtinType reports whether v is of one of Starlark's own types that
// have attributes (their methods): those pass as values or not at all.
func builtinType(v starlark.Value) bool {
	switch v.(type) {
	case *starlark.Dict, *starlark.List, *starlark.Set, starlark.String, starlark.Bytes:
		return true
	}
	return false
}

// object returns the object a proxy stands for.
func (l *live) object(name string) *hostObject {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.objects[name]
}

// Command runs the eval protocol of Ceph's "mgr self-test eval": with
// complete set it returns the completions of its last word, one per line;
// otherwise empty src is -EINVAL "source is not specified", incomplete
// source gives retval Incomplete (2) and complete source runs and gives
// (0, output, errors). A failed request gives its Error's errno and
// message.
func (s *Session) Command(ctx context.Context, src string, complete *string) objectformat.Result {
	if complete != nil {
		cands, err := s.Complete(ctx, *complete)
		if err != nil {
			return objectformat.ResultOf(err)
		}
		var b strings.Builder
		for _, c := range cands {
			b.WriteString(c + "\n")
		}
		return objectformat.Result{Stdout: []byte(b.String())}
	}
	if src == "" {
		return objectformat.Result{Retval: -int(syscall.EINVAL), Stderr: "source is not specified"}
	}
	out, err := s.Eval(ctx, src)
	if err != nil {
		return objectformat.ResultOf(err)
	}
	if out.Incomplete {
		return objectformat.Result{Retval: Incomplete}
	}
	return objectformat.Result{Stdout: out.Stdout, Stderr: out.Stderr}
}

// Eval runs src in the session, or reports that it is incomplete.
func (s *Session) Eval(ctx context.Context, src string) (Output, error) {
	if len(src) > MaxSource {
		return Output{}, newError(syscall.E2BIG, "the source is too large (%d bytes; the limit is %d)", len(src), MaxSource)
	}
	res, err := s.request(ctx, opEval, src, true)
	if err != nil {
		return Output{}, err
	}
	return Output{Incomplete: res.Incomplete, Stdout: res.Stdout, Stderr: string(res.Stderr)}, nil
}

// Complete returns the completions of the last word of text (its trailing
// run of letters, digits, '_' and '.'), sorted: global names, builtins and
// keywords, or for "a.b.pre" the attributes of a.b (looked up, never
// evaluated) that start with "pre". Without a running worker it completes
// against a fresh session's names and starts none.
func (s *Session) Complete(ctx context.Context, text string) ([]string, error) {
	if len(text) > MaxSource {
		return nil, newError(syscall.E2BIG, "the text is too large (%d bytes; the limit is %d)", len(text), MaxSource)
	}
	res, err := s.request(ctx, opComplete, text, false)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return complete(s.cfg.Globals, text), nil
	}
	out := make([]string, len(res.Candidates))
	for i, c := range res.Candidates {
		out[i] = string(c)
	}
	return out, nil
}

// WorkerPID is the process id of the session's worker, 0 if none runs
// (for diagnostics and tests).
func (s *Session) WorkerPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		return 0
	}
	return s.live.w.pid()
}

// Close ends the session: a running request stops at once with -ECANCELED
// and the worker is killed and reaped (within a bound). Later requests
// fail with -ECANCELED.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	l := s.live
	s.live = nil
	s.mu.Unlock()
	if l != nil {
		l.w.kill(errClosed)
		l.w.exited(time.Now().Add(reapTimeout))
	}
}

var errClosed = newError(syscall.ECANCELED, "the eval session was closed: the module is stopping")

// request runs one request under the session's lock. Without a worker, a
// request that does not need one (start false) returns nil.
func (s *Session) request(ctx context.Context, op, text string, start bool) (*message, error) {
	lim := s.limits()
	// A running request ends within its time limit and killGrace.
	wait := time.NewTimer(lim.Timeout + time.Second)
	defer wait.Stop()
	select {
	case s.sem <- struct{}{}:
	case <-s.closing:
		return nil, errClosed
	case <-ctx.Done():
		return nil, newError(syscall.ECANCELED, "the command was cancelled: %v", context.Cause(ctx))
	case <-wait.C:
		return nil, newError(syscall.EBUSY, "another %s is still running; try again", s.name())
	}
	defer func() { <-s.sem }()

	s.mu.Lock()
	l, closed := s.live, s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if l == nil {
		if !start {
			return nil, nil
		}
		var err error
		if l, err = s.start(ctx, lim); err != nil {
			return nil, err
		}
	}
	s.nextID++
	return s.run(ctx, l, &message{Op: op, ID: s.nextID, Src: []byte(text), Limits: toWireLimits(lim)}, lim)
}

// start starts a worker and waits for it to be ready.
func (s *Session) start(ctx context.Context, lim Limits) (*live, error) {
	specs, objects, err := buildGlobals(s.cfg.Globals)
	if err != nil {
		return nil, newError(syscall.EINVAL, "%v", err)
	}
	w, err := spawnFunc(s.cfg.Name)
	if err != nil {
		return nil, newError(syscall.EIO, "cannot start the eval sandbox: %v", err)
	}
	l := &live{w: w, objects: objects}
	deadline := time.Now().Add(startTimeout)
	fail := func(why error) (*live, error) {
		w.kill(why)
		var e *Error
		if errors.As(why, &e) && e.Errno == syscall.ECANCELED {
			return nil, e
		}
		detail := why.Error()
		if info := w.exited(time.Now().Add(reapTimeout)); info != nil && info.firstLine() != "" {
			detail += ": " + info.firstLine()
		}
		return nil, newError(syscall.EIO, "cannot start the eval sandbox: %s", detail)
	}
	init := &message{Op: opInit, Name: s.cfg.Name, Recursion: s.cfg.Recursion, Globals: specs, Limits: toWireLimits(lim)}
	if err := w.send(init, deadline); err != nil {
		return fail(fmt.Errorf("send the session's set-up: %w", err))
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case m, ok := <-w.messages():
		switch {
		case !ok:
			return fail(fmt.Errorf("the worker ended while starting: %v", w.readErr()))
		case m.Op != opReady:
			return fail(fmt.Errorf("the worker sent %q instead of %q", m.Op, opReady))
		}
	case <-timer.C:
		return fail(fmt.Errorf("the worker did not start within %s", startTimeout))
	case <-ctx.Done():
		return fail(newError(syscall.ECANCELED, "the command was cancelled: %v", context.Cause(ctx)))
	case <-s.closing:
		return fail(errClosed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		w.kill(errClosed)
		return nil, errClosed
	}
	s.live = l
	return l, nil
}

// drop forgets l as the session's worker (the next run starts a fresh one)
// after killing it for why.
func (s *Session) drop(l *live, why error) {
	l.w.kill(why)
	s.mu.Lock()
	if s.live == l {
		s.live = nil
	}
	s.mu.Unlock()
}

// timeoutText is the reason a run stops at its time limit.
func (s *Session) timeoutText(lim Limits) string {
	return fmt.Sprintf("timeout: eval ran longer than %s (%s)", s.timeoutName(), lim.Timeout)
}

// resetNote ends the message of a request whose worker was killed.
const resetNote = "; the session was reset"

// run sends req to the worker and serves the worker's calls until its
// result arrives. At the time limit, or when ctx ends, it asks the worker
// to cancel the run (which keeps the session); if the run has not stopped
// killGrace later, it kills the worker and the session starts afresh.
func (s *Session) run(ctx context.Context, l *live, req *message, lim Limits) (*message, error) {
	hard := time.Now().Add(lim.Timeout + killGrace)
	runCtx, cancelRun := context.WithTimeout(ctx, lim.Timeout)
	defer cancelRun()
	if err := l.w.send(req, hard); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) { // the worker did not read it in time
			err := newError(syscall.ETIMEDOUT, "%s%s", s.timeoutText(lim), resetNote)
			s.drop(l, err)
			return nil, err
		}
		return nil, s.lost(l, lim, fmt.Errorf("send the request: %w", err))
	}
	timeout := time.NewTimer(lim.Timeout)
	defer timeout.Stop()
	var kill <-chan time.Time
	var stopErr error
	done := ctx.Done()
	stop := func(reason string, errno syscall.Errno) {
		if stopErr == nil {
			stopErr = newError(errno, "%s%s", reason, resetNote)
			kill = time.After(killGrace)
			// A worker that does not read is killed at the deadline anyway.
			_ = l.w.send(&message{Op: opCancel, ID: req.ID, Reason: reason}, time.Now().Add(killGrace))
		}
	}
	replies := make(chan *message, 1)
	calling := false
	for {
		select {
		case m, ok := <-l.w.messages():
			switch {
			case !ok:
				return nil, s.lost(l, lim, l.w.readErr())
			case m.Op == opResult && m.ID == req.ID && !calling:
				if req.Op == opComplete && (m.Incomplete || m.Stdout != nil || m.Stderr != nil) ||
					req.Op == opEval && m.Candidates != nil {
					return nil, s.lost(l, lim, fmt.Errorf("a malformed %s result", req.Op))
				}
				return m, nil
			case (m.Op == opCall || m.Op == opAttr) && !calling:
				calling = true
				go func() { replies <- l.serve(runCtx, s.cfg.Name, m) }()
			default:
				return nil, s.lost(l, lim, fmt.Errorf("an unexpected %q message (id %d)", m.Op, m.ID))
			}
		case rep := <-replies:
			calling = false
			if err := l.w.send(rep, hard); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					return nil, s.lost(l, lim, fmt.Errorf("send a reply: %w", err))
				}
				if stopErr == nil {
					stopErr = newError(syscall.ETIMEDOUT, "%s%s", s.timeoutText(lim), resetNote)
				}
				s.drop(l, stopErr)
				return nil, stopErr
			}
		case <-timeout.C:
			stop(s.timeoutText(lim), syscall.ETIMEDOUT)
		case <-done:
			done = nil
			stop("the command was cancelled: "+context.Cause(ctx).Error(), syscall.ECANCELED)
		case <-kill:
			s.drop(l, stopErr)
			return nil, stopErr
		case <-s.closing:
			s.drop(l, errClosed)
			return nil, errClosed
		}
	}
}

// lost handles a worker that ended, broke the protocol or stopped
// listening: it is killed, and the error says why it ended.
func (s *Session) lost(l *live, lim Limits, cause error) error {
	protocol := cause != nil && !errors.Is(cause, io.EOF) && !errors.Is(cause, os.ErrClosed)
	var why error
	if protocol {
		why = fmt.Errorf("protocol error: %w", cause)
		l.w.kill(why)
	}
	// A worker whose socket ended is exiting; give it a moment to say why.
	info := l.w.exited(time.Now().Add(exitWait))
	s.drop(l, why)
	if info == nil {
		info = l.w.exited(time.Now().Add(reapTimeout))
	}
	switch {
	case info != nil && info.killedFor != nil:
		var e *Error
		if errors.As(info.killedFor, &e) {
			return e
		}
		return newError(syscall.EIO, "the eval session broke its protocol (%v)%s", cause, resetNote)
	case protocol:
		return newError(syscall.EIO, "the eval session broke its protocol (%v)%s", cause, resetNote)
	case info != nil && info.outOfMemory():
		return newError(syscall.ENOMEM, "eval session exceeded its memory limit (%s)%s", sizeText(lim.MaxMemory), resetNote)
	case info != nil && info.code == exitCPU:
		return newError(syscall.ETIMEDOUT, "eval session used more CPU time than %s allows%s", s.timeoutName(), resetNote)
	case info != nil:
		msg := info.state
		if line := info.firstLine(); line != "" {
			msg += ": " + line
		}
		return newError(syscall.EIO, "eval session ended unexpectedly (%s)%s", msg, resetNote)
	}
	return newError(syscall.EIO, "eval session stopped answering%s", resetNote)
}

func (s *Session) timeoutName() string {
	if s.cfg.TimeoutName != "" {
		return s.cfg.TimeoutName
	}
	return "the time limit"
}

// sizeText renders a byte count as "256 MiB" when it is a whole number of
// KiB, MiB or GiB, else in bytes.
func sizeText(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// contextKey is the thread-local key of a request's context.
const contextKey = "evalsandbox.context"

// Context returns the context of the request a host method runs for: the
// command's context, ended at the request's time limit. Without one it
// returns context.Background().
func Context(thread *starlark.Thread) context.Context {
	if ctx, ok := thread.Local(contextKey).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

// serve runs a worker's call or attribute read and returns the reply.
func (l *live) serve(ctx context.Context, name string, m *message) (rep *message) {
	rep = &message{Op: opReply, ID: m.ID}
	label := m.Obj
	if m.Attr != "" {
		label += "." + m.Attr
	}
	defer func() {
		if p := recover(); p != nil {
			rep.Value = nil
			rep.Err = []byte(fmt.Sprintf("%s: internal error: %v", label, p))
		}
	}()
	v, err := l.hostCall(ctx, name, m)
	if err == nil {
		var w wval
		w, err = (&encoder{left: maxParentFrame - 4096}).encode(v, 0)
		if x, ok := v.(starlark.HasAttrs); ok && err != nil && !errors.Is(err, errValueTooLarge) && !builtinType(v) {
			// An object (not a dict, list or set that holds something
			// that cannot pass): it stays here, the worker gets a proxy
			// for it.
			g := l.addObject(x)
			rep.Object = &g
			return rep
		}
		if errors.Is(err, errValueTooLarge) {
			err = fmt.Errorf("%s: the result is too large to pass (limit %d bytes)", label, maxParentFrame-4096)
		} else if err != nil {
			err = fmt.Errorf("%s: cannot return the result: %w", label, err)
		}
		rep.Value = &w
	}
	if err != nil {
		rep.Value = nil
		msg := err.Error()
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			msg = ee.Msg
		}
		if msg == "" {
			msg = label + ": error"
		}
		rep.Err = []byte(msg)
	}
	return rep
}

func (l *live) hostCall(ctx context.Context, name string, m *message) (starlark.Value, error) {
	o := l.object(m.Obj)
	if o == nil {
		return nil, fmt.Errorf("no object %q", m.Obj)
	}
	if m.Op == opAttr {
		if !o.attrs[m.Attr] {
			return nil, fmt.Errorf("%s has no attribute %q", m.Obj, m.Attr)
		}
		v, err := o.v.(starlark.HasAttrs).Attr(m.Attr)
		if err == nil && v == nil {
			err = fmt.Errorf("%s has no .%s field or method", o.v.Type(), m.Attr)
		}
		return v, err
	}
	fn := o.v
	switch {
	case o.fn && m.Attr == "":
	case o.methods[m.Attr]:
		v, err := o.v.(starlark.HasAttrs).Attr(m.Attr)
		if err != nil {
			return nil, err
		}
		fn = v
	default:
		return nil, fmt.Errorf("%s has no method %q", m.Obj, m.Attr)
	}
	args, kwargs, err := decodeArgs(m)
	if err != nil {
		return nil, fmt.Errorf("bad arguments: %w", err)
	}
	thread := &starlark.Thread{Name: name, Print: func(*starlark.Thread, string) {}}
	thread.SetLocal(contextKey, ctx)
	return starlark.Call(thread, fn, args, kwargs)
}
