package mgrctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/buildinfo"
	"github.com/gomgr/gomgr/internal/mgrctl/scaffold"
)

func (a *app) newNewModuleCmd() *cobra.Command {
	var o scaffold.Options
	var standalone, modulePath, gomgrDir string
	cmd := &cobra.Command{
		Use:   "new-module NAME",
		Short: "Write a new module: in modules/ of a gomgr checkout, or as a Go module of your own",
		Long: `new-module writes a module with one command per result style (a
Responder, an ErrorResponseHandler and an EmptyResponder), a test file
(pkg/module/moduletest) and a README.md.

Inside a gomgr checkout (or with --dir DIR, a modules directory) it writes
modules/NAME and adds its import between the gomgr:modules markers of
modules/all/all.go, so that the next ceph-mgr build compiles it in.

Outside a gomgr checkout, or with --standalone DIR, it writes a Go module of
your own in DIR (default ./NAME): go.mod (module --module-path, default
example.com/NAME, requiring github.com/gomgr/gomgr at this mgrctl's version,
v0.0.0 when it is no release; --gomgr-dir PATH adds a replace with the
checkout in PATH for local development), the module in DIR/NAME,
cmd/ceph-mgr/main.go hosting it (pkg/mgr's Main), a Makefile (make test:
go test ./...; make run: build bin/ceph-mgr and start it with --data
./run/data --run-dir ./run), a README.md saying what to run, and a
.gitignore.

--serve adds a background loop, --options module options, --eval an eval
command for "mgrctl repl --prefix 'NAME eval'".

Nothing is written when the name is invalid or the target (modules/NAME, or
a standalone DIR that is not empty) exists, unless --force. With --force,
missing files are added and files identical to the generated ones are left
alone; if any existing file differs (an edit of yours, or other flags),
nothing is written and new-module lists them. --overwrite (implies --force)
replaces those files too, losing their edits.`,
		Example: "  mgrctl new-module antigravity --serve --options --eval\n" +
			"  go build -o bin/ ./cmd/... && bin/ceph-mgr -i x\n" +
			"  mgrctl mgr module enable antigravity\n\n" +
			"  # outside the checkout, against a checkout in ~/gomgr:\n" +
			"  mgrctl new-module quota --gomgr-dir ~/gomgr --module-path example.com/quota\n" +
			"  cd quota && make test && make run",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "new-module takes one module name, got %d arguments", len(args))
			}
			f := cmd.Flags()
			if f.Changed("standalone") && f.Changed("dir") {
				return usageError(cmd, "--dir (a modules directory in a gomgr checkout) and --standalone (a module of your own) exclude each other")
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := scaffold.CheckName(o.Name); err != nil {
				return fail(2, err)
			}
			f := cmd.Flags()
			isStandalone := f.Changed("standalone")
			if !isStandalone && o.Dir == "" {
				wd, err := os.Getwd()
				if err != nil {
					return fail(1, err)
				}
				o.Dir, err = scaffold.FindModulesDir(wd)
				if errors.Is(err, scaffold.ErrNoRepository) {
					isStandalone, o.Dir = true, ""
				} else if err != nil {
					return fail(1, err)
				}
			}
			if !isStandalone {
				for _, name := range []string{"module-path", "gomgr-dir"} {
					if f.Changed(name) {
						return usageError(cmd, "--%s is for a standalone module (--standalone DIR, or outside a gomgr checkout); modules/%s is part of gomgr's own module", name, o.Name)
					}
				}
				return a.writeModule(o, display)
			}
			if standalone == "" {
				standalone = o.Name
			}
			o.Dir = standalone
			o.Standalone = &scaffold.Standalone{ModulePath: modulePath, GomgrVersion: gomgrVersion()}
			if modulePath != "" {
				if err := scaffold.CheckModulePath(modulePath); err != nil {
					return fail(2, err)
				}
			}
			if gomgrDir != "" {
				dir, err := scaffold.GomgrCheckout(gomgrDir)
				if err != nil {
					return fail(2, err)
				}
				o.Standalone.GomgrDir = dir
			}
			return a.writeModule(o, func(_, rel string) string { return filepath.Join(standalone, filepath.FromSlash(rel)) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "modules directory (default: modules/ of the gomgr repository around the current directory)")
	f.StringVar(&standalone, "standalone", "", "write a Go module of your own in `DIR` (default ./NAME outside a gomgr checkout)")
	f.StringVar(&modulePath, "module-path", "", "the standalone module's path `MODULE` in go.mod (default example.com/NAME)")
	f.StringVar(&gomgrDir, "gomgr-dir", "", "replace github.com/gomgr/gomgr with the checkout in `PATH` (standalone; for local development)")
	f.BoolVar(&o.Serve, "serve", false, "add a background loop (Serve/Shutdown)")
	f.BoolVar(&o.Options, "options", false, "add module options")
	f.BoolVar(&o.Eval, "eval", false, "add an eval command speaking the REPL protocol")
	f.BoolVar(&o.Force, "force", false, "accept an existing target: add missing files, keep identical ones, refuse if any differs")
	f.BoolVar(&o.Overwrite, "overwrite", false, "like --force, and also replace the existing files that differ (their edits are lost)")
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.MarkFlagDirname("standalone")
	_ = cmd.MarkFlagDirname("gomgr-dir")
	return cmd
}

// writeModule generates the module and says what it wrote, each path
// shown by display (given the plan's directory and a path relative to
// it), and what to do next.
func (a *app) writeModule(o scaffold.Options, display func(dir, rel string) string) error {
	p, err := scaffold.Generate(o)
	if err != nil {
		return fail(1, fmt.Errorf("new-module %s: %w", o.Name, err))
	}
	show := func(rel string) string { return display(p.Dir, rel) }
	for _, f := range p.Files {
		fmt.Fprintln(a.stdout, "wrote", show(f.Path))
	}
	for _, rel := range p.Unchanged {
		fmt.Fprintln(a.stdout, "unchanged", show(rel))
	}
	switch {
	case p.Standalone:
		standaloneNext(a.stdout, o, shellWord(show("")))
	case p.AllGo != nil:
		fmt.Fprintln(a.stdout, "updated", show(p.AllGo.Path))
		fmt.Fprintf(a.stdout, "next: rebuild ceph-mgr, restart it, then: mgrctl mgr module enable %s\n", o.Name)
	case p.HasAllGo:
		fmt.Fprintf(a.stdout, "%s already imports %s\n", show("all/all.go"), p.ImportPath)
		fmt.Fprintf(a.stdout, "next: rebuild ceph-mgr, restart it, then: mgrctl mgr module enable %s\n", o.Name)
	default:
		what := "the module package"
		if p.ImportPath != "" {
			what = p.ImportPath
		}
		fmt.Fprintf(a.stdout, "note: %s has no all/all.go, so nothing compiles the module in yet\n", show(""))
		fmt.Fprintf(a.stdout, "next: import %s (blank import) in the main package of the ceph-mgr that hosts it, rebuild and restart that, then: mgrctl mgr module enable %s\n", what, o.Name)
	}
	return nil
}

func standaloneNext(w io.Writer, o scaffold.Options, dir string) {
	if o.Standalone.GomgrDir == "" && o.Standalone.GomgrVersion == "v0.0.0" {
		fmt.Fprintf(w, "note: go.mod requires github.com/gomgr/gomgr v0.0.0 (this mgrctl is no release), which resolves only with a replace: in %s run go mod edit -replace github.com/gomgr/gomgr=PATH with PATH a gomgr checkout (what --gomgr-dir PATH does)\n", dir)
	}
	fmt.Fprintf(w, "next: cd %s && make test && make run\n", dir)
	fmt.Fprintf(w, "then, in another terminal in %s: GOMGR_RUN_DIR=$PWD/run mgrctl mgr module enable %s\n", dir, o.Name)
}

// gomgrVersion is the github.com/gomgr/gomgr version a standalone module
// requires: this mgrctl's release version (buildinfo.Version, or the
// version the go command stamped when it was installed as a module), or
// v0.0.0 when it is no release.
func gomgrVersion() string {
	if v := scaffold.RequireVersion(buildinfo.Version); v != "v0.0.0" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == scaffold.GomgrModule {
		return scaffold.RequireVersion(bi.Main.Version)
	}
	return "v0.0.0"
}

// display names a file below the modules directory dir as a path from
// dir's parent ("modules/NAME/NAME.go").
func display(dir, rel string) string {
	return filepath.Join(filepath.Base(dir), filepath.FromSlash(rel))
}

var shellPlain = regexp.MustCompile(`^[A-Za-z0-9/._+:@%=-]+$`)

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if shellPlain.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
