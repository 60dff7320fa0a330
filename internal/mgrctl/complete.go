package mgrctl

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/pkg/cmddesc"
)

// completeTimeout bounds how long shell completion waits for the daemon.
const completeTimeout = 3 * time.Second

// completeWords is the ValidArgsFunction of the commands that take daemon
// command words: it completes them from the daemon's descriptions
// (clicommand's Matcher.Complete). It prints nothing; when the daemon
// cannot be reached it offers no candidates.
func (a *app) completeWords(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const noFiles = cobra.ShellCompDirectiveNoFileComp
	if n := len(args); n > 0 {
		switch args[n-1] {
		case "-f", "--format":
			var out []cobra.Completion
			for _, f := range formats {
				if strings.HasPrefix(f, toComplete) {
					out = append(out, f)
				}
			}
			return out, noFiles
		case "-i", "--in-file", "-o", "--out-file", "-c", "--conf", "-k", "--keyring", "--socket":
			return nil, cobra.ShellCompDirectiveDefault
		case "--run-dir":
			return nil, cobra.ShellCompDirectiveFilterDirs
		case "--id", "-n", "--name", "--period", "--timeout", "--connect-timeout":
			return nil, noFiles
		}
	}
	words, _, err := a.parseGlobals(cmd, args)
	if err != nil {
		return nil, noFiles
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	cands := a.completeFromDaemon(ctx, append(words, toComplete))
	switch {
	case cmd == a.root && len(words) == 0:
		cands = a.withSubcommands(cands, toComplete, len(args) == 0)
	case cmd.Name() == "help" && len(words) == 0:
		cands = a.withSubcommands(cands, toComplete, false)
	}
	return cands, noFiles
}

// withSubcommands merges the built-in subcommands into the first word's
// candidates; built-ins win, so a daemon word equal to one is dropped.
// cobra lists the subcommands itself only when no flag precedes the word
// (listedByCobra); otherwise they are added here.
func (a *app) withSubcommands(cands []string, toComplete string, listedByCobra bool) []string {
	subs := map[string]bool{}
	var out []string
	for _, c := range a.root.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			subs[c.Name()] = true
			if !listedByCobra && strings.HasPrefix(c.Name(), toComplete) {
				out = append(out, c.Name())
			}
		}
	}
	for _, c := range cands {
		if !subs[c] {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// completeFromDaemon returns the candidates for the last of words, or
// none when the daemon (or cluster) does not answer in time.
func (a *app) completeFromDaemon(ctx context.Context, words []string) []string {
	done := make(chan []string, 1)
	go func() {
		c, err := a.connect(ctx)
		if err != nil {
			done <- nil
			return
		}
		defer c.close()
		descs, err := c.descriptions(ctx)
		if err != nil {
			done <- nil
			return
		}
		m, err := cmddesc.NewMatcher(descs)
		if err != nil {
			done <- nil
			return
		}
		if cands, ok := completeValues(ctx, c, words); ok {
			done <- cands
			return
		}
		done <- m.Complete(words)
	}()
	select {
	case cands := <-done:
		return cands
	case <-ctx.Done():
		return nil
	}
}

// completeValues completes the argument values the descriptions cannot
// list, from the daemon's state: module names after `mgr module enable`
// (the disabled ones) and `mgr module disable` (the enabled ones), option
// names after `config get|set|rm WHO` and `config help` (`config ls`), and
// an option's choices after `config set WHO NAME` (its enum values, or
// true and false for a bool, from `config help`). The
// last of words is the word being completed. ok is false for the other
// words, which the descriptions complete.
func completeValues(ctx context.Context, c conn, words []string) (cands []string, ok bool) {
	n := len(words) - 1
	if n < 2 {
		return nil, false
	}
	done, partial := words[:n], words[n]
	var names []string
	switch {
	case n == 3 && done[0] == "mgr" && done[1] == "module" && (done[2] == "enable" || done[2] == "disable"):
		var ls struct {
			Enabled  []string `json:"enabled_modules"`
			Disabled []struct {
				Name string `json:"name"`
			} `json:"disabled_modules"`
		}
		if !daemonJSON(ctx, c, map[string]any{"prefix": "mgr module ls", "format": "json"}, &ls) {
			return nil, false
		}
		if done[2] == "disable" {
			names = ls.Enabled
		} else {
			for _, d := range ls.Disabled {
				names = append(names, d.Name)
			}
		}
	case done[0] == "config" && (n == 3 && (done[1] == "get" || done[1] == "set" || done[1] == "rm") || n == 2 && done[1] == "help"):
		if !daemonJSON(ctx, c, map[string]any{"prefix": "config ls", "format": "json"}, &names) {
			return nil, false
		}
	case n == 4 && done[0] == "config" && done[1] == "set":
		var help struct {
			Type string   `json:"type"`
			Enum []string `json:"enum_values"`
		}
		if !daemonJSON(ctx, c, map[string]any{"prefix": "config help", "key": done[3], "format": "json"}, &help) {
			return nil, false
		}
		names = help.Enum
		if help.Type == "bool" && len(names) == 0 {
			names = []string{"false", "true"}
		}
	default:
		return nil, false
	}
	for _, name := range names {
		if strings.HasPrefix(name, partial) {
			cands = append(cands, name)
		}
	}
	sort.Strings(cands)
	return cands, true
}

// daemonJSON runs cmd and decodes its JSON output into v.
func daemonJSON(ctx context.Context, c conn, cmd map[string]any, v any) bool {
	res, err := c.command(ctx, cmd, nil, true)
	return err == nil && res.Retval == 0 && json.Unmarshal(res.Stdout, v) == nil
}
