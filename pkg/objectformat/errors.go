package objectformat

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrorResponseBase is an error that knows the Result it stands for. The
// Responder family converts any returned error that implements it (anywhere
// in its wrap chain) into that Result. It is the Go counterpart of Python's
// ErrorResponseBase.
type ErrorResponseBase interface {
	error
	FormatResponse() Result
}

// ErrorResponse is an error with a status text and a return value (a
// negative errno). It is Python's object_format.ErrorResponse.
type ErrorResponse struct {
	status string
	retval int
	cause  error
}

// NewErrorResponse returns an ErrorResponse with status text and -EINVAL.
func NewErrorResponse(status string) *ErrorResponse {
	return &ErrorResponse{status: status, retval: -int(syscall.EINVAL)}
}

// NewErrorResponseCode returns an ErrorResponse with an explicit return
// value. Every value is honoured as given, including 0 and positive ones
// (Python's ErrorResponse(status, return_value=0) reports success with a
// status text).
func NewErrorResponseCode(status string, retval int) *ErrorResponse {
	return &ErrorResponse{status: status, retval: retval}
}

// Errorf formats a status text and returns it with the given return value.
func Errorf(retval int, format string, args ...any) *ErrorResponse {
	return NewErrorResponseCode(fmt.Sprintf(format, args...), retval)
}

// Wrap converts any error into an ErrorResponse, like Python's
// ErrorResponse.wrap:
//   - an *ErrorResponse is returned unchanged;
//   - otherwise the status is err.Error() and the return value is
//     ErrnoOf(err): the code of an ErrorResponseBase, a syscall.Errno or an
//     ErrorCode() int method found in the wrap chain (so an *os.PathError for
//     a missing file gives -ENOENT, and fmt.Errorf("ctx: %w", resp) keeps
//     resp's code), positive codes negated, 0 kept;
//   - an error carrying no code gives -EINVAL.
//
// Wrap(nil) returns nil.
func Wrap(err error) *ErrorResponse {
	if err == nil {
		return nil
	}
	if er, ok := err.(*ErrorResponse); ok {
		return er
	}
	return &ErrorResponse{status: err.Error(), retval: ErrnoOf(err), cause: err}
}

// WrapCode is Wrap with an explicit return value (used as given, even 0),
// except that an *ErrorResponse is still returned unchanged.
func WrapCode(err error, retval int) *ErrorResponse {
	if err == nil {
		return nil
	}
	if er, ok := err.(*ErrorResponse); ok {
		return er
	}
	return &ErrorResponse{status: err.Error(), retval: retval, cause: err}
}

// ErrnoOf returns the negative errno an error carries (see Wrap), or -EINVAL
// when it carries none. It returns 0 for a nil error.
func ErrnoOf(err error) int {
	if err == nil {
		return 0
	}
	var base ErrorResponseBase
	if errors.As(err, &base) {
		return base.FormatResponse().Retval
	}
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		return negative(coded.ErrorCode())
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return negative(int(errno))
	}
	return -int(syscall.EINVAL)
}

func negative(code int) int {
	if code > 0 {
		return -code
	}
	return code
}

// Error returns the status text.
func (e *ErrorResponse) Error() string { return e.status }

// Status is the text reported in the stderr slot.
func (e *ErrorResponse) Status() string { return e.status }

// ReturnValue is the retval reported to the caller (a negative errno).
func (e *ErrorResponse) ReturnValue() int { return e.retval }

// Errno is the absolute value of the return value (Python's .errno).
func (e *ErrorResponse) Errno() int {
	if e.retval < 0 {
		return -e.retval
	}
	return e.retval
}

// ErrorCode returns the return value; it matches go-ceph's error convention
// so ErrnoOf and callers that know go-ceph understand ErrorResponse too.
func (e *ErrorResponse) ErrorCode() int { return e.retval }

// MgrReturnValue satisfies ReturnValuer.
func (e *ErrorResponse) MgrReturnValue() int { return e.retval }

// Unwrap returns the error this response was wrapped from, if any.
func (e *ErrorResponse) Unwrap() error { return e.cause }

// FormatResponse returns (retval, "", status).
func (e *ErrorResponse) FormatResponse() Result { return Result{Retval: e.retval, Stderr: e.status} }

// GoString renders like Python's repr: ErrorResponse("nope", -22).
func (e *ErrorResponse) GoString() string {
	return fmt.Sprintf("ErrorResponse(%q, %d)", e.status, e.retval)
}

// UnknownFormatError reports a format name that is not a Ceph format.
type UnknownFormatError struct{ Name string }

func (e *UnknownFormatError) Error() string { return "Unknown format name: " + e.Name }

// FormatResponse returns (-EINVAL, "", "Unknown format name: X").
func (e *UnknownFormatError) FormatResponse() Result {
	return Result{Retval: -int(syscall.EINVAL), Stderr: e.Error()}
}

// UnsupportedFormatError reports a Ceph format the formatter cannot produce.
type UnsupportedFormatError struct{ Name string }

func (e *UnsupportedFormatError) Error() string { return "Unsupported format: " + e.Name }

// FormatResponse returns (-EINVAL, "", "Unsupported format: X").
func (e *UnsupportedFormatError) FormatResponse() Result {
	return Result{Retval: -int(syscall.EINVAL), Stderr: e.Error()}
}

// ResultOf converts an error returned by a handler into a Result: an
// ErrorResponseBase gives its own Result; any other error gives
// (ErrnoOf(err), "", err.Error()). ResultOf(nil) is the empty success.
func ResultOf(err error) Result {
	if err == nil {
		return Result{}
	}
	if base, ok := err.(ErrorResponseBase); ok {
		return base.FormatResponse()
	}
	return Result{Retval: ErrnoOf(err), Stderr: err.Error()}
}
