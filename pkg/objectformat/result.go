package objectformat

import (
	"fmt"
	"syscall"
)

// Result is the reply to a command: Ceph's (retval, outb, outs) triple.
// Retval is 0 on success and a negative errno on failure (positive values
// are legal and passed through, e.g. 2 for "incomplete input" from eval).
// Stdout carries the data, Stderr the status or error text.
type Result struct {
	Retval int
	Stdout []byte
	Stderr string
}

// OK returns a successful Result with the given output.
func OK(stdout string) Result { return Result{Stdout: []byte(stdout)} }

// Failed returns a failed Result with a status message and no output. Like
// the error constructors it normalises retval: syscall.EINVAL, 22 and -22
// all give -22, and 0 (or a code beyond MaxErrno) gives -EINVAL. Build a
// Result literal for a zero or positive return value.
func Failed[C Code](retval C, stderr string) Result {
	return Result{Retval: failureCode(retval), Stderr: stderr}
}

// Err returns nil for a zero Retval and otherwise an *ErrorResponse with
// the Result's Stderr and exactly its Retval (positive values included).
func (r Result) Err() error {
	if r.Retval == 0 {
		return nil
	}
	return &ErrorResponse{status: r.Stderr, retval: r.Retval}
}

// String renders the triple like Python's tuple repr, for logs and tests.
func (r Result) String() string {
	return fmt.Sprintf("(%d, %q, %q)", r.Retval, r.Stdout, r.Stderr)
}

// ErrnoName returns the symbolic name of an errno value ("EINVAL" for 22 or
// -22) exactly as the ceph CLI prints it in "Error EINVAL: ...", and
// "Unknown" for values without a name, as the ceph CLI does.
func ErrnoName(retval int) string {
	if retval < 0 {
		retval = -retval
	}
	if name, ok := errnoNames[syscall.Errno(retval)]; ok {
		return name
	}
	return "Unknown"
}

// Strerror returns the C library's text for an errno value ("Invalid
// argument" for 22 or -22), as Ceph daemons print it.
func Strerror(retval int) string {
	if retval < 0 {
		retval = -retval
	}
	if s, ok := errnoTexts[syscall.Errno(retval)]; ok {
		return s
	}
	return fmt.Sprintf("Unknown error %d", retval)
}
