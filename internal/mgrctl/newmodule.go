package mgrctl

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/mgrctl/scaffold"
)

func (a *app) newNewModuleCmd() *cobra.Command {
	var o scaffold.Options
	cmd := &cobra.Command{
		Use:   "new-module NAME",
		Short: "Write a new module: code, test, README, and its import in modules/all",
		Long: `new-module writes modules/NAME: a module with one command per result style
(a Responder, an ErrorResponseHandler and an EmptyResponder), a test file and
a README.md, and adds its import between the gomgr:modules markers of
modules/all/all.go so that the next ceph-mgr build compiles it in.

--serve adds a background loop, --options module options, --eval an eval
command for "mgrctl repl --prefix 'NAME eval'". Nothing is written when the
name is invalid or modules/NAME exists (unless --force).`,
		Example: "  mgrctl new-module antigravity --serve --options --eval\n  go build -o bin/ ./cmd/... && bin/ceph-mgr -i x\n  mgrctl mgr module enable antigravity",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "new-module takes one module name, got %d arguments", len(args))
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := scaffold.CheckName(o.Name); err != nil {
				return fail(2, err)
			}
			if o.Dir == "" {
				wd, err := os.Getwd()
				if err != nil {
					return fail(1, err)
				}
				if o.Dir, err = scaffold.FindModulesDir(wd); err != nil {
					return fail(1, err)
				}
			}
			p, err := scaffold.Generate(o)
			if err != nil {
				return fail(1, fmt.Errorf("new-module %s: %w", o.Name, err))
			}
			for _, f := range p.Files {
				fmt.Fprintln(a.stdout, "wrote", display(p.Dir, f.Path))
			}
			if p.AllGo != nil {
				fmt.Fprintln(a.stdout, "updated", display(p.Dir, p.AllGo.Path))
			} else if p.ImportPath != "" {
				fmt.Fprintf(a.stdout, "%s already imports %s\n", display(p.Dir, "all/all.go"), p.ImportPath)
			}
			fmt.Fprintf(a.stdout, "next: rebuild ceph-mgr, restart it, then: mgrctl mgr module enable %s\n", o.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "modules directory (default: modules/ of the gomgr repository around the current directory)")
	f.BoolVar(&o.Serve, "serve", false, "add a background loop (Serve/Shutdown)")
	f.BoolVar(&o.Options, "options", false, "add module options")
	f.BoolVar(&o.Eval, "eval", false, "add an eval command speaking the REPL protocol")
	f.BoolVar(&o.Force, "force", false, "overwrite the files of an existing module directory")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// display names a file below the modules directory dir as a path from
// dir's parent ("modules/NAME/NAME.go").
func display(dir, rel string) string {
	return filepath.Join(filepath.Base(dir), filepath.FromSlash(rel))
}
