// Package objectformat turns what a command handler returns into the
// (retval, stdout, stderr) triple a Ceph manager sends back to its caller.
//
// It is the Go counterpart of Ceph's src/pybind/mgr/object_format.py and
// follows net/http's adapter style: a [Handler] answers a [Request] with a
// [Result], [HandlerFunc] adapts a plain function, and the wrappers
// [Responder], [ErrorResponseHandler] and [EmptyResponder] build handlers
// from functions written in ordinary Go style (return a value and an error).
//
// Output formats follow the Python mgr byte for byte: "json" and
// "json-pretty" are Python's json.dumps(v, indent=2, sort_keys=True), "yaml"
// is PyYAML's safe_dump. A format name that is not a Ceph format at all is
// rejected with "Unknown format name: X"; a Ceph format the formatter cannot
// produce ("plain", "xml" for the default formatter) with
// "Unsupported format: X". Both are -EINVAL and both are detected before
// the handler runs, so a bad format never causes side effects. A result
// type with a ToPlain method (PlainDataProvider), WithPlain, or a custom
// Formatter adds "plain".
//
// Errors carry errnos: [ErrorResponse] is an error with a status text and a
// negative errno, [Wrap] derives the errno from any error that carries one
// (a [syscall.Errno], or anything with an ErrorCode() int method such as
// go-ceph's errors) and falls back to -EINVAL.
//
// An error always fails. The error constructors ([NewErrorResponseCode],
// [Errorf], [WrapCode]) and [Failed] take the errno as an int of either sign
// or as a [syscall.Errno] and store it negative, so
// Errorf(syscall.ENOENT, ...), Errorf(int(syscall.ENOENT), ...) and
// Errorf(-2, ...) are the same -ENOENT; a code of 0 becomes -EINVAL (Python's
// ErrorResponse(status, 0) would report success). A zero or positive return
// value (such as eval's 2 for "incomplete input") comes only from an
// explicit [Result], or from an [ErrorResponseBase] whose FormatResponse
// returns one.
package objectformat
