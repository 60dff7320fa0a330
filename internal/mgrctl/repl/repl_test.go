package repl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// fakeEval answers like an eval command: a line ending in ':' or a
// block not followed by an empty line is incomplete; "fail" fails with
// EACCES; anything else echoes the source.
type fakeEval struct {
	mu      sync.Mutex
	sources []string
	cands   []string
	block   chan struct{} // if set, Eval waits for it (or ctx)
}

func (f *fakeEval) Eval(ctx context.Context, src string) (objectformat.Result, error) {
	f.mu.Lock()
	f.sources = append(f.sources, src)
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return objectformat.Result{}, ctx.Err()
		}
	}
	lines := strings.Split(src, "\n")
	switch {
	case strings.HasSuffix(src, ":") || len(lines) > 1 && lines[len(lines)-1] != "":
		return objectformat.Result{Retval: Incomplete}, nil
	case src == "fail":
		return objectformat.Failed(-int(syscall.EACCES), "access denied"), nil
	case src == "warn":
		return objectformat.Result{Stdout: []byte("out\n"), Stderr: "careful\n"}, nil
	case src == "broken":
		return objectformat.Result{}, errors.New("connection reset")
	}
	return objectformat.OK("got " + strings.ReplaceAll(src, "\n", "|") + "\n"), nil
}

func (f *fakeEval) Complete(_ context.Context, partial string) ([]string, error) {
	var out []string
	for _, c := range f.cands {
		if strings.HasPrefix(c, partial) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeEval) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sources...)
}

func runPipe(t *testing.T, ev Evaluator, input string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	status, err := Run(context.Background(), Config{Prefix: "x eval", Eval: ev, In: strings.NewReader(input), Out: &out, Err: &errb})
	require.NoError(t, err)
	return out.String(), errb.String(), status
}

func TestLineModeContinuation(t *testing.T) {
	ev := &fakeEval{}
	out, errOut, status := runPipe(t, ev, "a\n\ndef f():\n  return 1\n\nb\n")
	assert.Equal(t, "got a\ngot def f():|  return 1|\ngot b\n", out)
	assert.Empty(t, errOut)
	assert.Equal(t, 0, status)
	assert.Equal(t, []string{"a", "def f():", "def f():\n  return 1", "def f():\n  return 1\n", "b"}, ev.sent())
}

func TestLineModeBlockAtEOF(t *testing.T) {
	ev := &fakeEval{}
	out, _, status := runPipe(t, ev, "if x:\n  y")
	assert.Equal(t, "got if x:|  y|\n", out)
	assert.Equal(t, 0, status)
}

func TestLineModeErrors(t *testing.T) {
	out, errOut, status := runPipe(t, &fakeEval{}, "warn\nfail\nnever\n")
	assert.Equal(t, "out\n", out)
	assert.Equal(t, "careful\nError EACCES: access denied\n", errOut)
	assert.Equal(t, 13, status, "the first failure ends the run with its errno")
	_, errOut, status = runPipe(t, &fakeEval{}, "broken\nnever\n")
	assert.Equal(t, "Error: connection reset\n", errOut)
	assert.Equal(t, 1, status)
}

func TestLineModeCRLF(t *testing.T) {
	out, _, _ := runPipe(t, &fakeEval{}, "a\r\nb")
	assert.Equal(t, "got a\ngot b\n", out)
}

func TestRender(t *testing.T) {
	o := render(objectformat.Result{Retval: 1, Stdout: []byte("x"), Stderr: "y"}, nil)
	assert.Equal(t, outcome{out: []byte("x"), errText: "y"}, o, "positive retvals print like success")
	o = render(objectformat.Result{}, context.Canceled)
	assert.Equal(t, "KeyboardInterrupt\n", o.errText)
}

func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "gomgr", "repl_history")
	h, err := OpenHistory(path, 3)
	require.NoError(t, err)
	for _, l := range []string{"a", "a", " ", "b", "c", "d"} {
		require.NoError(t, h.Add(l))
	}
	assert.Equal(t, []string{"b", "c", "d"}, h.Entries())
	h2, err := OpenHistory(path, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c", "d"}, h2.Entries())
	for _, l := range []string{"e", "f", "g"} {
		require.NoError(t, h2.Add(l))
	}
	h3, err := OpenHistory(path, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"e", "f", "g"}, h3.Entries())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "e\nf\ng\n", string(data), "compacted at twice the size")
}

func TestDefaultHistoryPath(t *testing.T) {
	env := map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}
	p, err := DefaultHistoryPath(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "/s/gomgr/repl_history", p)
	delete(env, "XDG_STATE_HOME")
	p, err = DefaultHistoryPath(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "/h/.local/state/gomgr/repl_history", p)
}

// --- terminal mode: the model driven message by message ---

// drive runs cmds the way the program would, feeding their messages
// back into the model, and collects the printed lines.
type driver struct {
	t       *testing.T
	m       *model
	printed []string
	quit    bool
}

func newDriver(t *testing.T, ev Evaluator, hist *History) *driver {
	m := newModel(context.Background(), Config{Prefix: "x eval", Eval: ev, History: hist})
	d := &driver{t: t, m: m}
	d.update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return d
}

func (d *driver) update(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

// run executes a command and its results synchronously. Println
// messages are unexported in bubbletea, so they are recognised by the
// text they carry.
func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	case tea.QuitMsg:
		d.quit = true
	default:
		if s, ok := printed(msg); ok {
			d.printed = append(d.printed, s)
			return
		}
		if seq, ok := sequence(msg); ok {
			for _, c := range seq {
				d.run(c)
			}
			return
		}
		d.update(msg)
	}
}

func (d *driver) typeText(s string) {
	d.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
}

func (d *driver) key(k tea.KeyType) { d.update(tea.KeyMsg{Type: k}) }

func TestModelSession(t *testing.T) {
	ev := &fakeEval{}
	d := newDriver(t, ev, nil)
	assert.Equal(t, "[x eval] >>> ", d.m.input.Prompt)
	d.typeText("a")
	d.key(tea.KeyEnter)
	d.typeText("if y:")
	d.key(tea.KeyEnter)
	assert.Equal(t, "... ", d.m.input.Prompt)
	d.typeText("  z")
	d.key(tea.KeyEnter)
	d.key(tea.KeyEnter)
	assert.Equal(t, "[x eval] >>> ", d.m.input.Prompt)
	d.typeText("fail")
	d.key(tea.KeyEnter)
	assert.Equal(t, []string{
		"[x eval] >>> a", "got a",
		"[x eval] >>> if y:", "...   z", "... ", "got if y:|  z|",
		"[x eval] >>> fail", "Error EACCES: access denied",
	}, d.printed)
	assert.Contains(t, d.m.View(), "[x eval] >>> ")
	d.key(tea.KeyCtrlD)
	assert.True(t, d.quit)
}

func TestModelCtrlCClears(t *testing.T) {
	ev := &fakeEval{}
	d := newDriver(t, ev, nil)
	d.typeText("if y:")
	d.key(tea.KeyEnter)
	d.typeText("garbage")
	d.key(tea.KeyCtrlC)
	assert.Equal(t, "", d.m.input.Value())
	assert.Equal(t, "[x eval] >>> ", d.m.input.Prompt, "Ctrl-C also drops the pending block")
	assert.Equal(t, "... garbage^C", d.printed[len(d.printed)-1])
	d.typeText("b")
	d.key(tea.KeyCtrlD) // not empty: deletes forward, does not quit
	assert.False(t, d.quit)
	d.key(tea.KeyEnter)
	assert.Equal(t, "b", ev.sent()[len(ev.sent())-1])
}

func TestModelHistory(t *testing.T) {
	h, err := OpenHistory(filepath.Join(t.TempDir(), "h"), 0)
	require.NoError(t, err)
	require.NoError(t, h.Add("old"))
	d := newDriver(t, &fakeEval{}, h)
	d.typeText("new")
	d.key(tea.KeyEnter)
	d.typeText("draft")
	d.key(tea.KeyUp)
	assert.Equal(t, "new", d.m.input.Value())
	d.key(tea.KeyUp)
	assert.Equal(t, "old", d.m.input.Value())
	d.key(tea.KeyUp)
	assert.Equal(t, "old", d.m.input.Value(), "stops at the oldest")
	d.key(tea.KeyDown)
	d.key(tea.KeyDown)
	assert.Equal(t, "draft", d.m.input.Value(), "back to what was being typed")
	assert.Equal(t, []string{"old", "new"}, h.Entries())
}

func TestModelCompletion(t *testing.T) {
	ev := &fakeEval{cands: []string{"mgr", "mgr.version", "mgr.release_name", "print"}}
	d := newDriver(t, ev, nil)
	d.typeText("x = pr")
	d.key(tea.KeyTab)
	assert.Equal(t, "x = print", d.m.input.Value())
	d.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("(mgr.")})
	d.key(tea.KeyTab)
	assert.Equal(t, "x = print(mgr.", d.m.input.Value(), "no common prefix beyond the word")
	assert.Contains(t, d.m.View(), "mgr.version")
	assert.Contains(t, d.m.View(), "mgr.release_name")
	d.typeText("v")
	assert.NotContains(t, d.m.View(), "mgr.release_name", "typing hides the candidates")
	d.key(tea.KeyTab)
	assert.Equal(t, "x = print(mgr.version", d.m.input.Value())
	d.key(tea.KeyCtrlU)
	d.key(tea.KeyTab)
	assert.Equal(t, "    ", d.m.input.Value(), "Tab at the start of a line indents")
}

func TestModelTypeAheadAndInterrupt(t *testing.T) {
	ev := &fakeEval{block: make(chan struct{})}
	d := newDriver(t, ev, nil)
	d.typeText("slow")
	_, cmd := d.m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	assert.True(t, d.m.busy)
	assert.Equal(t, "", d.m.View(), "no prompt while evaluating")
	d.typeText("next")
	d.key(tea.KeyEnter)
	assert.Len(t, d.m.pending, 2, "keys typed while busy wait")
	close(ev.block)
	d.run(cmd)
	assert.Equal(t, []string{"slow", "next"}, ev.sent())
	assert.Contains(t, d.printed, "got next")

	ev2 := &fakeEval{block: make(chan struct{})}
	d = newDriver(t, ev2, nil)
	d.typeText("hang")
	_, cmd = d.m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	d.key(tea.KeyCtrlC)
	d.run(cmd)
	assert.False(t, d.m.busy)
	assert.Contains(t, d.printed, "KeyboardInterrupt")
}

func TestModelPaste(t *testing.T) {
	ev := &fakeEval{}
	d := newDriver(t, ev, nil)
	d.update(tea.KeyMsg{Type: tea.KeyRunes, Paste: true, Runes: []rune("a\nb\n")})
	assert.Equal(t, []string{"a", "b"}, ev.sent())
}

func TestColumns(t *testing.T) {
	assert.Equal(t, "ab     c      def\nghijk", columns([]string{"ab", "c", "def", "ghijk"}, 22))
	assert.Equal(t, "a\nb", columns([]string{"a", "b"}, 0))
}
