// Package evalfake is a small eval module for mgrctl's tests: the command
// "replfake eval" speaks the REPL protocol of `mgr self-test eval` (source
// in the input buffer or in s, retval 2 for incomplete input, state kept
// between calls, completion through the "complete" argument) with
// Starlark standing in for Python. Only test binaries register it.
package evalfake

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Name is the module name; Prefix the eval command.
const (
	Name   = "replfake"
	Prefix = "replfake eval"
)

// Info describes the module.
func Info() module.Info {
	return module.Info{Name: Name, Desc: "a Starlark eval command for mgrctl's REPL tests", New: func() module.Module { return &Module{} }}
}

// Module is the fake eval module.
type Module struct {
	h       *module.Handle
	mu      sync.Mutex
	globals starlark.StringDict
}

// Init builds the interpreter state: a global "mgr" with the daemon's
// version, release name and id.
func (m *Module) Init(h *module.Handle) error {
	m.h = h
	m.globals = starlark.StringDict{
		"mgr": starlarkstruct.FromStringDict(starlark.String("mgr"), starlark.StringDict{
			"version":      starlark.String(h.Version()),
			"release_name": starlark.String(h.ReleaseName()),
			"id":           starlark.String(h.MgrID()),
		}),
	}
	return nil
}

type evalArgs struct {
	clicommand.Write `prefix:"replfake eval" desc:"evaluate Starlark source (the mgr self-test eval protocol)"`
	S                *string
	Complete         *string
	Inbuf            []byte
}

// Commands lists the eval command.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(m.eval)}
}

var fileOpts = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

func (m *Module) eval(ctx context.Context, a *evalArgs) objectformat.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.Complete != nil {
		return objectformat.OK(strings.Join(m.complete(*a.Complete), "\n"))
	}
	src := string(a.Inbuf)
	if a.S != nil && *a.S != "" {
		src = *a.S
	}
	if strings.TrimSpace(src) == "" {
		return objectformat.Failed(-int(syscall.EINVAL), "source is not specified")
	}
	if Incomplete(src) {
		return objectformat.Result{Retval: 2}
	}
	out, errOut := m.run(ctx, src)
	return objectformat.Result{Stdout: []byte(out), Stderr: errOut}
}

// Incomplete reports whether src needs more lines: its first statement
// is unfinished, or it is a block (def, if, for, ...) not yet ended by an
// empty line. As in Python's REPL, source ending with a newline ends with
// an empty line.
func Incomplete(src string) bool {
	lines := strings.SplitAfter(src+"\n", "\n")
	i, more := 0, false
	readline := func() ([]byte, error) {
		for i < len(lines) && lines[i] == "" {
			i++
		}
		if i >= len(lines) {
			more = true
			return nil, io.EOF
		}
		i++
		return []byte(lines[i-1]), nil
	}
	_, _ = fileOpts.ParseCompoundStmt("<input>", readline)
	return more
}

func (m *Module) run(ctx context.Context, src string) (stdout, stderr string) {
	var out strings.Builder
	thread := &starlark.Thread{Name: "eval", Print: func(_ *starlark.Thread, msg string) { out.WriteString(msg + "\n") }}
	stop := context.AfterFunc(ctx, func() { thread.Cancel("interrupted") })
	defer stop()
	f, err := fileOpts.Parse("<input>", src+"\n", 0)
	if err == nil {
		if len(f.Stmts) == 1 {
			if e, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
				var v starlark.Value
				if v, err = starlark.EvalExprOptions(fileOpts, thread, e.X, m.globals); err == nil {
					m.globals["_"] = v
					if v != starlark.None {
						fmt.Fprintln(&out, v)
					}
				}
				return out.String(), errText(err)
			}
		}
		err = starlark.ExecREPLChunk(f, thread, m.globals)
	}
	return out.String(), errText(err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	if ee, ok := err.(*starlark.EvalError); ok {
		return ee.Backtrace() + "\n"
	}
	return err.Error() + "\n"
}

// complete returns the globals and built-ins starting with partial, or
// the attributes of a dotted name ("mgr.ve" → "mgr.version").
func (m *Module) complete(partial string) []string {
	var out []string
	if i := strings.LastIndex(partial, "."); i >= 0 {
		v := m.lookup(strings.Split(partial[:i], "."))
		if ha, ok := v.(starlark.HasAttrs); ok {
			for _, n := range ha.AttrNames() {
				if strings.HasPrefix(n, partial[i+1:]) {
					out = append(out, partial[:i+1]+n)
				}
			}
		}
	} else {
		for _, d := range []starlark.StringDict{m.globals, starlark.Universe} {
			for n := range d {
				if strings.HasPrefix(n, partial) && !strings.HasPrefix(n, "_") {
					out = append(out, n)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func (m *Module) lookup(path []string) starlark.Value {
	v, ok := m.globals[path[0]]
	if !ok {
		v = starlark.Universe[path[0]]
	}
	for _, p := range path[1:] {
		ha, isAttrs := v.(starlark.HasAttrs)
		if !isAttrs {
			return nil
		}
		var err error
		if v, err = ha.Attr(p); err != nil {
			return nil
		}
	}
	return v
}
