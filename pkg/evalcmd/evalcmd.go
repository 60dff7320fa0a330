// Package evalcmd gives a module an eval command: a Starlark REPL into the
// module, spoken with the protocol of Ceph's "mgr self-test eval", so
// `mgrctl repl --prefix "NAME eval"` drives it. It is the mixin Ceph's
// developer guide suggests for eval(): a Config is a module.Mixin, so a
// module adds the command with one line of its Info, its prefix and the
// objects it exposes:
//
//	module.Info{..., Mixins: []module.Mixin{evalcmd.Config{Prefix: Name + " eval", Globals: globals}}}
//
// The daemon then declares the eval options with the module's, gives each
// module instance its own Eval (Init after the module's, its command with
// the module's, Close after the module's Shutdown). A module that wants to
// hold its Eval (to reach the session from its own code) wires it into the
// hooks it has instead:
//
//	module.Info{..., Options: cfg.Options(), New: func() module.Module { return &Module{eval: evalcmd.New(cfg)} }}
//	func (m *Module) Init(h *module.Handle) error  { ...; return m.eval.Init(h) }
//	func (m *Module) Commands() []*clicommand.Command { return []*clicommand.Command{..., m.eval.Command()} }
//	func (m *Module) Shutdown(context.Context) error { m.eval.Close(); ... }
//
// The command is "<Prefix> [<s>] [--complete <text>]": the source comes in
// the input buffer (-i) or in s; the reply is retval 2 when the source is
// unfinished (the REPL asks for more lines), else retval 0 with what the
// code printed (stdout) and its errors (stderr). --complete lists the
// names that complete the last word of text, one per line, and runs
// nothing. Globals persist between calls for the life of the module
// instance.
//
// The session is an evalsandbox.Session (see pkg/evalsandbox): it runs in
// a worker process with time, step, output and memory limits, so no input
// can crash the daemon or hold a core. A run past the time limit fails
// with -ETIMEDOUT, past the memory limit with -ENOMEM; both reset the
// session (the next call starts with fresh globals). Close (call it from
// Shutdown, so disabling the module stops its evals) stops a running eval
// at once with -ECANCELED.
//
// The limits come from two module options, which Config.Options declares:
// eval_timeout (seconds, default 5) and eval_max_memory (a size, default
// 256 MiB). A module that does not declare them gets the defaults; one
// that declares them itself (with its own bounds or text) is read the same
// way, by name.
package evalcmd

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The options an eval command reads its limits from.
const (
	TimeoutOption   = "eval_timeout"
	MaxMemoryOption = "eval_max_memory"
)

// Config describes a module's eval command.
type Config struct {
	// Prefix is the command's prefix, e.g. "my-module eval".
	Prefix string
	// Desc is the command's help text; empty means "Evaluate Starlark
	// source (mgrctl repl --prefix '<Prefix>')".
	Desc string
	// Globals returns the predeclared names of a session of the module
	// instance whose handle is h (called once, by Init). Plain values are
	// copied into the worker; an object with methods (a starlark.HasAttrs)
	// stays in the daemon and the worker calls it through a proxy (see
	// evalsandbox.Config.Globals). nil means no globals.
	Globals func(h *module.Handle) starlark.StringDict
	// Recursion allows recursive Starlark functions (deep recursion then
	// ends in the memory limit).
	Recursion bool
	// Adjust, if set, adjusts the limits of each request after they are
	// read from the options (tests use it to lift the step limit, say).
	Adjust func(*evalsandbox.Limits)
}

// Options declares eval_timeout and eval_max_memory for Info.Options
// (append them to the module's own options).
func (c Config) Options() []module.Option {
	return []module.Option{
		{Name: TimeoutOption, Type: module.Secs, Default: 5, Min: 0.001, Max: 3600, Runtime: true,
			Desc: fmt.Sprintf("wall-clock limit of one '%s' run, in seconds", c.Prefix)},
		{Name: MaxMemoryOption, Type: module.Size, Default: int64(evalsandbox.DefaultMaxMemory), Min: int64(8 << 20), Max: int64(64 << 30), Runtime: true,
			Desc: fmt.Sprintf("memory limit of the '%s' session (its worker process beyond its start-up size)", c.Prefix)},
	}
}

// New makes the Eval of one module instance: Config is a module.Mixin.
func (c Config) New() any { return New(c) }

var _ module.Mixin = Config{}

// Eval is the eval command of one module instance and its session. As a
// mixin's part it has the hooks the daemon calls.

type Eval struct {
	cfg Config

	mu     sync.Mutex
	h      *module.Handle
	s      *evalsandbox.Session
	closed bool
}

// New returns the eval command of a module instance. It does no work (call
// it from Info.New); Init binds it to the instance's handle.
func New(cfg Config) *Eval { return &Eval{cfg: cfg} }

// Init makes the instance's session (its worker starts with the first
// eval). Call it from the module's Init.
func (e *Eval) Init(h *module.Handle) error {
	var globals starlark.StringDict
	if e.cfg.Globals != nil {
		globals = e.cfg.Globals(h)
	}
	s, err := evalsandbox.New(evalsandbox.Config{
		Name:        e.cfg.Prefix,
		Globals:     globals,
		Recursion:   e.cfg.Recursion,
		Limits:      func() evalsandbox.Limits { return e.limits(h) },
		TimeoutName: TimeoutOption,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", e.cfg.Prefix, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		s.Close() // closed before Init: every request fails with -ECANCELED
	}
	if e.s != nil {
		e.s.Close()
	}
	e.h, e.s = h, s
	return nil
}

// Close ends the session: a running eval stops at once (-ECANCELED) and
// the worker exits; later evals fail with -ECANCELED. Call it from the
// module's Shutdown.
func (e *Eval) Close() {
	e.mu.Lock()
	s := e.s
	e.closed = true
	e.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// Session returns the instance's session (nil before Init), for
// diagnostics and tests.
func (e *Eval) Session() *evalsandbox.Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.s
}

// Limits returns the limits the next eval runs with: the options' (the
// defaults before Init or for an option the module does not declare),
// then Config.Adjust.
func (e *Eval) Limits() evalsandbox.Limits {
	e.mu.Lock()
	h := e.h
	e.mu.Unlock()
	return e.limits(h)
}

// limits are the limits of the next request, from h's options (nil h:
// the defaults).
func (e *Eval) limits(h *module.Handle) evalsandbox.Limits {
	l := evalsandbox.Limits{
		Timeout:   evalsandbox.DefaultTimeout,
		MaxSteps:  evalsandbox.DefaultMaxSteps,
		MaxOutput: evalsandbox.DefaultMaxOutput,
		MaxMemory: evalsandbox.DefaultMaxMemory,
	}
	if h != nil {
		if v, err := h.Option(TimeoutOption); err == nil {
			if secs, ok := v.(float64); ok && secs > 0 {
				l.Timeout = time.Duration(secs * float64(time.Second))
			}
		}
		if v, err := h.Option(MaxMemoryOption); err == nil {
			if n, ok := v.(int64); ok && n > 0 {
				l.MaxMemory = n
			}
		}
	}
	if e.cfg.Adjust != nil {
		e.cfg.Adjust(&l)
	}
	return l
}

// Commands is Command, as a mixin part's commands.
func (e *Eval) Commands() []*clicommand.Command { return []*clicommand.Command{e.Command()} }

// Shutdown is Close, as a mixin part's shutdown.
func (e *Eval) Shutdown(context.Context) error {
	e.Close()
	return nil
}

var (
	_ module.Module     = (*Eval)(nil)
	_ module.Commander  = (*Eval)(nil)
	_ module.Shutdowner = (*Eval)(nil)
)

// Command is the eval command, for the module's Commands.
func (e *Eval) Command() *clicommand.Command {
	desc := e.cfg.Desc
	if desc == "" {
		desc = fmt.Sprintf("Evaluate Starlark source (mgrctl repl --prefix '%s')", e.cfg.Prefix)
	}
	return clicommand.Legacy(e.cfg.Prefix+
		" name=s,req=false,type=CephString name=complete,req=false,positional=false,type=CephString",
		desc, "w", objectformat.HandlerFunc(e.serve))
}

// serve runs one eval request.
func (e *Eval) serve(ctx context.Context, req *objectformat.Request) objectformat.Result {
	e.mu.Lock()
	s := e.s
	e.mu.Unlock()
	if s == nil {
		return objectformat.Failed(-int(syscall.EAGAIN), e.cfg.Prefix+": the module is not initialised")
	}
	src := string(req.Inbuf)
	if v, _ := req.Cmd["s"].(string); v != "" {
		src = v
	}
	var complete *string
	if v, ok := req.Cmd["complete"].(string); ok {
		complete = &v
	}
	return s.Command(ctx, src, complete)
}
