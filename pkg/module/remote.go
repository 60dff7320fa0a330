package module

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"syscall"
)

// RemoteFunc is a method another module may call. Arguments and results
// travel as JSON, so modules never share memory.
type RemoteFunc func(ctx context.Context, args json.RawMessage) (any, error)

// Export adapts a typed function to a RemoteFunc: the JSON arguments are
// decoded into A (strictly: unknown fields are an error) and R is the
// result.
func Export[A, R any](fn func(ctx context.Context, args A) (R, error)) RemoteFunc {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var a A
		if len(raw) > 0 && string(raw) != "null" {
			if err := strictUnmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("decode arguments: %w", err)
			}
		}
		return fn(ctx, a)
	}
}

// Remote call failures. Use errors.Is to tell them apart.
var (
	// ErrModuleNotFound: the module is not enabled here (Python's
	// ImportError "Module not found").
	ErrModuleNotFound = errors.New("module not found")
	// ErrMethodNotFound: the module exports no such method (NameError).
	ErrMethodNotFound = errors.New("method not found")
)

// RemoteError reports a failed remote call.
type RemoteError struct {
	Module, Method string
	// Err is ErrModuleNotFound, ErrMethodNotFound, or the callee's error
	// (its message and errno are kept).
	Err error
}

func (e *RemoteError) Error() string {
	switch {
	case errors.Is(e.Err, ErrModuleNotFound):
		return fmt.Sprintf("remote %s.%s: module %q is not enabled", e.Module, e.Method, e.Module)
	case errors.Is(e.Err, ErrMethodNotFound):
		return fmt.Sprintf("remote %s.%s: module %q exports no method %q", e.Module, e.Method, e.Module, e.Method)
	}
	return fmt.Sprintf("remote method %s.%s failed: %v", e.Module, e.Method, e.Err)
}

// Unwrap returns the cause.
func (e *RemoteError) Unwrap() error { return e.Err }

// ErrorCode gives the errno: -ENOENT for a missing module, -ENOSYS for a
// missing method, the callee's errno otherwise.
func (e *RemoteError) ErrorCode() int {
	switch {
	case errors.Is(e.Err, ErrModuleNotFound):
		return -int(syscall.ENOENT)
	case errors.Is(e.Err, ErrMethodNotFound):
		return -int(syscall.ENOSYS)
	}
	var coded interface{ ErrorCode() int }
	if errors.As(e.Err, &coded) {
		return coded.ErrorCode()
	}
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		return -int(errno)
	}
	return -int(syscall.EINVAL)
}

// callRemote runs fn with arguments serialised through JSON and decodes its
// JSON result into result (if non-nil). A panic in the callee becomes an
// error carrying the stack.
func callRemote(ctx context.Context, fn RemoteFunc, args any, result any) (err error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode arguments: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	out, err := fn(ctx, raw)
	if err != nil {
		return err
	}
	data, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(data, result); err != nil {
		return fmt.Errorf("decode result: %w", err)
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
