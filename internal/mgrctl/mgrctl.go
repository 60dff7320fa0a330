// Package mgrctl is the mgrctl command line: a client that talks to a
// gomgr daemon (or, with -c, to a Ceph cluster) the way the ceph CLI
// talks to ceph-mgr, plus a REPL for eval commands, a module scaffolder
// and shell completions.
//
// The command tree:
//
//	mgrctl [global flags] <command words...>   a daemon command (ceph-style matching)
//	mgrctl call <command words...>             the same, even when the first word is a built-in
//	mgrctl repl [--prefix P] [--show-env]      a REPL for an eval command
//	mgrctl new-module NAME [--dir DIR] [--serve] [--options] [--eval] [--force] [--overwrite]
//	mgrctl new-module NAME --standalone DIR [--module-path P] [--gomgr-dir PATH] ...
//	                                           a module in modules/, or a Go module of one's own
//	mgrctl completion bash|zsh|fish|powershell shell completion scripts
//	mgrctl version                             client (and daemon) version
//	mgrctl help [command]                      help; for daemon commands, their usage
//
// Global flags are recognised anywhere among the command words, as the
// ceph CLI does; words after "--" are never flags.
package mgrctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Option configures Main.
type Option func(*app)

// WithClusterDialer enables -c: dial connects to a Ceph cluster.
func WithClusterDialer(dial ClusterDialer) Option { return func(a *app) { a.dial = dial } }

// WithContext runs Main under ctx instead of a context cancelled by
// SIGINT/SIGTERM.
func WithContext(ctx context.Context) Option { return func(a *app) { a.ctx = ctx } }

// WithGetenv replaces os.Getenv (for tests).
func WithGetenv(getenv func(string) string) Option { return func(a *app) { a.getenv = getenv } }

// Main runs mgrctl with args (without the program name) and returns the
// exit status: 0 on success, the errno of a failed command (as the ceph
// CLI: 22 for EINVAL, 2 for ENOENT, ...) or of any other failure that
// carries one (110 for ETIMEDOUT, 7 for E2BIG, 28 for ENOSPC writing the
// output, ...), 1 for other failures and 2 for usage errors of mgrctl's
// own flags.
//
// Without WithContext, Main handles SIGINT and SIGTERM (they cancel the
// command) and SIGPIPE (a write to a closed pipe then fails like any
// other write, reported instead of killing the process silently).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, opts ...Option) int {
	out := &checkedWriter{w: stdout}
	a := &app{stdin: stdin, stdout: out, out: out, rawStdout: stdout, stderr: stderr, getenv: os.Getenv}
	for _, o := range opts {
		o(a)
	}
	ctx := a.ctx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		pipe := make(chan os.Signal, 1)
		signal.Notify(pipe, syscall.SIGPIPE)
		defer signal.Stop(pipe)
	}
	root := a.newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := a.exitStatus(err)
	// Output that did not reach stdout is a failure, even of a command
	// that succeeded.
	if werr := a.stdoutOutput().failed(); werr != nil {
		if wcode := a.exitStatus(werr); code == 0 {
			code = wcode
		}
	}
	return code
}

// checkedWriter keeps the first write error; later writes fail with it,
// so one broken stdout gives one report.
type checkedWriter struct {
	w        io.Writer
	err      error
	reported bool
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// outputError reports a failed write of the output to where ("stdout" or
// the -o file), with its errno when it has one (EPIPE, ENOSPC, ...).
func outputError(where string, err error) error {
	return errnoError(fmt.Errorf("cannot write the output to %s: %w", where, err))
}

// app holds one run's streams, injected dependencies and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	out            *checkedWriter // stdout, keeping its first write error
	rawStdout      io.Writer      // stdout unwrapped, for terminal detection
	dial           ClusterDialer
	ctx            context.Context
	getenv         func(string) string

	root *cobra.Command
	g    globals
}

// exitError ends mgrctl with a status after printing msg (if any) to
// stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// fail returns an exitError whose message is "mgrctl: <err>".
func fail(code int, err error) error {
	return &exitError{code: code, msg: "mgrctl: " + err.Error()}
}

// errnoError reports err as the ceph CLI reports a failed command, "Error
// <ERRNAME>: <err>" with the errno as exit status, when err carries an
// errno (an objectformat error with a negative return value, a go-ceph
// style ErrorCode, or a syscall.Errno in its chain); otherwise as
// "mgrctl: <err>", exit 1.
func errnoError(err error) error {
	if n := carriedErrno(err); n < 0 {
		return &exitError{code: -n, msg: fmt.Sprintf("Error %s: %s", objectformat.ErrnoName(n), err.Error())}
	}
	return fail(1, err)
}

// carriedErrno is the negative errno err carries, or 0.
func carriedErrno(err error) int {
	var base objectformat.ErrorResponseBase
	var coded interface{ ErrorCode() int }
	var errno syscall.Errno
	if errors.As(err, &base) || errors.As(err, &coded) || errors.As(err, &errno) {
		if n := objectformat.ErrnoOf(err); n < 0 {
			return n
		}
	}
	return 0
}

// usageError is a mistake in mgrctl's own arguments (exit status 2).
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf("mgrctl: "+format, args...) + fmt.Sprintf("\nRun '%s --help' for usage.", cmd.CommandPath())}
}

// exitStatus prints the message of err (of each error, for several
// joined) and returns the exit status: the first non-zero one.
func (a *app) exitStatus(err error) int {
	if err == nil {
		return 0
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		code := 0
		for _, e := range joined.Unwrap() {
			if c := a.exitStatus(e); code == 0 {
				code = c
			}
		}
		return code
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(a.stderr, "mgrctl:", err)
	return 1
}
