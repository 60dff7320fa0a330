package bridge

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/modhost"
)

// Commands are ceph-mgr's `describe` and `bridge` subcommands, for the
// modules of reg.
func Commands(reg *modhost.Registry, stdout io.Writer) []*cobra.Command {
	var only string
	describe := &cobra.Command{
		Use:   "describe [--module NAME]",
		Short: "Print this binary's modules, their commands and options, as JSON",
		Long: `describe prints the modules compiled into this ceph-mgr as JSON: each
module's commands as Ceph cmd strings (COMMANDS entries, in the form
Pacific's ceph CLI parses), its options as MODULE_OPTIONS declares them
(type, default, min, max, enum_allowed, desc, runtime), its notification
types and whether it has a standby variant. The bridge's Python shims read
it when the real ceph-mgr imports them.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			d, err := Describe(reg, only)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		},
	}
	describe.Flags().StringVar(&only, "module", "", "describe this module only")

	var (
		o                   InstallOptions
		renames, prefixes   []string
		checkPaths          []string
		defaultInstalledDir = "/usr/share/ceph/mgr"
	)
	install := &cobra.Command{
		Use:   "install --module-path DIR [--module NAME]... [--rename GO=NAME]... [--rename-prefix OLD=NEW]...",
		Short: "Install this binary's modules as modules of a real ceph-mgr",
		Long: `install writes, into DIR (the real ceph-mgr's "mgr module path"), the
shared Python package gomgr_bridge and, for each Go module of this binary
(or each --module), a Python module DIR/NAME whose commands and options are
the Go module's: the real mgr lists it (ceph mgr module ls), enables it
(ceph mgr module enable NAME), the monitors check its options (ceph config
set mgr mgr/NAME/OPT VALUE, no --force) and the ceph CLI lists its
commands. The mgr reads them when it starts (restart it, or enable a
module, which makes it respawn).

A Go module whose name is a Python module's in DIR or in the installed
modules (` + defaultInstalledDir + `, or each --check-path), or one of whose
command prefixes a Python module there declares, is refused with the flag
that renames it: --rename GO=NAME names the module, --rename-prefix
"OLD WORDS=NEW WORDS" renames the leading words of command prefixes.
Nothing is written unless every module can be installed. Running install
again updates the modules it wrote.

The shims run this binary (its absolute path, or --binary): to describe
the modules when the real mgr imports them, and, once one of them is
enabled, as the Go side of the bridge ("ceph-mgr bridged", one process per
real mgr, started again if it dies), which runs the Go modules with the
real mgr's options, KV store, cluster maps and commands; their commands,
health checks and notifications go through the real mgr.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			if o.ModulePath == "" {
				return fmt.Errorf(`required flag "module-path" not set`)
			}
			var err error
			if o.Renames, err = pairs("--rename", renames); err != nil {
				return err
			}
			if o.PrefixRenames, err = pairs("--rename-prefix", prefixes); err != nil {
				return err
			}
			for old, new := range o.PrefixRenames {
				o.PrefixRenames[strings.Join(strings.Fields(old), " ")] = strings.Join(strings.Fields(new), " ")
			}
			if o.Binary == "" {
				if o.Binary, err = os.Executable(); err != nil {
					return fmt.Errorf("bridge: the path of this binary: %w", err)
				}
			}
			if o.Binary, err = filepath.Abs(o.Binary); err != nil {
				return err
			}
			o.CheckPaths = checkPaths
			if len(checkPaths) == 0 {
				if abs, _ := filepath.Abs(o.ModulePath); abs != defaultInstalledDir {
					o.CheckPaths = []string{defaultInstalledDir}
				}
			}
			d, err := Describe(reg, "")
			if err != nil {
				return err
			}
			done, err := Install(d, o)
			if err != nil {
				return err
			}
			for _, in := range done {
				fmt.Fprintf(stdout, "installed Go module %s as %s (%s): %s\n", in.GoName, in.Name, in.Dir, strings.Join(in.Commands, ", "))
			}
			fmt.Fprintln(stdout, "restart the real ceph-mgr (or enable a module) for it to load them")
			return nil
		},
	}
	f := install.Flags()
	f.StringVar(&o.ModulePath, "module-path", "", "the real ceph-mgr's module path")
	f.StringArrayVar(&o.Modules, "module", nil, "install this Go module (repeatable; default all)")
	f.StringArrayVar(&renames, "rename", nil, "GO=NAME: install Go module GO as NAME (repeatable)")
	f.StringArrayVar(&prefixes, "rename-prefix", nil, `"OLD WORDS=NEW WORDS": rename the leading words of command prefixes (repeatable)`)
	f.StringArrayVar(&checkPaths, "check-path", nil, "another directory of Python modules the mgr loads, checked for name and command collisions (repeatable; default "+defaultInstalledDir+")")
	f.StringVar(&o.Binary, "binary", "", "the gomgr ceph-mgr the shims run (default this one)")
	bridge := &cobra.Command{
		Use:   "bridge",
		Short: "Run this binary's Go modules inside a real ceph-mgr",
		Args:  cobra.NoArgs,
	}
	var ro RunOptions
	bridged := &cobra.Command{
		Use:    "bridged --run-dir DIR --mgr-id ID",
		Short:  "Serve the bridge's shims of one real ceph-mgr (started by them)",
		Hidden: true,
		Long: `bridged is the Go side of the bridge: the real ceph-mgr's shims start it
when the first of them runs, and it serves all of them on DIR/bridge.sock,
running each Go module while the real mgr has its module enabled. It exits
when no shim has been connected for a minute or the real mgr has gone.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ro.RunDir == "" || ro.MgrID == "" {
				return fmt.Errorf(`required flags "run-dir" and "mgr-id"`)
			}
			ro.Registry, ro.Log = reg, cmd.ErrOrStderr()
			return Run(cmd.Context(), ro)
		},
	}
	bridged.Flags().StringVar(&ro.RunDir, "run-dir", "", "the private directory shared with the shims")
	bridged.Flags().StringVar(&ro.MgrID, "mgr-id", "", "the real mgr's id")
	bridged.Flags().DurationVar(&ro.Idle, "idle", time.Minute, "exit after this long with no shim connected")
	bridge.AddCommand(install)
	return []*cobra.Command{describe, bridge, bridged}
}

// pairs parses flag values KEY=VALUE.
func pairs(flag string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(val) == "" {
			return nil, fmt.Errorf("%s %q: want OLD=NEW", flag, v)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}
