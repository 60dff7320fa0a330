package mgrctl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/mgrctl/internal/evalfake"
)

const replPrompt = "[replfake eval] >>> "

// replDaemon starts a daemon with the fake eval module enabled.
func replDaemon(t *testing.T) string {
	t.Helper()
	dir := startDaemon(t)
	r := run(t, "", []string{"--run-dir", dir, "mgr", "module", "enable", evalfake.Name})
	require.Equal(t, 0, r.code, r.stderr)
	return dir
}

// startRepl runs mgrctl repl in tmux; when it exits the pane says so.
func startRepl(t *testing.T, dir, state string) *tmuxSession {
	t.Helper()
	s := newTmux(t, []string{"GOMGR_RUN_DIR=" + dir, "XDG_STATE_HOME=" + state},
		`mgrctl repl --prefix "`+evalfake.Prefix+`"; echo "mgrctl exited with status $?"; sleep 600`)
	s.waitFor("the prompt", atPrompt)
	return s
}

// atPrompt reports whether the last line is an empty primary prompt
// (capture-pane drops its trailing space).
func atPrompt(screen string) bool {
	return lastLine(screen) == strings.TrimSpace(replPrompt)
}

// lines returns the screen's lines from the first one starting with from.
func linesFrom(screen, from string) []string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, from) {
			return lines[i:]
		}
	}
	return nil
}

// TestReplTmux types a session into the terminal REPL and reads the
// screen: prompt, continuation lines, outputs and the exit.
func TestReplTmux(t *testing.T) {
	dir := replDaemon(t)
	s := startRepl(t, dir, t.TempDir())
	s.line("print(mgr.version)")
	s.waitFor("the version", func(sc string) bool { return strings.Contains(sc, "gomgr version") && atPrompt(sc) })
	s.line("def f():")
	s.waitFor("the continuation prompt", func(sc string) bool { return lastLine(sc) == "..." })
	s.line("  return 42")
	s.waitFor("the second continuation line", func(sc string) bool { return lastLine(sc) == "..." && strings.Contains(sc, "...   return 42") })
	s.keys("Enter")
	s.waitFor("the end of the block", atPrompt)
	s.line("f()")
	s.waitFor("42", func(sc string) bool { return strings.Contains(sc, "\n42\n") && atPrompt(sc) })
	s.keys("C-d")
	screen := s.waitFor("the exit", func(sc string) bool { return strings.Contains(sc, "mgrctl exited with status") })
	assert.Equal(t, []string{
		replPrompt + "print(mgr.version)",
		"gomgr version dev",
		replPrompt + "def f():",
		"...   return 42",
		"...",
		replPrompt + "f()",
		"42",
		strings.TrimSpace(replPrompt),
		"mgrctl exited with status 0",
	}, linesFrom(screen, replPrompt))
}

// TestReplTmuxHistoryAndCtrlC: Up recalls lines (also in a new session,
// from the history file), Ctrl-C clears the line.
func TestReplTmuxHistoryAndCtrlC(t *testing.T) {
	dir := replDaemon(t)
	state := t.TempDir()
	s := startRepl(t, dir, state)
	s.line("6 * 7")
	s.waitFor("42", func(sc string) bool { return strings.Contains(sc, "\n42\n") && atPrompt(sc) })
	s.keys("Up")
	s.waitFor("the recalled line", func(sc string) bool { return lastLine(sc) == replPrompt+"6 * 7" })
	s.keys("Enter")
	s.waitFor("42 twice", func(sc string) bool { return strings.Count(sc, "\n42\n") == 2 && atPrompt(sc) })

	s.type_("garbage")
	s.waitFor("the typed text", func(sc string) bool { return lastLine(sc) == replPrompt+"garbage" })
	s.keys("C-c")
	s.waitFor("a cleared line", func(sc string) bool { return strings.Contains(sc, replPrompt+"garbage^C") && atPrompt(sc) })
	s.line("1 + 1")
	screen := s.waitFor("2", func(sc string) bool { return strings.Contains(sc, "\n2\n") && atPrompt(sc) })
	assert.NotContains(t, screen, "undefined", "the cleared text was never sent")
	s.keys("C-d")
	s.waitFor("the exit", func(sc string) bool { return strings.Contains(sc, "mgrctl exited with status 0") })

	hist, err := os.ReadFile(filepath.Join(state, "gomgr", "repl_history"))
	require.NoError(t, err)
	assert.Equal(t, "6 * 7\n1 + 1\n", string(hist))

	s2 := startRepl(t, dir, state)
	s2.keys("Up", "Up")
	s2.waitFor("history from the file", func(sc string) bool { return lastLine(sc) == replPrompt+"6 * 7" })
	s2.keys("C-u", "C-d")
	s2.waitFor("the exit", func(sc string) bool { return strings.Contains(sc, "mgrctl exited with status 0") })
}

// TestReplTmuxCompletion: Tab completes from the eval side.
func TestReplTmuxCompletion(t *testing.T) {
	dir := replDaemon(t)
	s := startRepl(t, dir, t.TempDir())
	s.type_("mgr.ver")
	s.keys("Tab")
	s.waitFor("the completed name", func(sc string) bool { return lastLine(sc) == replPrompt+"mgr.version" })
	s.type_("; mgr.")
	s.keys("Tab")
	s.waitFor("the candidates", func(sc string) bool {
		return strings.Contains(sc, "mgr.id") && strings.Contains(sc, "mgr.release_name")
	})
	s.keys("C-u", "C-d")
	s.waitFor("the exit", func(sc string) bool { return strings.Contains(sc, "mgrctl exited with status 0") })
}

// TestReplPipe is TestReplTmux's session without a terminal: the same
// outputs, no prompts.
func TestReplPipe(t *testing.T) {
	dir := replDaemon(t)
	r := run(t, "print(mgr.version)\ndef f():\n  return 42\n\nf()\n", []string{"--run-dir", dir, "repl", "--prefix", evalfake.Prefix})
	assert.Equal(t, result{stdout: "gomgr version dev\n42\n"}, r)
}

// TestReplSelftest talks to the real "mgr self-test eval" when the
// selftest module is compiled in.
func TestReplSelftest(t *testing.T) {
	dir := startDaemon(t)
	if r := run(t, "", []string{"--run-dir", dir, "help", "mgr", "self-test", "eval"}); r.code != 0 {
		t.Skip("the selftest module is not compiled in")
	}
	r := run(t, "", []string{"--run-dir", dir, "mgr", "module", "enable", "selftest"})
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, "def f():\n  return 42\n\nf()\n", []string{"--run-dir", dir, "repl"})
	assert.Equal(t, result{stdout: "42\n"}, r)
}
