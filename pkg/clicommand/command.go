package clicommand

import (
	"context"
	"fmt"
	"reflect"
	"syscall"

	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Command couples a Spec with the Handler that runs it. Build one with
// Responder, ErrorResponseHandler, EmptyResponder, Func or Legacy; a
// definition mistake is kept in Err and reported when the command is added
// to a Registry, so module code can build its command list in one
// expression.
type Command struct {
	spec    *cmddesc.Spec
	bind    *binding // nil for Legacy commands
	handler objectformat.Handler
	err     error

	recovered objectformat.Handler // handler wrapped by objectformat.Recover, made once
	// argsOnly is set for the handlers that read only req.Args (Func,
	// Responder, ErrorResponseHandler, EmptyResponder): their requests
	// carry no map of the values (req.Cmd is nil).
	argsOnly bool
}

// readsArgsOnly marks c as argsOnly.
func readsArgsOnly(c *Command) *Command {
	c.argsOnly = true
	return c
}

// Spec returns the command's spec (nil if the definition failed).
func (c *Command) Spec() *cmddesc.Spec { return c.spec }

// Err returns the definition error, if any.
func (c *Command) Err() error { return c.err }

// Handler returns the command's handler.
func (c *Command) Handler() objectformat.Handler { return c.handler }

// Prefix returns the command prefix, or "" if the definition failed.
func (c *Command) Prefix() string {
	if c.spec == nil {
		return ""
	}
	return c.spec.Prefix()
}

// AcceptsInbuf reports whether the command takes an input file (-i).
func (c *Command) AcceptsInbuf() bool { return c.bind == nil || c.bind.inbuf != nil }

func newCommand[A any](h objectformat.Handler) *Command {
	spec, bind, err := specOf(reflect.TypeFor[A]())
	if err != nil {
		return &Command{err: err}
	}
	return &Command{spec: spec, bind: bind, handler: h, recovered: objectformat.Recover(h)}
}

// Responder registers a command whose handler returns a value that is
// rendered in the requested format (JSON by default), like Python's
// @Responder. The command accepts an optional --format argument.
func Responder[A, T any](fn func(ctx context.Context, args *A) (T, error), opts ...objectformat.ResponderOption) *Command {
	h := objectformat.Responder(func(ctx context.Context, req *objectformat.Request) (T, error) {
		return fn(ctx, req.Args.(*A))
	}, opts...)
	c := readsArgsOnly(newCommand[A](h))
	if c.spec != nil {
		addFormatArg(c.spec)
	}
	return c
}

// ErrorResponseHandler registers a command whose handler builds its own
// Result and reports failures as errors, like Python's
// @ErrorResponseHandler.
func ErrorResponseHandler[A any](fn func(ctx context.Context, args *A) (objectformat.Result, error)) *Command {
	return readsArgsOnly(newCommand[A](objectformat.ErrorResponseHandler(func(ctx context.Context, req *objectformat.Request) (objectformat.Result, error) {
		return fn(ctx, req.Args.(*A))
	})))
}

// EmptyResponder registers a command that prints nothing on success, like
// Python's @EmptyResponder.
func EmptyResponder[A any](fn func(ctx context.Context, args *A) error) *Command {
	return readsArgsOnly(newCommand[A](objectformat.EmptyResponder(func(ctx context.Context, req *objectformat.Request) error {
		return fn(ctx, req.Args.(*A))
	})))
}

// Func registers a command whose handler returns the Result triple itself,
// like a plain Python @CLICommand handler returning HandleCommandResult.
func Func[A any](fn func(ctx context.Context, args *A) objectformat.Result) *Command {
	return readsArgsOnly(newCommand[A](objectformat.HandlerFunc(func(ctx context.Context, req *objectformat.Request) objectformat.Result {
		return fn(ctx, req.Args.(*A))
	})))
}

// Handle registers a command with any Handler; the handler finds the bound
// arguments in req.Args (a *A).
func Handle[A any](h objectformat.Handler) *Command { return newCommand[A](h) }

// Legacy registers a command from a Ceph cmd string, the way a Python
// module's COMMANDS list does:
//
//	clicommand.Legacy("foobar name=myarg,type=CephString", "Do something awesome", "rw", h)
//
// Arguments are validated against the parsed descriptors and handed to h in
// req.Cmd; req.Args is nil. poll may be set with the flag FlagPoll via
// LegacyPoll.
func Legacy(cmd, desc, perm string, h objectformat.Handler) *Command {
	spec, err := cmddesc.ParseSpec(cmd)
	if err != nil {
		return &Command{err: fmt.Errorf("clicommand: %w", err)}
	}
	if err := cmddesc.CheckPerm(perm); err != nil {
		return &Command{err: fmt.Errorf("clicommand: %q: %w", cmd, err)}
	}
	spec.Help, spec.Perm = desc, perm
	return &Command{spec: spec, handler: h, recovered: objectformat.Recover(h)}
}

// LegacyPoll is Legacy for a polling command (COMMANDS "poll": true).
func LegacyPoll(cmd, desc, perm string, h objectformat.Handler) *Command {
	c := Legacy(cmd, desc, perm, h)
	if c.spec != nil {
		c.spec.Flags |= cmddesc.FlagPoll
	}
	return c
}

// Call is one command invocation.
type Call struct {
	// Cmd is the decoded JSON command; "prefix" selects the command.
	Cmd map[string]any
	// Inbuf is the input file (-i), nil if none.
	Inbuf []byte
	// Perm is what the caller may do: "r", "w", "rw". It fails closed: the
	// zero value grants nothing (only commands that need no permission
	// run).
	Perm string
}

// Call runs this command (Dispatch after the lookup).
func (c *Command) Call(ctx context.Context, call Call) objectformat.Result {
	if !cmddesc.Allowed(call.Perm, c.spec.Perm) {
		return objectformat.Failed(-int(syscall.EACCES),
			fmt.Sprintf("access denied: '%s' needs '%s' permission, caller has '%s'", c.spec.Prefix(), c.spec.Perm, call.Perm))
	}
	b, err := c.bindCall(call.Cmd, call.Inbuf)
	if err != nil {
		return objectformat.Failed(-int(syscall.EINVAL), err.Error())
	}
	format, _ := call.Cmd["format"].(string)
	req := b.req
	if req == nil {
		req = new(objectformat.Request)
	}
	*req = objectformat.Request{
		Prefix: c.spec.Prefix(),
		Format: objectformat.Format(format),
		Inbuf:  call.Inbuf,
		Cmd:    b.values,
		Args:   b.args,
	}
	if format != "" && b.values != nil {
		b.values["format"] = format
	}
	return c.recovered.ServeCommand(ctx, req)
}
