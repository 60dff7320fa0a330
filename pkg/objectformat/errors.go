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

// Code is the type of the return value given to an error constructor: an
// int, written the way Ceph does (-int(syscall.ENOENT), -2) or as a
// positive errno (int(syscall.ENOENT), 2), or a [syscall.Errno] itself
// (syscall.ENOENT).
type Code interface {
	~int | syscall.Errno
}

// MaxErrno is the largest errno value (Linux's and Ceph's MAX_ERRNO): a
// failure's return value is between -MaxErrno and -1.
const MaxErrno = 4095

// failureCode is the return value an error constructor gives code: a
// negative errno as is, a positive errno negated, and anything that is no
// errno -EINVAL: 0 (which would report success), and codes beyond
// MaxErrno either way (-1<<32, say, which a transport that carries the
// value as an int32 would turn into 0, a success). An error always fails
// with an errno; a zero or positive return value, or one outside the
// errno range, comes only from an explicit [Result] (or an
// [ErrorResponseBase] that returns one), and is then the transport's to
// carry or refuse.
func failureCode[C Code](code C) int {
	if e, ok := any(code).(syscall.Errno); ok && uint64(e) > MaxErrno {
		return -int(syscall.EINVAL) // a huge uintptr would turn negative as an int
	}
	n := int(code)
	switch {
	case n > 0 && n <= MaxErrno:
		return -n
	case n < 0 && n >= -MaxErrno:
		return n
	}
	return -int(syscall.EINVAL)
}

// NewErrorResponse returns an ErrorResponse with status text and -EINVAL.
func NewErrorResponse(status string) *ErrorResponse {
	return &ErrorResponse{status: status, retval: -int(syscall.EINVAL)}
}

// NewErrorResponseCode returns an ErrorResponse with an explicit return
// value. The sign of retval does not matter: syscall.ENOENT, 2 and -2 all
// give -ENOENT. A zero retval gives -EINVAL: unlike Python's
// ErrorResponse(status, return_value=0), an error never reports success
// (return a Result with a Stderr text for that). A retval that is no
// errno (beyond [MaxErrno] either way) gives -EINVAL too.
func NewErrorResponseCode[C Code](status string, retval C) *ErrorResponse {
	return &ErrorResponse{status: status, retval: failureCode(retval)}
}

// Errorf formats a status text and returns it with the given return
// value, normalised as by [NewErrorResponseCode]:
//
//	objectformat.Errorf(syscall.ENOENT, "pool %q does not exist", name) // -ENOENT
func Errorf[C Code](retval C, format string, args ...any) *ErrorResponse {
	return NewErrorResponseCode(fmt.Sprintf(format, args...), retval)
}

// Wrap converts any error into an ErrorResponse, like Python's
// ErrorResponse.wrap:
//   - an *ErrorResponse is returned unchanged;
//   - otherwise the status is err.Error() and the return value is
//     ErrnoOf(err): the code of an ErrorResponseBase, a syscall.Errno or an
//     ErrorCode() int method found in the wrap chain (so an *os.PathError for
//     a missing file gives -ENOENT, and fmt.Errorf("ctx: %w", resp) keeps
//     resp's code), positive codes negated;
//   - an error carrying no code, or a code of 0, gives -EINVAL (Python's
//     wrap keeps an errno of 0 as success; in Go a non-nil error fails).
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

// WrapCode is Wrap with an explicit return value, normalised as by
// [NewErrorResponseCode]; an *ErrorResponse is still returned unchanged.
func WrapCode[C Code](err error, retval C) *ErrorResponse {
	if err == nil {
		return nil
	}
	if er, ok := err.(*ErrorResponse); ok {
		return er
	}
	return &ErrorResponse{status: err.Error(), retval: failureCode(retval), cause: err}
}

// ErrnoOf returns the negative errno an error carries (see Wrap), or -EINVAL
// when it carries none or a code of 0. It returns 0 for a nil error only:
// a non-nil error never maps to success.
func ErrnoOf(err error) int {
	if err == nil {
		return 0
	}
	var base ErrorResponseBase
	if errors.As(err, &base) {
		return failureCode(base.FormatResponse().Retval)
	}
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		return failureCode(coded.ErrorCode())
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return failureCode(errno)
	}
	return -int(syscall.EINVAL)
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
// ErrorResponseBase gives its own Result, as it returns it (the one way an
// error can carry a zero or positive return value, like a Python
// ErrorResponseBase subclass with its own format_response); any other
// error gives (ErrnoOf(err), "", err.Error()), which always fails.
// ResultOf(nil) is the empty success.
func ResultOf(err error) Result {
	if err == nil {
		return Result{}
	}
	if base, ok := err.(ErrorResponseBase); ok {
		return base.FormatResponse()
	}
	return Result{Retval: ErrnoOf(err), Stderr: err.Error()}
}
