package mgrctl

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/mgrctl/repl"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// DefaultEvalPrefix is the eval command the REPL talks to by default.
const DefaultEvalPrefix = "mgr self-test eval"

func (a *app) newReplCmd() *cobra.Command {
	var prefix string
	var showEnv bool
	cmd := &cobra.Command{
		Use:   "repl [--prefix PREFIX] [--show-env]",
		Short: "An interactive console for an eval command (mgr self-test eval)",
		Long: `repl is a console for a module's eval command, as Ceph's ceph_mgr_repl.py is
for "mgr self-test eval": each line is sent with the source in the input
buffer ({"prefix": PREFIX} plus -i); while the daemon answers "incomplete"
(retval 2) the prompt becomes "... " and the lines accumulate until an empty
line ends the block. Errors print as the ceph CLI prints them ("Error EACCES:
...").

On a terminal: Up/Down browse the history (kept in
$XDG_STATE_HOME/gomgr/repl_history, else ~/.local/state/gomgr/repl_history),
Tab completes the names the eval side offers, Ctrl-C clears the line (or
abandons a running evaluation), Ctrl-D on an empty line exits.

When stdin or stdout is not a terminal, repl reads lines plainly and prints
no banner and no prompts, only the outputs (stdout) and errors (stderr); a
failed submission (such as EACCES) ends the run with its errno as exit
status. So "mgrctl repl < script.star" and pipes work in scripts and tests.

--show-env prints what is needed to reach the daemon (the sockets and the
environment variables mgrctl reads) and exits.`,
		Example: `  mgrctl repl
  mgrctl repl --prefix "antigravity eval"
  printf 'print(mgr.version)\n' | mgrctl repl
  mgrctl repl --show-env`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageError(cmd, "repl takes no arguments, got %q", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkGlobals(cmd); err != nil {
				return err
			}
			fs := a.root.PersistentFlags()
			for _, f := range []string{"format", "in-file", "out-file", "period", "watch"} {
				if fs.Changed(f) {
					return usageError(cmd, "--%s does not apply to repl", f)
				}
			}
			if showEnv {
				return a.showEnv(cmd.Context(), prefix)
			}
			return a.runRepl(cmd.Context(), prefix)
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", DefaultEvalPrefix, "the eval command to send source to")
	cmd.Flags().BoolVar(&showEnv, "show-env", false, "print the sockets and environment variables that reach the daemon, and exit")
	return cmd
}

func (a *app) runRepl(ctx context.Context, prefix string) error {
	// Reaching the daemon is bounded by --timeout as well as by
	// --connect-timeout, as for any command.
	rctx, cancel := a.within(ctx, a.g.timeout, "timeout")
	c, descs, err := a.reach(rctx)
	cancel()
	if err != nil {
		return err
	}
	defer c.close()
	var desc *cmddesc.Description
	for i := range descs {
		if descs[i].Sig.Prefix() == prefix {
			desc = &descs[i]
		}
	}
	if desc == nil {
		return &exitError{code: 22, msg: fmt.Sprintf("Error EINVAL: there is no command '%s' (is its module compiled in? mgrctl help %s)", prefix, strings.Fields(prefix)[0])}
	}
	cfg := repl.Config{
		Prefix: prefix,
		Eval:   &evaluator{a: a, c: c, prefix: prefix, mgr: desc.Flags&cmddesc.FlagMgr != 0},
		In:     a.stdin, Out: a.stdout, Err: a.stderr,
		Banner: fmt.Sprintf("mgrctl repl: %s on %s\nCtrl-D exits, Ctrl-C clears the line, Tab completes, Up/Down recall history.", prefix, a.target()),
	}
	if repl.IsTerminal(a.stdin) && repl.IsTerminal(a.rawStdout) {
		cfg.Out = a.rawStdout // terminal mode draws on the terminal itself
		if path, err := repl.DefaultHistoryPath(a.getenv); err != nil {
			fmt.Fprintln(a.stderr, "mgrctl: warning:", err)
		} else if cfg.History, err = repl.OpenHistory(path, 0); err != nil {
			fmt.Fprintln(a.stderr, "mgrctl: warning:", err)
		}
	}
	status, err := repl.Run(ctx, cfg)
	if err != nil {
		return fail(1, err)
	}
	if status != 0 {
		return &exitError{code: status}
	}
	return nil
}

// target names where commands go, for the banner.
func (a *app) target() string {
	if a.g.conf != "" {
		return "the Ceph cluster of " + a.g.conf
	}
	return fmt.Sprintf("mgr.%s (%s)", a.daemonID(), a.socketPath())
}

// showEnv prints how to reach the daemon, in the "    $ export" style of
// ceph_mgr_repl.py --show-env.
func (a *app) showEnv(ctx context.Context, prefix string) error {
	w := a.stdout
	if a.g.conf != "" {
		fmt.Fprintf(w, "    $ export CEPH_CONF=%s\n", a.g.conf)
		args := "--name " + a.g.name
		if a.g.keyring != "" {
			args += " --keyring " + a.g.keyring
		}
		fmt.Fprintf(w, "    $ export CEPH_ARGS='%s'\n", args)
		fmt.Fprintf(w, "# then: mgrctl -c %s -n %s repl --prefix %q\n", a.g.conf, a.g.name, prefix)
		return nil
	}
	sock := a.socketPath()
	fmt.Fprintf(w, "    $ export GOMGR_SOCKET=%s\n", sock)
	fmt.Fprintf(w, "    $ export GOMGR_RUN_DIR=%s\n", a.runDir())
	fmt.Fprintf(w, "    $ export GOMGR_ID=%s\n", a.daemonID())
	fmt.Fprintf(w, "# admin socket (ceph --admin-daemon): %s\n", a.asokPath())
	fmt.Fprintf(w, "# eval command: %s\n", prefix)
	c := api.NewClient(sock)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if s, err := c.Status(ctx); err != nil {
		fmt.Fprintf(w, "# daemon: not reachable (%s)\n", a.startHint())
	} else {
		fmt.Fprintf(w, "# daemon: mgr.%s, %s, pid %d, %s\n", s.ID, s.Role, s.PID, s.Version)
	}
	return nil
}

// evaluator sends REPL source to the eval command.
type evaluator struct {
	a      *app
	c      conn
	prefix string
	mgr    bool
}

// Eval runs one submission within --timeout; a timeout is reported as
// the failed submission it is (Error ETIMEDOUT, exit 110 in line mode).
func (e *evaluator) Eval(ctx context.Context, source string) (objectformat.Result, error) {
	tctx, cancel := e.a.within(ctx, e.a.g.timeout, "timeout")
	defer cancel()
	res, err := e.c.command(tctx, map[string]any{"prefix": e.prefix}, []byte(source), e.mgr)
	if err != nil && ctx.Err() == nil {
		if te := timedOut(tctx, err); te != nil {
			return objectformat.Failed(-int(syscall.ETIMEDOUT), te.Error()), nil
		}
	}
	return res, err
}

func (e *evaluator) Complete(ctx context.Context, partial string) ([]string, error) {
	res, err := e.c.command(ctx, map[string]any{"prefix": e.prefix, "complete": partial}, nil, e.mgr)
	if err != nil || res.Retval != 0 {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}
