package repl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// completeTimeout bounds a completion request.
const completeTimeout = 5 * time.Second

// evalDoneMsg carries the result of a submission.
type evalDoneMsg struct {
	res objectformat.Result
	err error
}

// completeDoneMsg carries completion candidates for the word
// value[start:pos] (rune offsets).
type completeDoneMsg struct {
	value      string
	start, pos int
	cands      []string
}

// model is the terminal-mode REPL: a textinput line editor plus the
// session, history and completion state.
type model struct {
	ctx    context.Context
	prefix string
	eval   Evaluator
	banner string

	s     session
	input textinput.Model
	width int

	hist    *History
	histIdx int    // index into hist entries; len(entries) is the draft
	draft   string // the line being typed before browsing history
	warned  bool   // a history write error was shown

	busy    bool
	cancel  context.CancelFunc
	pending []tea.KeyMsg // keys typed while busy, replayed afterwards

	cands    []string // completion candidates shown under the prompt
	quitting bool
}

func newModel(ctx context.Context, c Config) *model {
	in := textinput.New()
	in.Prompt = Prompt(c.Prefix)
	in.Cursor.SetMode(cursor.CursorStatic)
	in.Focus()
	h := c.History
	if h == nil {
		h = &History{max: DefaultHistorySize}
	}
	return &model{ctx: ctx, prefix: c.Prefix, eval: c.Eval, banner: c.Banner, input: in, hist: h, histIdx: len(h.Entries())}
}

func (m *model) Init() tea.Cmd {
	if m.banner == "" {
		return nil
	}
	return tea.Println(m.banner)
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.fitInput()
		return m, nil
	case tea.KeyMsg:
		if msg.Paste && strings.ContainsAny(string(msg.Runes), "\r\n") {
			m.pending = append(m.pending, expandPaste(msg)...)
			return m, m.drain()
		}
		if m.busy {
			if msg.Type == tea.KeyCtrlC {
				m.cancel()
				m.pending = nil
				return m, nil
			}
			m.pending = append(m.pending, msg)
			return m, nil
		}
		if len(m.pending) > 0 {
			m.pending = append(m.pending, msg)
			return m, m.drain()
		}
		return m, m.handleKey(msg)
	case evalDoneMsg:
		return m, m.finish(msg)
	case completeDoneMsg:
		m.applyCompletion(msg)
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *model) View() string {
	if m.quitting || m.busy {
		return ""
	}
	v := m.input.View()
	if len(m.cands) > 0 {
		v += "\n" + columns(m.cands, m.width)
	}
	return v
}

// handleKey edits the line or acts on it.
func (m *model) handleKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyCtrlC:
		echo := m.input.Prompt + m.input.Value() + "^C"
		m.s.reset()
		m.clearLine()
		return tea.Println(echo)
	case tea.KeyCtrlD:
		if m.input.Value() == "" {
			m.quitting = true
			return tea.Sequence(tea.Println(m.input.Prompt), tea.Quit)
		}
	case tea.KeyEnter:
		return m.submit()
	case tea.KeyUp:
		m.historyMove(-1)
		return nil
	case tea.KeyDown:
		m.historyMove(1)
		return nil
	case tea.KeyTab:
		return m.complete()
	}
	m.cands = nil
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return cmd
}

// drain replays queued keys until one starts an evaluation.
func (m *model) drain() tea.Cmd {
	var cmds []tea.Cmd
	for len(m.pending) > 0 && !m.busy && !m.quitting {
		k := m.pending[0]
		m.pending = m.pending[1:]
		cmds = append(cmds, m.handleKey(k))
	}
	return tea.Sequence(cmds...)
}

// submit echoes the line and sends the accumulated source.
func (m *model) submit() tea.Cmd {
	line := m.input.Value()
	echo := tea.Println(m.input.Prompt + line)
	if err := m.hist.Add(line); err != nil && !m.warned {
		m.warned = true
		echo = tea.Sequence(echo, tea.Println("warning: "+err.Error()))
	}
	m.clearLine()
	source, ok := m.s.push(line)
	if !ok {
		return echo
	}
	m.busy = true
	ctx, cancel := context.WithCancel(m.ctx)
	m.cancel = cancel
	ev := m.eval
	return tea.Sequence(echo, func() tea.Msg {
		res, err := ev.Eval(ctx, source)
		return evalDoneMsg{res: res, err: err}
	})
}

// finish prints a result and replays keys typed in the meantime.
func (m *model) finish(msg evalDoneMsg) tea.Cmd {
	m.busy = false
	m.cancel()
	m.s.done(msg.res, msg.err)
	m.setPrompt()
	var cmds []tea.Cmd
	if msg.err != nil || msg.res.Retval != Incomplete {
		o := render(msg.res, msg.err)
		if text := string(o.out) + o.errText; text != "" {
			cmds = append(cmds, tea.Println(strings.TrimSuffix(text, "\n")))
		}
	}
	return tea.Sequence(append(cmds, m.drain())...)
}

func (m *model) clearLine() {
	m.input.SetValue("")
	m.cands = nil
	m.histIdx = len(m.hist.Entries())
	m.draft = ""
	m.setPrompt()
}

func (m *model) setPrompt() {
	m.input.Prompt = m.s.prompt(m.prefix)
	m.fitInput()
}

func (m *model) fitInput() {
	if m.width > 0 {
		m.input.Width = max(10, m.width-len([]rune(m.input.Prompt))-1)
	}
}

// historyMove browses the history: -1 is older, +1 newer.
func (m *model) historyMove(d int) {
	entries := m.hist.Entries()
	i := m.histIdx + d
	if i < 0 || i > len(entries) {
		return
	}
	if m.histIdx == len(entries) {
		m.draft = m.input.Value()
	}
	m.histIdx = i
	if i == len(entries) {
		m.input.SetValue(m.draft)
	} else {
		m.input.SetValue(entries[i])
	}
	m.input.CursorEnd()
	m.cands = nil
}

// complete asks the eval side for the word before the cursor; at the
// start of a line Tab indents instead.
func (m *model) complete() tea.Cmd {
	value := m.input.Value()
	runes := []rune(value)
	pos := min(m.input.Position(), len(runes))
	start := pos
	for start > 0 && isWordRune(runes[start-1]) {
		start--
	}
	if strings.TrimSpace(string(runes[:pos])) == "" {
		m.input.SetValue(string(runes[:pos]) + "    " + string(runes[pos:]))
		m.input.SetCursor(pos + 4)
		return nil
	}
	partial := string(runes[start:pos])
	ev, ctx := m.eval, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, completeTimeout)
		defer cancel()
		cands, err := ev.Complete(ctx, partial)
		if err != nil {
			cands = nil
		}
		return completeDoneMsg{value: value, start: start, pos: pos, cands: cands}
	}
}

// applyCompletion replaces the partial word with the only candidate, or
// with the candidates' common prefix and shows them all.
func (m *model) applyCompletion(msg completeDoneMsg) {
	if m.busy || m.input.Value() != msg.value || m.input.Position() != msg.pos || len(msg.cands) == 0 {
		return
	}
	runes := []rune(msg.value)
	partial := string(runes[msg.start:msg.pos])
	repl := msg.cands[0]
	m.cands = nil
	if len(msg.cands) > 1 {
		repl = commonPrefix(msg.cands)
		m.cands = msg.cands
		if len(repl) < len(partial) {
			repl = partial
		}
	}
	m.input.SetValue(string(runes[:msg.start]) + repl + string(runes[msg.pos:]))
	m.input.SetCursor(msg.start + len([]rune(repl)))
}

func isWordRune(r rune) bool {
	return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			_, size := utf8.DecodeLastRuneInString(p)
			p = p[:len(p)-size]
		}
	}
	return p
}

// columns lays candidates out in columns for a terminal width.
func columns(cands []string, width int) string {
	w := 0
	for _, c := range cands {
		w = max(w, len([]rune(c)))
	}
	w += 2
	per := 1
	if width > w {
		per = width / w
	}
	var b strings.Builder
	for i, c := range cands {
		if i > 0 && i%per == 0 {
			b.WriteByte('\n')
		}
		if (i+1)%per == 0 || i == len(cands)-1 {
			b.WriteString(c)
		} else {
			fmt.Fprintf(&b, "%-*s", w, c)
		}
	}
	return b.String()
}

// expandPaste turns a multi-line paste into typed lines and Enters.
func expandPaste(k tea.KeyMsg) []tea.KeyMsg {
	text := strings.ReplaceAll(strings.ReplaceAll(string(k.Runes), "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	var out []tea.KeyMsg
	for i, l := range lines {
		if l != "" {
			out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(l)})
		}
		if i < len(lines)-1 {
			out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
		}
	}
	return out
}

// runTTY is terminal mode.
func runTTY(ctx context.Context, c Config) (int, error) {
	m := newModel(ctx, c)
	p := tea.NewProgram(m, tea.WithInput(c.In), tea.WithOutput(c.Out), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil {
		if ctx.Err() != nil || errors.Is(err, tea.ErrInterrupted) {
			return 130, nil
		}
		return 1, fmt.Errorf("repl: %w", err)
	}
	return 0, nil
}
