package mgrctl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/testutil"
)

// tmuxSession is a detached tmux session on a private server, 120x30.
type tmuxSession struct {
	t    *testing.T
	tmux string
	sock string
}

// newTmux starts command in a new session; env is added to the server's
// environment (and so to the command's).
func newTmux(t *testing.T, env []string, command string) *tmuxSession {
	t.Helper()
	tmux := testutil.NeedTool(t, "tmux", "tmux")
	s := &tmuxSession{t: t, tmux: tmux, sock: filepath.Join(testutil.ShortTempDir(t), "tmux")}
	cmd := exec.Command(tmux, "-f", "/dev/null", "-S", s.sock, "new-session", "-d", "-x", "120", "-y", "30", "-s", "t", command)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmuxRun(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys sends key names (Enter, Tab, Up, C-c, ...).
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.tmuxRun(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// type_ types text literally.
func (s *tmuxSession) type_(text string) {
	s.t.Helper()
	s.tmuxRun("send-keys", "-t", "t", "-l", text)
}

// line types text and Enter.
func (s *tmuxSession) line(text string) {
	s.t.Helper()
	s.type_(text)
	s.keys("Enter")
}

// screen is the visible pane, trailing blank lines dropped.
func (s *tmuxSession) screen() string {
	s.t.Helper()
	return strings.TrimRight(s.tmuxRun("capture-pane", "-p", "-t", "t"), "\n")
}

// waitFor polls the screen until ok, and returns it.
func (s *tmuxSession) waitFor(what string, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		screen := s.screen()
		if ok(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s; the screen:\n%s", what, screen)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// lastLine is the screen's last non-blank line.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return lines[len(lines)-1]
}
