package evalsandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Filename names the source in positions and backtraces.
const Filename = "<input>"

// fileOptions are the dialect: Python-like set, while, top-level control
// flow and global reassignment; recursion only if asked for.
func fileOptions(recursion bool) *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: recursion}
}

// needsMore reports whether src is incomplete in the REPL's sense: it
// feeds the source line by line to syntax.ParseCompoundStmt, the REPL's
// parser, and reports whether the parser asked for a line past the end. A
// def/if/for/while block is complete only when a blank line follows it
// ("\n" at the end of src). A syntax error is not incomplete: running the
// source reports it.
func needsMore(opts *syntax.FileOptions, src string) bool {
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
		f, err := opts.ParseCompoundStmt(Filename, readline)
		if err != nil {
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

// interp is a session's interpreter state: its globals persist between
// runs.
type interp struct {
	opts    *syntax.FileOptions
	globals starlark.StringDict
}

// exec runs complete source on thread: print() output and the repr of
// each top-level expression statement that is not None go to out (the last
// one is bound to "_"); the first error stops the run and goes to errs.
func (in *interp) exec(thread *starlark.Thread, src string, out, errs *capWriter) {
	f, err := in.opts.Parse(Filename, src, 0)
	if err != nil {
		errs.write(errorText(err))
		return
	}
	for _, stmt := range f.Stmts {
		if err := in.execStmt(thread, stmt, out); err != nil {
			errs.write(errorText(err))
			return
		}
	}
}

func (in *interp) execStmt(thread *starlark.Thread, stmt syntax.Stmt, out *capWriter) error {
	if es, ok := stmt.(*syntax.ExprStmt); ok {
		v, err := starlark.EvalExprOptions(in.opts, thread, es.X, in.globals)
		if err != nil {
			return err
		}
		if v != starlark.None {
			out.write(v.String() + "\n")
			in.globals["_"] = v
		}
		return nil
	}
	chunk := &syntax.File{Options: in.opts, Path: Filename, Stmts: []syntax.Stmt{stmt}}
	return starlark.ExecREPLChunk(chunk, thread, in.globals)
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

// capWriter collects output within a budget; at the cap it cuts on a rune
// boundary and calls onFull.
type capWriter struct {
	b   *outBudget
	buf bytes.Buffer
}

func newCapWriter(limit int, onFull func()) *capWriter {
	return &capWriter{b: &outBudget{left: limit, onFull: onFull}}
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

// truncatedNote is appended to stderr when stdout hit the cap.
func truncatedNote(limit int) string { return fmt.Sprintf("[output truncated at %d bytes]\n", limit) }

// keywords are Starlark's keywords, for completion.
var keywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load", "not", "or", "pass", "return", "while"}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf
}

// complete returns the completions of the last word of text against
// globals: a word without a dot completes global names, builtins and
// keywords; "a.b.pre" completes the attributes of a.b (looked up, never
// evaluated) that start with "pre". The result is sorted.
func complete(globals starlark.StringDict, text string) []string {
	i := len(text)
	for i > 0 && isWordByte(text[i-1]) {
		i--
	}
	word := text[i:]
	found := map[string]bool{}
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		head, partial := word[:dot], word[dot+1:]
		if v, ok := lookup(globals, head).(starlark.HasAttrs); ok {
			for _, n := range v.AttrNames() {
				if strings.HasPrefix(n, partial) {
					found[head+"."+n] = true
				}
			}
		}
	} else {
		for n := range globals {
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
func lookup(globals starlark.StringDict, dotted string) starlark.Value {
	parts := strings.Split(dotted, ".")
	v, ok := globals[parts[0]]
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
