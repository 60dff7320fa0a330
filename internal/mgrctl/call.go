package mgrctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/pkg/cmddesc"
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
	base := cmd.Context()
	ctx, cancel := a.within(base, a.g.timeout, "timeout")
	defer cancel()
	if help {
		return a.commandHelp(ctx, words)
	}
	if len(words) == 0 {
		if cmd != a.root {
			return usageError(cmd, "no command words given")
		}
		return cmd.Help()
	}
	c, descs, err := a.reach(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	inbuf, err := a.readInbuf(ctx, c)
	if err != nil {
		return err
	}
	out, err := a.openOutput()
	if err != nil {
		return err
	}
	m, err := a.match(ctx, c, descs, words)
	if err != nil {
		a.jsonNewline()
		return errors.Join(err, out.finish())
	}
	for _, n := range m.Notes {
		fmt.Fprintln(a.stderr, n)
	}
	if a.g.format != "" {
		m.Cmd["format"] = a.g.format
	}
	mgr := m.Description.Flags&cmddesc.FlagMgr != 0
	if !a.g.watch && a.g.period == 0 {
		return errors.Join(a.send(ctx, c, m.Cmd, inbuf, mgr, out), out.finish())
	}
	if m.Description.Flags&cmddesc.FlagPoll == 0 {
		return errors.Join(&exitError{code: 22, msg: fmt.Sprintf("Error EINVAL: --watch and --period apply to poll commands only; '%s' is not one", m.Description.Sig.Prefix())}, out.finish())
	}
	return errors.Join(a.poll(base, c, m.Cmd, inbuf, mgr, out), out.finish())
}

// poll repeats a poll command every --period seconds until interrupted,
// each repetition within --timeout.
func (a *app) poll(base context.Context, c conn, cmd map[string]any, inbuf []byte, mgr bool, out *output) error {
	period := seconds(a.g.period)
	if period <= 0 {
		period = time.Second
	}
	for {
		ctx, cancel := a.within(base, a.g.timeout, "timeout")
		err := a.send(ctx, c, cmd, inbuf, mgr, out)
		cancel()
		if err != nil {
			if base.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-base.Done():
			return nil
		case <-time.After(period):
		}
	}
}

// seconds converts a flag's seconds.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// timeoutError is the cause of a context ended by --timeout or
// --connect-timeout; it carries ETIMEDOUT.
type timeoutError struct {
	target, flag string
	after        time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s did not answer within %s (--%s)", e.target, e.after, e.flag)
}

func (e *timeoutError) Unwrap() error { return syscall.ETIMEDOUT }

// within returns ctx limited to secs seconds (none for 0), ending with a
// timeoutError naming flag.
func (a *app) within(ctx context.Context, secs float64, flag string) (context.Context, context.CancelFunc) {
	if secs <= 0 {
		return context.WithCancel(ctx)
	}
	d := seconds(secs)
	return context.WithTimeoutCause(ctx, d, &timeoutError{target: a.targetName(), flag: flag, after: d})
}

// targetName names where commands go, in errors.
func (a *app) targetName() string {
	if a.g.conf != "" {
		return "the Ceph cluster of " + a.g.conf
	}
	return "the daemon at " + a.socketPath()
}

// timedOut returns the timeoutError that ended ctx, if err is due to it.
// The API client's socket deadlines are ctx's, so its i/o timeout can
// come a moment before ctx's own timer: then it waits for ctx.
func timedOut(ctx context.Context, err error) *timeoutError {
	if dl, ok := ctx.Deadline(); ok && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(dl) + time.Second):
		}
	}
	var te *timeoutError
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &te) {
		return te
	}
	return nil
}

// transportError is mgrctl's report of err, a failure to get an answer
// under ctx: a timeout (ETIMEDOUT, 110) or an interruption (130) when ctx
// ended; else the errno err carries, as the ceph CLI reports one ("Error
// EAGAIN: ...", exit 11); else "mgrctl: <err>", exit 1. Failures to
// connect to the daemon's socket (no daemon there) are always the
// latter, as the ceph CLI exits 1 when it cannot connect.
func (a *app) transportError(ctx context.Context, err error) error {
	if te := timedOut(ctx, err); te != nil {
		return errnoError(te)
	}
	if ctx.Err() != nil {
		return &exitError{code: 130, msg: "mgrctl: interrupted"}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fail(1, err)
	}
	return errnoError(err)
}

// reach connects to the daemon (or cluster) and fetches its command
// descriptions, within --connect-timeout.
func (a *app) reach(ctx context.Context) (conn, []cmddesc.Description, error) {
	cctx, cancel := a.within(ctx, a.g.connectTimeout, "connect-timeout")
	defer cancel()
	c, err := a.connect(cctx)
	if err != nil {
		return nil, nil, err
	}
	descs, err := c.descriptions(cctx)
	if err != nil {
		c.close()
		return nil, nil, a.transportError(cctx, err)
	}
	return c, descs, nil
}

// stdinClosed reports whether r is a standard input that was closed when
// mgrctl started (mgrctl <&-). The Go runtime opens /dev/null on a closed
// descriptor 0, read-write; a shell's "< /dev/null" opens it read-only,
// and that is an empty input, not a closed one.
func stdinClosed(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f.Fd() != 0 {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(0, &st) != nil {
		return true
	}
	flags, err := unix.FcntlInt(0, unix.F_GETFL, 0)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3) && flags&unix.O_ACCMODE == unix.O_RDWR
}

// readInbuf reads -i (a file, or stdin for "-"): at most the daemon's
// (or, with -c, mgrctl's) input limit, so that a larger input fails with
// E2BIG before it is read in full. Opening and reading happen aside, so
// that --timeout and a signal end the wait for a FIFO without a writer or
// a stalled pipe (ETIMEDOUT, 110; "interrupted", 130).
func (a *app) readInbuf(ctx context.Context, c conn) ([]byte, error) {
	if a.g.inFile == "" {
		return nil, nil
	}
	cctx, cancel := a.within(ctx, a.g.connectTimeout, "connect-timeout")
	limit, err := c.maxInput(cctx)
	cancel()
	if err != nil {
		return nil, a.transportError(cctx, err)
	}
	type input struct {
		b   []byte
		err error
	}
	done := make(chan input, 1)
	go func() {
		b, err := a.readInput(limit)
		done <- input{b, err}
	}()
	select {
	case in := <-done:
		return in.b, in.err
	case <-ctx.Done():
		// The reader is left blocked (in open or read); mgrctl exits.
		var te *timeoutError
		if errors.As(context.Cause(ctx), &te) {
			return nil, &exitError{code: int(syscall.ETIMEDOUT),
				msg: fmt.Sprintf("Error ETIMEDOUT: reading the input file %s did not finish within %s (--%s)", a.g.inFile, te.after, te.flag)}
		}
		return nil, &exitError{code: 130, msg: "mgrctl: interrupted"}
	}
}

// readInput opens and reads -i, up to limit bytes (one more is E2BIG).
func (a *app) readInput(limit int64) ([]byte, error) {
	cantOpen := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &exitError{code: 1, msg: fmt.Sprintf("Can't open input file %s: %v", a.g.inFile, err)}
	}
	r := a.stdin
	if a.g.inFile == "-" {
		if stdinClosed(r) {
			return nil, cantOpen(errors.New("standard input is closed"))
		}
	} else {
		f, err := os.Open(a.g.inFile)
		if err != nil {
			return nil, cantOpen(err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
			return nil, a.tooBig(limit)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, cantOpen(err)
	}
	if int64(len(b)) > limit {
		return nil, a.tooBig(limit)
	}
	return b, nil
}

// tooBig is the E2BIG failure of an input past limit.
func (a *app) tooBig(limit int64) error {
	whose, which := "the daemon's", "(ceph-mgr --max-api-request)"
	if a.g.conf != "" {
		whose, which = "mgrctl's", "for -c"
	}
	return &exitError{code: int(syscall.E2BIG), msg: fmt.Sprintf("Error E2BIG: the input of -i %s is larger than %s limit of %d bytes %s", a.g.inFile, whose, limit, which)}
}

// output is where a command's output goes: stdout, or the -o file.
type output struct {
	w     *checkedWriter
	where string   // "stdout" or the file's name
	f     *os.File // the -o file, nil for stdout
}

// openOutput opens -o: a file created or truncated, or stdout for "-"
// or no -o.
func (a *app) openOutput() (*output, error) {
	if a.g.outFile == "" || a.g.outFile == "-" {
		return a.stdoutOutput(), nil
	}
	f, err := os.Create(a.g.outFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &exitError{code: 1, msg: fmt.Sprintf("Can't open output file %s: %v", a.g.outFile, err)}
	}
	return &output{w: &checkedWriter{w: f}, where: a.g.outFile, f: f}, nil
}

// stdoutOutput is stdout as an output.
func (a *app) stdoutOutput() *output { return &output{w: a.out, where: "stdout"} }

// failed reports a write to the output that failed (once).
func (o *output) failed() error {
	if o.w.err == nil || o.w.reported {
		return nil
	}
	o.w.reported = true
	return outputError(o.where, o.w.err)
}

// finish closes the -o file and reports a failed write or close.
func (o *output) finish() error {
	if o.f != nil {
		if err := o.f.Close(); err != nil && o.w.err == nil {
			o.w.err = err
		}
	}
	return o.failed()
}

// jsonNewline writes the empty line the ceph CLI prints before the
// output of every command run with -f json or json-pretty (when the
// output goes to stdout, without -o): "old code printed status line
// before many json outputs that consumers know to ignore".
func (a *app) jsonNewline() {
	if a.g.outFile == "" && strings.HasPrefix(a.g.format, "json") {
		_, _ = a.stdout.Write([]byte("\n"))
	}
}

// connect opens the daemon's API socket, or the cluster with -c.
func (a *app) connect(ctx context.Context) (conn, error) {
	if a.g.conf != "" {
		if a.g.readOnly {
			return nil, fail(2, errors.New("--read-only applies to a gomgr daemon's socket, not to -c"))
		}
		if a.dial == nil {
			return nil, fail(1, errors.New("-c: mgrctl was built without Ceph cluster support"))
		}
		cc, err := dialWithin(ctx, a.dial, a.g.conf, a.g.name, a.g.keyring)
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.transportError(ctx, err)
			}
			return nil, fail(1, fmt.Errorf("connect to the cluster of %s: %w", a.g.conf, err))
		}
		return &clusterConn{cc: cc}, nil
	}
	sock := a.socketPath()
	if sock == "" {
		return nil, fail(2, errors.New("no daemon socket to use: $XDG_RUNTIME_DIR is not set, so there is no default run directory; pass --run-dir DIR or --socket PATH (or set GOMGR_RUN_DIR or GOMGR_SOCKET)"))
	}
	c := api.NewClient(sock)
	if a.g.readOnly {
		c.Perm = "r"
	}
	return &daemonConn{c: c, hint: a.startHint()}, nil
}

// match matches words against the descriptions; a failure prints the
// ceph CLI's explanation and "Error EINVAL: invalid command" (exit 22),
// unless the daemon is a standby that has no such command: then the
// daemon's own refusal (EAGAIN, naming the active daemon).
func (a *app) match(ctx context.Context, c conn, descs []cmddesc.Description, words []string) (*cmddesc.Match, error) {
	matcher, err := cmddesc.NewMatcher(descs)
	if err != nil {
		return nil, fail(1, fmt.Errorf("command descriptions: %w", err))
	}
	m, err := matcher.Match(words)
	if err == nil {
		return m, nil
	}
	if !hasCommandPrefix(descs, words) {
		res, ok, rerr := c.refusal(ctx, words)
		switch {
		case rerr != nil && timedOut(ctx, rerr) != nil:
			return nil, a.transportError(ctx, rerr)
		case rerr == nil && ok:
			return nil, &exitError{code: a.printResult(res, a.stdout)}
		}
		// Otherwise (not a standby, or it could not say) the words are
		// the mistake.
	}
	var me *cmddesc.MatchError
	if errors.As(err, &me) {
		return nil, &exitError{code: 22, msg: strings.Join(append(me.Lines, "Error EINVAL: invalid command"), "\n")}
	}
	return nil, fail(22, err)
}

// hasCommandPrefix reports whether some command's words start words (the
// words name a known command, with arguments the matcher refused).
func hasCommandPrefix(descs []cmddesc.Description, words []string) bool {
	for _, d := range descs {
		pw := strings.Fields(d.Sig.Prefix())
		if len(pw) <= len(words) && slices.Equal(pw, words[:len(pw)]) {
			return true
		}
	}
	return false
}

// send runs one command and prints its reply.
func (a *app) send(ctx context.Context, c conn, cmd map[string]any, inbuf []byte, mgr bool, out *output) error {
	res, err := c.command(ctx, cmd, inbuf, mgr)
	if err != nil {
		return a.transportError(ctx, err)
	}
	a.jsonNewline()
	code := a.printResult(res, out.w)
	if err := out.failed(); err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// printResult prints a reply as the ceph CLI does and returns the exit
// status: stdout (to out) as is; for a negative retval "Error <ERRNAME>:
// <stderr>" and -retval; otherwise a non-empty stderr with a newline, and
// 0 (also for positive retvals).
func (a *app) printResult(res objectformat.Result, out io.Writer) int {
	_, _ = out.Write(res.Stdout)
	if res.Retval < 0 {
		fmt.Fprintf(a.stderr, "Error %s: %s\n", objectformat.ErrnoName(res.Retval), res.Stderr)
		return -res.Retval
	}
	if res.Stderr != "" {
		fmt.Fprintln(a.stderr, res.Stderr)
	}
	return 0
}
