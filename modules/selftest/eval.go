package selftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// evalIncomplete is eval's retval for input that needs more lines.
const evalIncomplete = 2

// evalFilename names the source in positions and backtraces.
const evalFilename = "<input>"

// evaluator is the eval session of one module instance: its globals
// persist between calls. One call runs at a time.
type evaluator struct {
	sem       chan struct{}
	globals   starlark.StringDict
	opts      *syntax.FileOptions
	maxSteps  uint64
	maxOutput int
}

func newEvaluator(m *Module) *evaluator {
	return &evaluator{
		sem:     make(chan struct{}, 1),
		globals: starlark.StringDict{"mgr": newMgrValue(m)},
		// No Recursion: unbounded recursion would exhaust the Go stack,
		// which no limit catches.
		opts:      &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true},
		maxSteps:  defaultEvalMaxSteps,
		maxOutput: defaultEvalMaxOutput,
	}
}

// evalTimeout is the eval_timeout option as a duration.
func (m *Module) evalTimeout() time.Duration {
	secs, err := m.h.FloatOption("eval_timeout")
	if err != nil || secs <= 0 {
		secs = defaultEvalTimeout
	}
	return time.Duration(secs * float64(time.Second))
}

// eval is "mgr self-test eval".
func (m *Module) eval(ctx context.Context, a *evalArgs) objectformat.Result {
	src := ""
	switch {
	case a.S != nil && *a.S != "":
		src = *a.S
	case len(a.Inbuf) > 0:
		src = string(a.Inbuf)
	}
	if src == "" && a.Complete == nil {
		return objectformat.Failed(-int(syscall.EINVAL), "source is not specified")
	}
	ev := m.ev
	timeout := m.evalTimeout()
	// A running eval ends within its own time limit.
	lockCtx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	select {
	case ev.sem <- struct{}{}:
	case <-lockCtx.Done():
		return objectformat.Failed(-int(syscall.EBUSY), "another mgr self-test eval is still running; try again")
	}
	defer func() { <-ev.sem }()

	if a.Complete != nil {
		var b strings.Builder
		for _, c := range ev.complete(*a.Complete) {
			b.WriteString(c + "\n")
		}
		return objectformat.OK(b.String())
	}
	if ev.needsMore(src) {
		return objectformat.Result{Retval: evalIncomplete}
	}
	stdout, stderr := ev.exec(ctx, src, timeout)
	return objectformat.Result{Stdout: stdout, Stderr: stderr}
}

// needsMore reports whether src is incomplete: it feeds the source line by
// line to syntax.ParseCompoundStmt, the REPL's parser, and reports whether
// the parser asked for a line past the end. A def/if/for/while block is
// complete only when a blank line follows it ("\n" at the end of src).
func (ev *evaluator) needsMore(src string) bool {
	lines := strings.Split(src, "\n")
	next := 0
	for next < len(lines) {
		start := next
		exhausted := false
		readline := func() ([]byte, error) {
			if next >= len(lines) {
				exhausted = true
				return nil, io.EOF
			}
			next++
			return []byte(lines[next-1] + "\n"), nil
		}
		f, err := ev.opts.ParseCompoundStmt(evalFilename, readline)
		if err != nil {
			// Incomplete if the parser wanted more input; otherwise a syntax
			// error, reported when the whole source is parsed.
			return exhausted
		}
		// The parser reads the line after a block to see that it ends; give
		// that line back.
		if n := len(f.Stmts); n > 0 {
			_, end := f.Stmts[n-1].Span()
			if consumed := start + int(end.Line); consumed < next && consumed > start {
				next = consumed
			}
		}
		if next == start {
			next++
		}
	}
	return false
}

// exec runs complete source and returns its output and errors.
func (ev *evaluator) exec(ctx context.Context, src string, timeout time.Duration) ([]byte, string) {
	budget := &outBudget{left: ev.maxOutput}
	out := &capWriter{b: budget}
	errs := &capWriter{b: &outBudget{left: ev.maxOutput}}
	thread := &starlark.Thread{
		Name:  "mgr self-test eval",
		Print: func(_ *starlark.Thread, msg string) { out.write(msg + "\n") },
		// Load is nil: load() fails with "load not implemented by this
		// application".
	}
	budget.onFull = func() { thread.Cancel(fmt.Sprintf("output limit exceeded (%d bytes)", ev.maxOutput)) }
	thread.SetMaxExecutionSteps(ev.maxSteps)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	thread.SetLocal("context", runCtx)
	stop := context.AfterFunc(runCtx, func() {
		if ctx.Err() != nil {
			thread.Cancel("the command was cancelled: " + context.Cause(ctx).Error())
			return
		}
		thread.Cancel(fmt.Sprintf("timeout: eval ran longer than eval_timeout (%s)", timeout))
	})
	defer stop()

	f, err := ev.opts.Parse(evalFilename, src, 0)
	if err != nil {
		errs.write(errorText(err))
		return out.buf.Bytes(), errs.buf.String()
	}
	for _, stmt := range f.Stmts {
		if err := ev.execStmt(thread, stmt, out); err != nil {
			errs.write(errorText(err))
			break
		}
	}
	if budget.truncated {
		errs.write(fmt.Sprintf("[output truncated at %d bytes]\n", ev.maxOutput))
	}
	return out.buf.Bytes(), errs.buf.String()
}

// execStmt runs one top-level statement; an expression statement echoes
// its value's repr unless it is None, and binds it to "_".
func (ev *evaluator) execStmt(thread *starlark.Thread, stmt syntax.Stmt, out *capWriter) error {
	if es, ok := stmt.(*syntax.ExprStmt); ok {
		v, err := starlark.EvalExprOptions(ev.opts, thread, es.X, ev.globals)
		if err != nil {
			return err
		}
		if v != starlark.None {
			out.write(v.String() + "\n")
			ev.globals["_"] = v
		}
		return nil
	}
	chunk := &syntax.File{Options: ev.opts, Path: evalFilename, Stmts: []syntax.Stmt{stmt}}
	return starlark.ExecREPLChunk(chunk, thread, ev.globals)
}

// errorText renders an error as the REPL prints it: a backtrace for
// runtime errors, one line per resolver error.
func errorText(err error) string {
	var evalErr *starlark.EvalError
	var list resolve.ErrorList
	switch {
	case errors.As(err, &evalErr):
		return evalErr.Backtrace() + "\n"
	case errors.As(err, &list):
		var b strings.Builder
		for _, e := range list {
			b.WriteString(e.Error() + "\n")
		}
		return b.String()
	}
	return err.Error() + "\n"
}

// outBudget is the output a run may still produce.
type outBudget struct {
	left      int
	truncated bool
	onFull    func()
}

// capWriter collects output within a budget.
type capWriter struct {
	b   *outBudget
	buf bytes.Buffer
}

func (w *capWriter) write(s string) {
	if w.b.truncated {
		return
	}
	if len(s) <= w.b.left {
		w.buf.WriteString(s)
		w.b.left -= len(s)
		return
	}
	cut := w.b.left
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	w.buf.WriteString(s[:cut])
	w.b.left = 0
	w.b.truncated = true
	if w.b.onFull != nil {
		w.b.onFull()
	}
}

// keywords are Starlark's keywords, for completion.
var keywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load", "not", "or", "pass", "return", "while"}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf
}

// complete returns the completions of the last word of text (see the
// package documentation).
func (ev *evaluator) complete(text string) []string {
	i := len(text)
	for i > 0 && isWordByte(text[i-1]) {
		i--
	}
	word := text[i:]
	found := map[string]bool{}
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		head, partial := word[:dot], word[dot+1:]
		if v, ok := ev.lookup(head).(starlark.HasAttrs); ok {
			for _, n := range v.AttrNames() {
				if strings.HasPrefix(n, partial) {
					found[head+"."+n] = true
				}
			}
		}
	} else {
		for n := range ev.globals {
			found[n] = strings.HasPrefix(n, word)
		}
		for n := range starlark.Universe {
			found[n] = found[n] || strings.HasPrefix(n, word)
		}
		for _, k := range keywords {
			found[k] = found[k] || strings.HasPrefix(k, word)
		}
	}
	out := make([]string, 0, len(found))
	for n, ok := range found {
		if ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// lookup resolves a dotted name (a.b.c) without evaluating anything: a
// global or builtin, then attributes.
func (ev *evaluator) lookup(dotted string) starlark.Value {
	parts := strings.Split(dotted, ".")
	v, ok := ev.globals[parts[0]]
	if !ok {
		v = starlark.Universe[parts[0]]
	}
	for _, p := range parts[1:] {
		ha, isAttrs := v.(starlark.HasAttrs)
		if !isAttrs || p == "" {
			return nil
		}
		next, err := ha.Attr(p)
		if err != nil {
			return nil
		}
		v = next
	}
	return v
}
