package clicommand

import (
	"context"
	"fmt"
	"reflect"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Command couples a Spec with the Handler that runs it. Build one with
// Responder, ErrorResponseHandler, EmptyResponder, Func or Legacy; a
// definition mistake is kept in Err and reported when the command is added
// to a Registry, so module code can build its command list in one
// expression.
type Command struct {
	spec    *Spec
	handler objectformat.Handler
	err     error

	recovered objectformat.Handler // handler wrapped by objectformat.Recover, made once
}

// Spec returns the command's spec (nil if the definition failed).
func (c *Command) Spec() *Spec { return c.spec }

// Err returns the definition error, if any.
func (c *Command) Err() error { return c.err }

// Handler returns the command's handler.
func (c *Command) Handler() objectformat.Handler { return c.handler }

// Prefix returns the command prefix, or "" if the definition failed.
func (c *Command) Prefix() string {
	if c.spec == nil {
		return ""
	}
	return c.spec.prefix
}

func newCommand[A any](h objectformat.Handler) *Command {
	spec, err := SpecOf(reflect.TypeFor[A]())
	if err != nil {
		return &Command{err: err}
	}
	return &Command{spec: spec, handler: h, recovered: objectformat.Recover(h)}
}

// Responder registers a command whose handler returns a value that is
// rendered in the requested format (JSON by default), like Python's
// @Responder. The command accepts an optional --format argument.
func Responder[A, T any](fn func(ctx context.Context, args *A) (T, error), opts ...objectformat.ResponderOption) *Command {
	h := objectformat.Responder(func(ctx context.Context, req *objectformat.Request) (T, error) {
		return fn(ctx, req.Args.(*A))
	}, opts...)
	c := newCommand[A](h)
	if c.spec != nil {
		c.spec.addFormatArg()
	}
	return c
}

// ErrorResponseHandler registers a command whose handler builds its own
// Result and reports failures as errors, like Python's
// @ErrorResponseHandler.
func ErrorResponseHandler[A any](fn func(ctx context.Context, args *A) (objectformat.Result, error)) *Command {
	return newCommand[A](objectformat.ErrorResponseHandler(func(ctx context.Context, req *objectformat.Request) (objectformat.Result, error) {
		return fn(ctx, req.Args.(*A))
	}))
}

// EmptyResponder registers a command that prints nothing on success, like
// Python's @EmptyResponder.
func EmptyResponder[A any](fn func(ctx context.Context, args *A) error) *Command {
	return newCommand[A](objectformat.EmptyResponder(func(ctx context.Context, req *objectformat.Request) error {
		return fn(ctx, req.Args.(*A))
	}))
}

// Func registers a command whose handler returns the Result triple itself,
// like a plain Python @CLICommand handler returning HandleCommandResult.
func Func[A any](fn func(ctx context.Context, args *A) objectformat.Result) *Command {
	return newCommand[A](objectformat.HandlerFunc(func(ctx context.Context, req *objectformat.Request) objectformat.Result {
		return fn(ctx, req.Args.(*A))
	}))
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
	spec, err := SpecFromString(cmd)
	if err != nil {
		return &Command{err: err}
	}
	if err := checkPerm(perm); err != nil {
		return &Command{err: fmt.Errorf("clicommand: %q: %w", cmd, err)}
	}
	spec.Help, spec.Perm = desc, perm
	return &Command{spec: spec, handler: h, recovered: objectformat.Recover(h)}
}

// LegacyPoll is Legacy for a polling command (COMMANDS "poll": true).
func LegacyPoll(cmd, desc, perm string, h objectformat.Handler) *Command {
	c := Legacy(cmd, desc, perm, h)
	if c.spec != nil {
		c.spec.Flags |= FlagPoll
	}
	return c
}

// SpecFromString builds a Spec from a Ceph cmd string.
func SpecFromString(cmd string) (*Spec, error) {
	sig, err := ParseSignature(cmd)
	if err != nil {
		return nil, fmt.Errorf("clicommand: %w", err)
	}
	s := &Spec{Sig: sig, Perm: "rw", prefix: sig.Prefix(), byName: map[string]*boundArg{}}
	for _, a := range sig.Args() {
		b, err := compileArg(a)
		if err != nil {
			return nil, fmt.Errorf("clicommand: %q: %w", cmd, err)
		}
		s.args = append(s.args, b)
		s.byName[b.name] = b
	}
	return s, nil
}

// compileArg builds the validator view of a descriptor.
func compileArg(a *Arg) (*boundArg, error) {
	t, err := newArgType(a)
	if err != nil {
		return nil, err
	}
	n, many := a.Count()
	return &boundArg{arg: a, name: a.Name(), typ: t, required: a.Required(), n: n, many: many, positional: a.Positional()}, nil
}
