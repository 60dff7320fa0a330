package mgrctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

func (a *app) newCallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "call <command words...>",
		Short: "Run a daemon command, even one whose first word is a built-in",
		Long: `call runs a daemon command exactly as "mgrctl <command words...>" does, but
never takes the first word for one of mgrctl's own subcommands: "mgrctl call
help" runs the daemon's help command, "mgrctl call version" its version
command.`,
		Example:            "  mgrctl call help\n  mgrctl call -f json version",
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		ValidArgsFunction:  a.completeWords,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runWords(cmd, args)
		},
	}
}

// runWords runs the daemon command named by the words in args.
func (a *app) runWords(cmd *cobra.Command, args []string) error {
	words, help, err := a.parseGlobals(cmd, args)
	if err != nil {
		return err
	}
	if help && len(words) == 0 {
		return cmd.Help()
	}
	ctx := cmd.Context()
	if help {
		return a.commandHelp(ctx, words)
	}
	if len(words) == 0 {
		if cmd != a.root {
			return usageError(cmd, "no command words given")
		}
		return cmd.Help()
	}
	inbuf, err := a.readInbuf()
	if err != nil {
		return err
	}
	c, err := a.connect()
	if err != nil {
		return err
	}
	defer c.close()
	m, err := a.match(ctx, c, words)
	if err != nil {
		return err
	}
	for _, n := range m.Notes {
		fmt.Fprintln(a.stderr, n)
	}
	if a.g.format != "" {
		m.Cmd["format"] = a.g.format
	}
	mgr := m.Description.Flags&clicommand.FlagMgr != 0
	if !a.g.watch && a.g.period == 0 {
		return a.send(ctx, c, m.Cmd, inbuf, mgr)
	}
	if m.Description.Flags&clicommand.FlagPoll == 0 {
		return &exitError{code: 22, msg: fmt.Sprintf("Error EINVAL: --watch and --period apply to poll commands only; '%s' is not one", m.Description.Sig.Prefix())}
	}
	period := time.Duration(a.g.period * float64(time.Second))
	if period <= 0 {
		period = time.Second
	}
	for {
		if err := a.send(ctx, c, m.Cmd, inbuf, mgr); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(period):
		}
	}
}

// readInbuf reads -i (a file, or stdin for "-").
func (a *app) readInbuf() ([]byte, error) {
	switch a.g.inFile {
	case "":
		return nil, nil
	case "-":
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, &exitError{code: 1, msg: "Can't open input file -: " + err.Error()}
		}
		return b, nil
	}
	b, err := os.ReadFile(a.g.inFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Can't open input file %s: %v", a.g.inFile, err)}
	}
	return b, nil
}

// connect opens the daemon's API socket, or the cluster with -c.
func (a *app) connect() (conn, error) {
	if a.g.conf != "" {
		if a.g.readOnly {
			return nil, fail(2, errors.New("--read-only applies to a gomgr daemon's socket, not to -c"))
		}
		if a.dial == nil {
			return nil, fail(1, errors.New("-c: mgrctl was built without Ceph cluster support"))
		}
		cc, err := a.dial(a.g.conf, a.g.name, a.g.keyring)
		if err != nil {
			return nil, fail(1, fmt.Errorf("connect to the cluster of %s: %w", a.g.conf, err))
		}
		return &clusterConn{cc: cc}, nil
	}
	c := api.NewClient(a.socketPath())
	if a.g.readOnly {
		c.Perm = "r"
	}
	return &daemonConn{c: c, hint: a.startHint()}, nil
}

// descriptions fetches the command descriptions.
func (a *app) descriptions(ctx context.Context, c conn) ([]clicommand.Description, error) {
	descs, err := c.descriptions(ctx)
	if err != nil {
		return nil, fail(1, err)
	}
	return descs, nil
}

// match matches words against the descriptions; a failure prints the
// ceph CLI's explanation and "Error EINVAL: invalid command" (exit 22).
func (a *app) match(ctx context.Context, c conn, words []string) (*clicommand.Match, error) {
	descs, err := a.descriptions(ctx, c)
	if err != nil {
		return nil, err
	}
	matcher, err := clicommand.NewMatcher(descs)
	if err != nil {
		return nil, fail(1, fmt.Errorf("command descriptions: %w", err))
	}
	m, err := matcher.Match(words)
	if err != nil {
		var me *clicommand.MatchError
		if errors.As(err, &me) {
			return nil, &exitError{code: 22, msg: strings.Join(append(me.Lines, "Error EINVAL: invalid command"), "\n")}
		}
		return nil, fail(22, err)
	}
	return m, nil
}

// send runs one command and prints its reply.
func (a *app) send(ctx context.Context, c conn, cmd map[string]any, inbuf []byte, mgr bool) error {
	res, err := c.command(ctx, cmd, inbuf, mgr)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, msg: "mgrctl: interrupted"}
		}
		return fail(1, err)
	}
	if code := a.printResult(res); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// printResult prints a reply as the ceph CLI does and returns the exit
// status: stdout as is; for a negative retval "Error <ERRNAME>: <stderr>"
// and -retval; otherwise a non-empty stderr with a newline, and 0 (also
// for positive retvals).
func (a *app) printResult(res objectformat.Result) int {
	_, _ = a.stdout.Write(res.Stdout)
	if res.Retval < 0 {
		fmt.Fprintf(a.stderr, "Error %s: %s\n", objectformat.ErrnoName(res.Retval), res.Stderr)
		return -res.Retval
	}
	if res.Stderr != "" {
		fmt.Fprintln(a.stderr, res.Stderr)
	}
	return 0
}
