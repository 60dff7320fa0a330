package objectformat

import (
	"context"
	"fmt"
	"runtime/debug"
	"syscall"
)

// Request is one command as a handler sees it.
type Request struct {
	// Prefix is the command's prefix ("hello", "mgr module ls").
	Prefix string
	// Format is the format name the caller asked for, "" when none was
	// given. Responder checks it; other handlers may ignore it.
	Format Format
	// Inbuf is the caller's input file (ceph -i FILE), nil when none.
	Inbuf []byte
	// Cmd is the whole command as received, with argument values already
	// validated and converted ("prefix", "format" and every argument).
	// Package clicommand leaves it nil for the commands whose handler
	// sees only the bound arguments (Func, Responder,
	// ErrorResponseHandler, EmptyResponder).
	Cmd map[string]any
	// Args is the typed argument value bound from Cmd, set by package
	// clicommand for struct-registered commands (a pointer to the struct).
	Args any
}

// Handler answers commands. It is to a mgr command what http.Handler is to
// an HTTP request.
type Handler interface {
	ServeCommand(ctx context.Context, req *Request) Result
}

// HandlerFunc adapts an ordinary function to Handler.
type HandlerFunc func(ctx context.Context, req *Request) Result

// ServeCommand calls f(ctx, req).
func (f HandlerFunc) ServeCommand(ctx context.Context, req *Request) Result { return f(ctx, req) }

// Recover wraps h so that a panic becomes (-EINVAL, "", <panic and stack>)
// instead of taking the process down, like an uncaught Python exception in
// a mgr command handler.
func Recover(h Handler) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) (res Result) {
		defer func() {
			if p := recover(); p != nil {
				res = Result{
					Retval: -int(syscall.EINVAL),
					Stderr: fmt.Sprintf("command %q panicked: %v\n\n%s", req.Prefix, p, debug.Stack()),
				}
			}
		}()
		return h.ServeCommand(ctx, req)
	})
}

// ErrorResponseHandler builds a Handler from a function that produces its
// own Result but reports failures as errors: a returned error is converted
// with ResultOf, otherwise the Result passes through unchanged. It adds no
// "format" argument.
func ErrorResponseHandler(fn func(ctx context.Context, req *Request) (Result, error)) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) Result {
		res, err := fn(ctx, req)
		if err != nil {
			return ResultOf(err)
		}
		return res
	})
}

// EmptyResponder builds a Handler for commands that print nothing on
// success (the rule of silence): nil gives (0, "", ""), an error is
// converted with ResultOf. Python's EmptyResponder rejects handlers that
// return a value at run time; here the function type makes that impossible.
func EmptyResponder(fn func(ctx context.Context, req *Request) error) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) Result {
		return ResultOf(fn(ctx, req))
	})
}
