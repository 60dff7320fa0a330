// Package evalsandbox runs the Starlark sessions of a module's eval
// command (the REPL protocol of Ceph's "mgr self-test eval") in worker
// processes, so that no input can crash the daemon, grow its memory or
// hold a CPU past the session's time limit. A module usually gets its
// eval command from package evalcmd, which wraps a Session (its options,
// command and life); this package is the sandbox underneath.
//
// go.starlark.net bounds a run by execution steps and can cancel it
// between steps, but not inside one builtin (str() of a list nested a
// million deep runs for minutes in one step), and it cannot bound
// allocations ("x" * 1000000000 is one step). So a Session keeps its
// interpreter, and the globals that persist between runs, in a worker
// process of its own, started on the session's first run and reused by
// the next ones:
//
//   - memory: the worker limits its data segment (RLIMIT_DATA) to its
//     start-up size plus Limits.MaxMemory (default 256 MiB), and sets the
//     Go runtime's soft limit (runtime/debug.SetMemoryLimit) to the same
//     budget. An allocation past it kills the worker; the request fails
//     with -ENOMEM "eval session exceeded its memory limit (256 MiB); the
//     session was reset". (The Go runtime does not always fail cleanly when
//     the kernel refuses memory: it may throw "out of memory" or crash on
//     a nil pointer in its garbage collector; both are reported as the
//     memory limit, since a worker runs nothing but the memory-safe
//     interpreter.)
//   - time: at Limits.Timeout (default 5 s) the parent tells the worker to
//     cancel the run, which stops it at the next step and keeps the
//     session (the run's stderr says "timeout: ..."); a run that has not
//     stopped 0.3 s later is inside one long builtin step, so the parent
//     kills the worker (SIGKILL to its process group) and the request
//     fails with -ETIMEDOUT and the same text plus "; the session was
//     reset". Cancelling the request's context does the same (-ECANCELED).
//     A second request waits for the running one at most Timeout + 1 s,
//     then fails with -EBUSY. RLIMIT_CPU (the CPU used so far, plus
//     Timeout, plus 2 s) is a backstop should the parent be unable to act.
//   - steps and output: a run stops after Limits.MaxSteps steps (default
//     10,000,000); its stdout and stderr are each capped at
//     Limits.MaxOutput bytes (default 1 MiB); the source at MaxSource
//     (4 MiB, -E2BIG).
//   - lifetime: Close (call it from the module's Shutdown, so disabling
//     the module stops its evals) kills the worker at once and a running
//     request fails with -ECANCELED. A worker also dies with the daemon:
//     it gets SIGKILL when the parent dies (PR_SET_PDEATHSIG, set from a
//     thread that never exits) and exits when its socket to the parent
//     ends.
//
// After a reset the next run starts a fresh session. Completion of a word
// asks the running worker (it has the session's globals); without one it
// completes against a fresh session's names and starts none.
//
// # Worker mode
//
// A worker is the program's own executable (/proc/self/exe, so even a
// replaced binary starts the same code) started with the environment
// variable GOMGR_EVALSANDBOX_WORKER=1 and its socket to the parent on file
// descriptor 3. An init function of this package recognises both marks
// before main runs, serves the session and exits without returning, so
// every program that links the package (ceph-mgr, a module author's own
// host, a go test binary) hosts workers with no call in main. Without both
// marks a program starts normally. Package initialisers that ran before
// this package's are run in the worker too; keep them cheap and free of
// side effects (the usual rule for init functions).
//
// The worker runs with "/" as its working directory, stdin and stdout on
// /dev/null, stderr on a pipe to the parent (which keeps its first 4 KiB
// to tell why a worker died), an environment of only the marker and
// GOMAXPROCS=1, in a process group of its own; it closes any descriptor
// it inherited besides its socket. Starlark has no file, network, clock or
// process access, load() is not available, and the protocol offers the
// worker nothing but the parent's globals.
//
// # Globals and the protocol
//
// Config.Globals are the predeclared names of a session, next to
// Starlark's json module (json.encode, json.decode, json.indent), which
// every session has unless a global of the host is named json. Plain values
// (None, bool, int, float, string, bytes, list, tuple, dict) are copied
// into the worker. An object with attributes (a module's "mgr") stays in
// the parent: the worker holds a proxy with its type name, str() and
// attribute names (so dir() and completion work), whose methods are
// forwarded to the parent and run there with the object's own
// implementation, and whose other attributes are read from the parent at
// each access. A host method can get the request's context, which ends at
// the time limit, with Context(thread). A host method may return such an
// object too (one that is not a dict, list or set): it stays in the parent
// like the globals, and the worker gets a proxy of it (a session keeps the
// last 1024 of them; an older one's proxy fails with "no object").
//
// Parent and worker speak length-prefixed JSON over a unix socket pair: a
// 4-byte big-endian length, then one message. Arguments and results
// cross as plain values, nested at most MaxDepth (64) deep; ints of any
// size (hex beyond int64, so parsing stays linear), floats including NaN
// and infinities, strings and bytes exactly, and a result that is an
// object as a proxy. Other values (functions, sets, proxies as arguments)
// give a clear error. The parent treats the worker as
// hostile: a frame from a worker is at most 8 MiB, its body is read as it
// arrives, any malformed or unexpected message kills the worker (-EIO,
// "the eval session broke its protocol"), and every wait is bounded by the
// request's time limit. Frames to a worker may be up to 64 MiB (cluster
// data can be large).
package evalsandbox
