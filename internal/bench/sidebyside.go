package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The side-by-side measurements: the same work done by gomgr and by what a
// Ceph module author would otherwise use, Python (python/sidebyside.py,
// run by python3 as a child process answering one request a line, so
// benchtable can interleave its runs with Go's).

// PythonScript is the Python side's script, relative to the repository's
// top.
const PythonScript = "internal/bench/python/sidebyside.py"

// MonDescriptions is the real Pacific monitor command table the matcher's
// differential test uses, relative to the repository's top.
const MonDescriptions = "pkg/cmddesc/testdata/pacific-mon-descriptions.json"

// CommandLines is the file of the 100 command lines matched against it
// (90 commands of the table, spread over it, with their required
// arguments, and 10 lines the table refuses), relative to the top.
const CommandLines = "internal/bench/testdata/mon-command-lines.json"

// Mode is bench choose's CephChoices argument.
type Mode string

// Choices lists Mode's values (sidebyside.py's enum Mode).
func (Mode) Choices() []string { return []string{"fast", "safe", "thorough"} }

type sbsHelloArgs struct {
	clicommand.Read `prefix:"bench hello" desc:"Say hello"`
	PersonName      *string
}

type sbsTypedArgs struct {
	clicommand.Read `prefix:"bench typed" desc:"A command with 8 typed arguments"`
	Name            string
	Count           int
	Ratio           float64
	Pool            string
	Size            int
	Weight          float64
	Force           bool
	Label           *string
}

type sbsChooseArgs struct {
	clicommand.Read `prefix:"bench choose" desc:"A CephChoices argument and an n=N one"`
	Mode            Mode
	Names           []string
}

// SideBySideCommands are the commands of the dispatch comparison, as a Go
// author writes them; sidebyside.py's Module has the same ones in Python.
func SideBySideCommands() []*clicommand.Command {
	const place, emphatic = "world", true
	return []*clicommand.Command{
		clicommand.Func(func(_ context.Context, a *sbsHelloArgs) objectformat.Result {
			out := "Hello " + place
			if a.PersonName != nil {
				out = "Hello, " + *a.PersonName
			}
			if emphatic {
				out += "!"
			}
			return objectformat.OK(out)
		}),
		clicommand.Func(func(_ context.Context, a *sbsTypedArgs) objectformat.Result {
			label := "-"
			if a.Label != nil {
				label = *a.Label
			}
			return objectformat.OK(fmt.Sprintf("%s %d %v %s %d %v %t %s", a.Name, a.Count, a.Ratio, a.Pool, a.Size, a.Weight, a.Force, label))
		}),
		clicommand.Func(func(_ context.Context, a *sbsChooseArgs) objectformat.Result {
			return objectformat.OK(string(a.Mode) + ": " + strings.Join(a.Names, ","))
		}),
	}
}

// DispatchCase is one command of the dispatch comparison, as JSON (what
// the mgr hands a module: Python gets it as a dict, Go decodes it as the
// daemon does).
type DispatchCase struct {
	Name string
	JSON string
}

// DispatchCases are the commands dispatched side by side.
var DispatchCases = []DispatchCase{
	{"hello", `{"prefix": "bench hello"}`},
	{"hello with person_name", `{"prefix": "bench hello", "person_name": "Bob"}`},
	{"8 typed arguments", `{"prefix": "bench typed", "name": "a", "count": 3, "ratio": 0.5, "pool": "rbd", "size": 7, "weight": 1.5, "force": true, "label": "l"}`},
	{"CephChoices and n=N", `{"prefix": "bench choose", "mode": "safe", "names": ["a", "b", "c"]}`},
}

// SideBySideDispatch returns a function dispatching c through a registry
// of SideBySideCommands (the daemon's path after decoding: lookup,
// permission check, validation, binding, handler), and its stdout once.
func SideBySideDispatch(c DispatchCase) (func() error, string, error) {
	r := cmdroute.NewRegistry()
	if err := r.Add("bench", SideBySideCommands()...); err != nil {
		return nil, "", err
	}
	cmd, err := api.DecodeCommand([]byte(c.JSON))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", c.Name, err)
	}
	ctx := context.Background()
	call := clicommand.Call{Cmd: cmd, Perm: "r"}
	res := r.Dispatch(ctx, call)
	if res.Retval != 0 {
		return nil, "", fmt.Errorf("%s: %d %s", c.Name, res.Retval, res.Stderr)
	}
	return func() error {
		if res := r.Dispatch(ctx, call); res.Retval != 0 {
			return fmt.Errorf("%s: %d %s", c.Name, res.Retval, res.Stderr)
		}
		return nil
	}, string(res.Stdout), nil
}

// LoadCommandLines reads a file of command lines (a JSON list of lists of
// words).
func LoadCommandLines(path string) ([][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("command lines: %w", err)
	}
	var lines [][]string
	if err := json.Unmarshal(data, &lines); err != nil {
		return nil, fmt.Errorf("command lines %s: %w", path, err)
	}
	return lines, nil
}

// MatchRound returns a function matching every line against the table
// in descPath with cmddesc's matcher (the ceph CLI's word matching, as
// mgrctl does it), and how many lines match.
func MatchRound(descPath string, lines [][]string) (func() int, error) {
	data, err := os.ReadFile(descPath)
	if err != nil {
		return nil, fmt.Errorf("descriptions: %w", err)
	}
	descs, err := cmddesc.ParseDescriptions(data, "cli")
	if err != nil {
		return nil, fmt.Errorf("descriptions %s: %w", descPath, err)
	}
	m, err := cmddesc.NewMatcher(descs)
	if err != nil {
		return nil, fmt.Errorf("descriptions %s: %w", descPath, err)
	}
	return func() int {
		n := 0
		for _, w := range lines {
			if _, err := m.Match(w); err == nil {
				n++
			}
		}
		return n
	}, nil
}

// TimeOp runs op once to warm up, then until minTime has passed (at
// least twice, batches doubling as sidebyside.py's do) and returns the
// time per call.
func TimeOp(minTime time.Duration, op func() error) (time.Duration, error) {
	return TimeCalls(minTime, 2, true, op)
}

// TimeCalls runs op (once first to warm up, if warmUp) until minTime has
// passed and it ran at least minOps times, and returns the time per call.
// For calls of a second, TimeCalls(0, 1, false, op) times just one.
func TimeCalls(minTime time.Duration, minOps int, warmUp bool, op func() error) (time.Duration, error) {
	if warmUp {
		if err := op(); err != nil {
			return 0, err
		}
	}
	var total time.Duration
	ops, batch := 0, 1
	for total < minTime || ops < minOps {
		start := time.Now()
		for i := 0; i < batch; i++ {
			if err := op(); err != nil {
				return 0, err
			}
		}
		total += time.Since(start)
		ops += batch
		batch = min(batch*2, 1<<20)
	}
	return total / time.Duration(ops), nil
}

// PyAnswer is one answer of sidebyside.py.
type PyAnswer struct {
	Error   string  `json:"error"`
	NS      float64 `json:"ns"`
	Ops     int     `json:"ops"`
	Retval  int     `json:"retval"`
	Stdout  string  `json:"stdout"`
	Stderr  string  `json:"stderr"`
	Matched int     `json:"matched"`
	Bytes   int     `json:"bytes"`
	SHA256  string  `json:"sha256"`
}

// PerOp is the answer's time per call.
func (a PyAnswer) PerOp() time.Duration { return time.Duration(a.NS) }

// maxAnswer bounds one answer line.
const maxAnswer = 1 << 20

// ParseAnswer decodes one answer line; an answer reporting an error, or
// with no time, is an error.
func ParseAnswer(line []byte) (PyAnswer, error) {
	var a PyAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		return a, fmt.Errorf("python answer %.200q: %w", line, err)
	}
	if a.Error != "" {
		return a, fmt.Errorf("python: %s", a.Error)
	}
	if a.NS <= 0 || a.Ops <= 0 {
		return a, fmt.Errorf("python answer %.200q: no time measured", line)
	}
	return a, nil
}

// Python is a running sidebyside.py.
type Python struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	stderr  *strings.Builder
	Timeout time.Duration // per request; 10 minutes if 0
}

// StartPython starts python3 on script and waits for it to be ready.
func StartPython(python, script string) (*Python, error) {
	cmd := exec.Command(python, script)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Python{cmd: cmd, in: in, stderr: &strings.Builder{}}
	cmd.Stderr = limitWriter{p.stderr, 64 << 10}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", python, script, err)
	}
	p.out = bufio.NewScanner(out)
	p.out.Buffer(make([]byte, 64<<10), maxAnswer)
	var ready struct{ Ready bool }
	line, err := p.readLine(time.Minute)
	if err == nil {
		err = json.Unmarshal(line, &ready)
	}
	if err != nil || !ready.Ready {
		p.Close()
		return nil, fmt.Errorf("%s %s did not start: %v %s", python, script, err, p.stderr)
	}
	return p, nil
}

func (p *Python) readLine(timeout time.Duration) ([]byte, error) {
	t := time.AfterFunc(timeout, func() { _ = p.cmd.Process.Kill() })
	defer t.Stop()
	if !p.out.Scan() {
		err := p.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("python's answer: %w (stderr: %s)", err, p.stderr)
	}
	return p.out.Bytes(), nil
}

// Do sends one request and returns the answer.
func (p *Python) Do(req map[string]any) (PyAnswer, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return PyAnswer{}, err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return PyAnswer{}, fmt.Errorf("python request: %w (stderr: %s)", err, p.stderr)
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	line, err := p.readLine(timeout)
	if err != nil {
		return PyAnswer{}, err
	}
	return ParseAnswer(line)
}

// Close ends the process: it exits at the end of its input, or is killed
// 30 seconds later.
func (p *Python) Close() error {
	p.in.Close()
	t := time.AfterFunc(30*time.Second, func() { _ = p.cmd.Process.Kill() })
	defer t.Stop()
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("python: %w (stderr: %s)", err, p.stderr)
	}
	return err
}

type limitWriter struct {
	b *strings.Builder
	n int
}

func (w limitWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func decodeObject(s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// PythonCommand is c's command as sidebyside.py's dispatch request wants
// it.
func PythonCommand(c DispatchCase) (map[string]any, error) { return decodeObject(c.JSON) }

// Formatter returns a function rendering items through one Responder in
// format f, as FormatBenchmark does, and returning the text.
func Formatter(items []Item, f objectformat.Format) func() ([]byte, error) {
	h := objectformat.Responder(func(context.Context, *objectformat.Request) ([]Item, error) { return items, nil })
	req := &objectformat.Request{Format: f}
	ctx := context.Background()
	return func() ([]byte, error) {
		res := h.ServeCommand(ctx, req)
		if res.Retval != 0 {
			return nil, fmt.Errorf("format %s: %d %s", f, res.Retval, res.Stderr)
		}
		return res.Stdout, nil
	}
}
