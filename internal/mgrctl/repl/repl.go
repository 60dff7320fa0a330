// Package repl is mgrctl's read-eval-print loop for eval commands such as
// `mgr self-test eval`: it sends source code to the daemon and prints what
// comes back, following the protocol of Ceph's ceph_mgr_repl.py.
//
// # Protocol
//
// Every submission is one command, {"prefix": <prefix>}, with the source
// in the input buffer (ceph -i), exactly as ceph_mgr_repl.py sends it. The
// eval side answers retval 0 with the captured stdout and stderr, or
// retval 2 (Incomplete) when the source needs more lines: the REPL then
// shows the continuation prompt "... " and sends the accumulated lines,
// joined by "\n", again with every new line, until the eval side accepts
// them. An empty line ends a block (the source then ends with "\n"). Any
// other negative retval is printed as the ceph CLI prints it ("Error
// EACCES: ..."), not as Python's "the input is not complete".
//
// Tab completion sends {"prefix": <prefix>, "complete": <partial word>}
// and reads one candidate per line of stdout; each candidate replaces the
// partial word. An eval command that rejects the "complete" argument
// simply offers no completions.
//
// # Terminal and line modes
//
// When stdin and stdout are terminals, Run starts a bubbletea line editor
// with the prompt "[<prefix>] >>> ", history (up/down, persisted in a
// History file), Tab completion, Ctrl-C to clear the line (or to abandon a
// running evaluation) and Ctrl-D on an empty line to exit.
//
// Otherwise (a pipe or a file on stdin, or stdout redirected) Run reads
// lines without editing and prints no banner and no prompts: stdout
// receives exactly what the eval side printed, stderr its error output
// and error lines, so scripts and tests get clean output. The continuation
// logic is the same; at the end of the input an unfinished block is
// submitted as if an empty line had been typed. History is not recorded.
// The first failed submission (a negative retval, or no answer) ends the
// run with its errno as exit status (later lines would run out of
// context); otherwise the status is 0. Code that raises an error is not a
// failed submission: the eval side prints its traceback with retval 0.
package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Incomplete is the retval an eval command returns for source that needs
// more lines.
const Incomplete = 2

// Evaluator is the eval side of the REPL.
type Evaluator interface {
	// Eval runs source. The error is for transport failures only; the
	// eval side's own failures are in the Result.
	Eval(ctx context.Context, source string) (objectformat.Result, error)
	// Complete returns the candidates for a partial word, each a full
	// replacement of it; none when the eval side offers no completion.
	Complete(ctx context.Context, partial string) ([]string, error)
}

// Config configures Run.
type Config struct {
	// Prefix is the eval command, shown in the prompt.
	Prefix string
	// Eval runs the source.
	Eval Evaluator
	// In, Out and Err are the streams; terminal mode needs In and Out to
	// be terminals (*os.File).
	In       io.Reader
	Out, Err io.Writer
	// History is the line history of terminal mode (nil: no history).
	History *History
	// Banner is printed when terminal mode starts.
	Banner string
	// ForceLineMode uses line mode even on a terminal.
	ForceLineMode bool
}

// Run runs the REPL until the end of the input (or Ctrl-D) and returns
// the exit status.
func Run(ctx context.Context, c Config) (int, error) {
	if c.Eval == nil {
		return 1, errors.New("repl: no evaluator")
	}
	if !c.ForceLineMode && IsTerminal(c.In) && IsTerminal(c.Out) {
		return runTTY(ctx, c)
	}
	return runLines(ctx, c)
}

// IsTerminal reports whether v is a terminal *os.File.
func IsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Prompt is the primary prompt for prefix.
func Prompt(prefix string) string { return "[" + prefix + "] >>> " }

// ContinuationPrompt is the prompt of continuation lines.
const ContinuationPrompt = "... "

// session accumulates the lines of one submission.
type session struct {
	buf []string
}

// continuing reports whether lines of an incomplete block are pending.
func (s *session) continuing() bool { return len(s.buf) > 0 }

func (s *session) prompt(prefix string) string {
	if s.continuing() {
		return ContinuationPrompt
	}
	return Prompt(prefix)
}

// push adds a line and returns the source to send; ok is false when there
// is nothing to send (an empty line at the primary prompt).
func (s *session) push(line string) (source string, ok bool) {
	if !s.continuing() && strings.TrimSpace(line) == "" {
		return "", false
	}
	s.buf = append(s.buf, line)
	return strings.Join(s.buf, "\n"), true
}

// done records the outcome of a submission: an incomplete one keeps the
// lines, anything else starts a new block.
func (s *session) done(res objectformat.Result, err error) {
	if err == nil && res.Retval == Incomplete {
		return
	}
	s.buf = nil
}

func (s *session) reset() { s.buf = nil }

// outcome is what a result prints: out to stdout, errText to stderr, and
// the exit status it stands for.
type outcome struct {
	out     []byte
	errText string
	status  int
}

// render applies the output rules: stdout and stderr verbatim on success
// (and for positive retvals, as the ceph CLI does), "Error <ERRNAME>:
// <stderr>" for a negative retval.
func render(res objectformat.Result, err error) outcome {
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return outcome{errText: "KeyboardInterrupt\n", status: 130}
		}
		return outcome{errText: "Error: " + err.Error() + "\n", status: 1}
	case res.Retval < 0:
		return outcome{out: res.Stdout, errText: fmt.Sprintf("Error %s: %s\n", objectformat.ErrnoName(res.Retval), res.Stderr), status: -res.Retval}
	default:
		return outcome{out: res.Stdout, errText: res.Stderr}
	}
}

// runLines is line mode.
func runLines(ctx context.Context, c Config) (int, error) {
	r := bufio.NewReader(c.In)
	var s session
	// submit sends source and prints the outcome; stop is the exit
	// status of a failed submission (0 to go on).
	submit := func(source string) (res objectformat.Result, stop int, err error) {
		res, everr := c.Eval.Eval(ctx, source)
		s.done(res, everr)
		if everr == nil && res.Retval == Incomplete {
			return res, 0, nil
		}
		o := render(res, everr)
		if _, err := c.Out.Write(o.out); err != nil {
			return res, 1, fmt.Errorf("repl: %w", err)
		}
		if _, err := io.WriteString(c.Err, o.errText); err != nil {
			return res, 1, fmt.Errorf("repl: %w", err)
		}
		return res, o.status, nil
	}
	for {
		if ctx.Err() != nil {
			return 130, nil
		}
		line, rerr := r.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return 1, fmt.Errorf("repl: read input: %w", rerr)
		}
		if line == "" && rerr == io.EOF {
			break
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if source, ok := s.push(line); ok {
			if _, stop, err := submit(source); err != nil || stop != 0 {
				return stop, err
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if s.continuing() {
		// End of input inside a block: finish it as an empty line would.
		source, _ := s.push("")
		res, stop, err := submit(source)
		if err != nil || stop != 0 {
			return stop, err
		}
		if res.Retval == Incomplete {
			s.reset()
			fmt.Fprintln(c.Err, "Error: the input ended inside an incomplete statement")
			return 1, nil
		}
	}
	return 0, nil
}
