package mgrctl

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/pkg/cmddesc"
)

func (a *app) newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about mgrctl, its subcommands, or the daemon's commands",
		Long: `help prints mgrctl's help, the help of one of its subcommands, or, for other
words, the usage of the daemon's commands that start with them ("mgrctl help
mgr module"; "mgrctl hello --help" does the same).`,
		DisableFlagParsing: true,
		ValidArgsFunction:  a.completeWords,
		RunE: func(cmd *cobra.Command, args []string) error {
			words, _, err := a.parseGlobals(cmd, args)
			if err != nil {
				return err
			}
			if len(words) == 0 {
				return a.root.Help()
			}
			if sub, rest, err := a.root.Find(words); err == nil && sub != a.root && len(rest) == 0 {
				return sub.Help()
			}
			ctx, cancel := a.within(cmd.Context(), a.g.timeout, "timeout")
			defer cancel()
			return a.commandHelp(ctx, words)
		},
	}
}

// commandHelp lists the daemon commands whose words start with words
// (the last word may be partial), with their usage and description.
func (a *app) commandHelp(ctx context.Context, words []string) error {
	c, descs, err := a.reach(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	n := 0
	for _, d := range descs {
		if d.Flags&(cmddesc.FlagHidden|cmddesc.FlagObsolete) != 0 || !hasWordPrefix(d.Sig.Prefix(), words) {
			continue
		}
		usage, err := cmddesc.Usage(d)
		if err != nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", usage, d.Help)
		n++
	}
	if err := tw.Flush(); err != nil {
		return fail(1, err)
	}
	if n == 0 {
		return &exitError{code: 22, msg: fmt.Sprintf("Error EINVAL: no command starts with '%s' (mgrctl call help lists them all)", strings.Join(words, " "))}
	}
	return nil
}

// hasWordPrefix reports whether the command prefix starts with words,
// the last of which may be a partial word.
func hasWordPrefix(prefix string, words []string) bool {
	pw := strings.Fields(prefix)
	if len(words) > len(pw) {
		return false
	}
	for i, w := range words {
		if i == len(words)-1 {
			return strings.HasPrefix(pw[i], w)
		}
		if pw[i] != w {
			return false
		}
	}
	return true
}
