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
//	mgrctl new-module NAME [--dir DIR] [--serve] [--options] [--eval] [--force]
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
// CLI: 22 for EINVAL, 2 for ENOENT, ...), 1 for other failures and 2 for
// usage errors of mgrctl's own flags.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, opts ...Option) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	for _, o := range opts {
		o(a)
	}
	ctx := a.ctx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	root := a.newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return a.exitStatus(err)
}

// app holds one run's streams, injected dependencies and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
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

// usageError is a mistake in mgrctl's own arguments (exit status 2).
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf("mgrctl: "+format, args...) + fmt.Sprintf("\nRun '%s --help' for usage.", cmd.CommandPath())}
}

func (a *app) exitStatus(err error) int {
	if err == nil {
		return 0
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
