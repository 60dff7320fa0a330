package mgrctl_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// completionFiles are the committed scripts (the names make completions
// writes).
var completionFiles = map[string]string{
	"bash":       "mgrctl.bash",
	"zsh":        "_mgrctl",
	"fish":       "mgrctl.fish",
	"powershell": "mgrctl.ps1",
}

func completionPath(file string) string {
	return filepath.Join("..", "..", "completions", file)
}

// TestCompletionScriptsUpToDate checks the committed scripts byte for byte
// against the generator (make completions, or go test -update, rewrites
// them).
func TestCompletionScriptsUpToDate(t *testing.T) {
	for shell, file := range completionFiles {
		r := run(t, "", []string{"completion", shell})
		require.Equal(t, 0, r.code, r.stderr)
		require.Empty(t, r.stderr)
		path := completionPath(file)
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(r.stdout), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(want), r.stdout, "completions/%s is stale: run make completions", file)
	}
}

// TestCompletionScriptsLoad sources the bash and zsh scripts: no errors.
func TestCompletionScriptsLoad(t *testing.T) {
	bash := testutil.NeedTool(t, "bash", "bash")
	out, errOut := shell(t, bash, nil, "source "+completionPath("mgrctl.bash")+" && complete -p mgrctl")
	assert.Empty(t, errOut)
	assert.Contains(t, out, "__start_mgrctl")

	zsh := testutil.NeedTool(t, "zsh", "zsh")
	home := t.TempDir()
	_, errOut = shell(t, zsh, []string{"HOME=" + home, "ZDOTDIR=" + home},
		"autoload -U compinit; compinit -u; source "+completionPath("_mgrctl")+" && whence -w _mgrctl")
	assert.Empty(t, errOut)
}

// bashComplete is what bash does on TAB: the completion function with
// COMP_WORDS and friends set, then COMPREPLY. bash-completion's
// _get_comp_words_by_ref is used when installed, else a minimal stand-in;
// compopt only works while readline completes, so it is a no-op here
// (TestBashCompletionTmux presses a real TAB).
const bashComplete = `
compopt() { :; }
[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
if ! declare -F _get_comp_words_by_ref >/dev/null; then
	_get_comp_words_by_ref() {
		while [ "$1" = -n ]; do shift 2; done
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	}
fi
source "$SCRIPT"
read -r -a COMP_WORDS <<<"$LINE"
[ "${LINE% }" != "$LINE" ] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$LINE COMP_POINT=${#LINE} COMP_TYPE=9
__start_mgrctl mgrctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`

// TestBashCompletion drives the bash script against a running daemon:
// mgrctl hel<TAB> offers hello (a daemon command) and help (a built-in).
func TestBashCompletion(t *testing.T) {
	bash := testutil.NeedTool(t, "bash", "bash")
	dir := startDaemon(t)
	complete := func(line string, env ...string) []string {
		out, errOut := shell(t, bash, append(env, "LINE="+line, "SCRIPT="+completionPath("mgrctl.bash")), bashComplete)
		assert.Empty(t, errOut)
		return strings.Fields(out)
	}
	assert.ElementsMatch(t, []string{"hello", "help"}, complete("mgrctl hel", "GOMGR_RUN_DIR="+dir))
	assert.ElementsMatch(t, []string{"hello", "help"}, complete("mgrctl --run-dir "+dir+" hel"))
	assert.Equal(t, []string{"hello"}, complete("mgrctl --run-dir "+dir+" hell"))
	assert.Equal(t, []string{"disable", "enable", "ls"}, complete("mgrctl --run-dir "+dir+" mgr module "))
	assert.Equal(t, []string{"json", "json-pretty"}, complete("mgrctl --run-dir "+dir+" -f js"))
	assert.Equal(t, []string{"help"}, complete("mgrctl hel", "GOMGR_RUN_DIR="+filepath.Join(dir, "nowhere")),
		"without a daemon only the built-ins")
}

// shell runs a script in a shell with extra environment variables.
func shell(t *testing.T, sh string, env []string, script string) (string, string) {
	t.Helper()
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(t, err, "%s: %s", sh, errb.String())
	return out.String(), errb.String()
}

// TestBashCompletionTmux presses TAB in an interactive bash under tmux.
func TestBashCompletionTmux(t *testing.T) {
	testutil.NeedTool(t, "bash", "bash")
	dir := startDaemon(t)
	script, err := filepath.Abs(completionPath("mgrctl.bash"))
	require.NoError(t, err)
	s := newTmux(t, []string{"GOMGR_RUN_DIR=" + dir, "HISTFILE=/dev/null"}, "bash --norc --noprofile -i")
	s.waitFor("the shell prompt", func(screen string) bool { return strings.Contains(screen, "bash") })
	s.line("PS1='$ '")
	// Without the bash-completion package, a stand-in for its helper.
	s.line(`declare -F _get_comp_words_by_ref >/dev/null || _get_comp_words_by_ref() { while [ "$1" = -n ]; do shift 2; done; cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD; }`)
	s.line("source " + script + " && echo sourced")
	s.waitFor("the script", func(screen string) bool {
		return strings.Contains(screen, "\nsourced") || strings.Contains(screen, "sourced\n")
	})
	s.type_("mgrctl hel")
	s.keys("Tab", "Tab")
	s.waitFor("hello and help listed", func(screen string) bool {
		return strings.Contains(screen, "hello") && strings.Contains(screen, "help")
	})
	s.keys("C-u")
	s.type_("mgrctl hell")
	s.keys("Tab")
	s.waitFor("mgrctl hello completed", func(screen string) bool { return strings.Contains(screen, "$ mgrctl hello") })
}
