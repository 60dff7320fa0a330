package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/bridge"
	"github.com/gomgr/gomgr/internal/buildinfo"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/privdir"
)

// ClusterFlags are the flags that attach the daemon to a Ceph cluster.
type ClusterFlags struct {
	Conf, Name, Keyring, LockPool string
}

// NewCommand returns the ceph-mgr command line. attach builds the cluster
// backend from -c/--name/--keyring; nil means the binary was built without
// cluster support.
func NewCommand(attach func(ClusterFlags) (ClusterAttacher, error), stdout, stderr io.Writer) *cobra.Command {
	var (
		o                     Options
		cf                    ClusterFlags
		apiMode, roMode       string
		logFile               string
		foreground, debugToSE bool
		checkStore            bool
	)
	cmd := &cobra.Command{
		Use:   "ceph-mgr -i ID [--data DIR] [--run-dir DIR] [-c ceph.conf]",
		Short: "Run a gomgr manager daemon",
		Long: `ceph-mgr hosts gomgr manager modules.

By default its state (module options, the config-key store, the enabled
module list) lives in an embedded database under --data, durable on local
disk. With -c ceph.conf it attaches to a real Ceph cluster instead: options
and the KV store live in the monitors, and cluster maps come from them.

It serves a Ceph admin socket, RUN-DIR/ceph-mgr.ID.asok, that the real ceph
CLI drives (ceph --admin-daemon RUN-DIR/ceph-mgr.ID.asok hello), and an API
socket, RUN-DIR/ceph-mgr.ID.api (mode 0600), for mgrctl. The run directory
defaults to $XDG_RUNTIME_DIR/gomgr (/run/gomgr for root); without either,
pass --run-dir. The run, data and log directories are created 0700 if
missing and refused if another user owns them or could write to them (or
to a directory above them).

Daemons sharing a data directory (or a cluster) elect one active daemon; the
others wait as standbys and take over when it exits. SIGTERM or SIGINT shuts
the modules down cleanly.

Every value in the embedded store carries a checksum; one that fails it is
not served (-EIO) and raises MGR_STORE_CORRUPT. ceph-mgr refuses to start
on an empty or damaged database file rather than start over: move the file
aside to start a new store on purpose. ceph-mgr --check-store --data DIR
checks the store (read-only, while no daemon runs) and exits non-zero if it
finds a problem.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if checkStore {
				return embedded.Check(o.DataDir, stdout)
			}
			if o.ID == "" {
				return errors.New(`required flag(s) "id" not set`)
			}
			var err error
			if o.APISocketMode, err = parseMode(apiMode); err != nil {
				return fmt.Errorf("--api-socket-mode: %w", err)
			}
			if o.ROSocketMode, err = parseMode(roMode); err != nil {
				return fmt.Errorf("--ro-socket-mode: %w", err)
			}
			if o.RunDir == "" {
				return privdir.ErrNoDefault
			}
			if cf.Conf != "" {
				if attach == nil {
					return fmt.Errorf("-c: this ceph-mgr was built without Ceph cluster support")
				}
				if o.Cluster, err = attach(cf); err != nil {
					return err
				}
			}
			o.Log = stderr
			if logFile != "" {
				if err := privdir.Ensure("log directory", filepath.Dir(logFile)); err != nil {
					return fmt.Errorf("--log-file: %w", err)
				}
				f, err := privdir.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
				if err != nil {
					return fmt.Errorf("--log-file: %w", err)
				}
				defer f.Close()
				o.Log = f
				if o.LogDir == "" {
					o.LogDir = filepath.Dir(logFile)
				}
			}
			o.Version, o.Release = buildinfo.Full(), buildinfo.Release
			o.Ready = func(d *Daemon) {
				fmt.Fprintf(stdout, "gomgr mgr.%s: admin socket %s, api socket %s\n", d.opts.ID, d.AsokPath(), d.APIPath())
				// The examples name a module this daemon has: hello when
				// it is compiled in (gomgr's own), else the first one.
				if name := exampleModule(d.opts.Registry); name == "hello" {
					fmt.Fprintf(stdout, "  try: ceph --admin-daemon %s mgr module enable hello\n", d.AsokPath())
					fmt.Fprintf(stdout, "       ceph --admin-daemon %s hello\n", d.AsokPath())
				} else if name != "" {
					fmt.Fprintf(stdout, "  try: ceph --admin-daemon %s mgr module enable %s\n", d.AsokPath(), name)
					fmt.Fprintf(stdout, "       ceph --admin-daemon %s help\n", d.AsokPath())
				} else {
					fmt.Fprintf(stdout, "  try: ceph --admin-daemon %s help\n", d.AsokPath())
				}
				fmt.Fprintf(stdout, "       %s mgr module ls\n", mgrctlCommand(d.opts.RunDir, d.opts.ID, os.Getenv))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			go func() {
				<-ctx.Done()
				// A second signal while modules shut down exits at once.
				again := make(chan os.Signal, 1)
				signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
				<-again
				fmt.Fprintln(stderr, "ceph-mgr: second signal, exiting without waiting for modules")
				os.Exit(1)
			}()
			return Run(ctx, o)
		},
	}
	cmd.AddCommand(bridge.Commands(modhost.Default(), stdout)...)
	f := cmd.Flags()
	f.StringVarP(&o.ID, "id", "i", "", "daemon id (required, except with --check-store)")
	f.StringVar(&o.DataDir, "data", defaultDataDir(), "data directory (embedded state; shared by active and standby daemons)")
	f.StringVar(&o.RunDir, "run-dir", defaultRunDir(), "directory for the admin and API sockets (private: mode 0700, owned by you)")
	f.StringVarP(&cf.Conf, "conf", "c", "", "attach to the Ceph cluster described by this ceph.conf")
	f.StringVarP(&cf.Name, "name", "n", "client.admin", "cephx user for -c")
	f.StringVarP(&cf.Keyring, "keyring", "k", "", "keyring for -c (default: from ceph.conf)")
	f.StringVar(&cf.LockPool, "lock-pool", ".gomgr", "with -c: RADOS pool holding the active/standby lock")
	f.StringVar(&logFile, "log-file", "", "log to this file instead of stderr (module log_to_file files go next to it)")
	f.StringVar(&o.LogDir, "log-dir", "", "directory for modules' log_to_file logs")
	f.IntVar(&o.DebugLevel, "debug-mgr", 2, "debug level (Ceph's debug_mgr: <=0 critical, 1 warning, <=4 info, 5+ debug)")
	f.StringVar(&apiMode, "api-socket-mode", "0600", "file mode of the API socket")
	f.StringVar(&roMode, "ro-socket-mode", "0", "file mode of the read-only API socket ceph-mgr.ID.ro.api (0: no such socket)")
	f.IntVar(&o.MaxAsokRequest, "max-asok-request", 64<<10, "largest admin-socket request in bytes")
	f.Int64Var(&o.MaxAPIRequest, "max-api-request", 64<<20, "largest API request in bytes (commands and -i input)")
	f.Int64Var(&o.MaxInflight, "max-inflight", 256<<20, "most bytes of requests in flight and of unread replies over 64 KiB, across the clients of the admin and API sockets, and separately of the read-only socket (past it they get EBUSY)")
	f.DurationVar(&o.CommandTimeout, "command-timeout", api.DefaultCommandTimeout, "longest time a command may run")
	f.DurationVar(&o.ClientTimeout, "client-timeout", 10*time.Second, "longest time a client may take to send a request, or to read its reply (plus 1 s per MiB); also how long a read-only socket command waits for one of its 16 slots")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "longest time a module may take to shut down")
	f.BoolVar(&checkStore, "check-store", false, "check the embedded store in --data (read-only; no daemon may hold it) and exit: 0 if it is sound")
	f.BoolVarP(&foreground, "foreground", "f", true, "run in the foreground (always; accepted for Ceph compatibility)")
	f.BoolVarP(&debugToSE, "debug-to-stderr", "d", false, "log to stderr (the default; accepted for Ceph compatibility)")
	cmd.Version = buildinfo.Full()
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd
}

// Main runs the ceph-mgr command line and returns the exit status.
func Main(args []string, attach func(ClusterFlags) (ClusterAttacher, error), stdout, stderr io.Writer) int {
	cmd := NewCommand(attach, stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(stderr, "ceph-mgr:", err)
		return 1
	}
	return 0
}

// exampleModule is the module the start-up hint enables: hello if the
// registry has it, else its first module that is not always on ("" if
// none).
func exampleModule(r *modhost.Registry) string {
	if _, ok := r.Lookup("hello"); ok {
		return "hello"
	}
	for _, info := range r.List() {
		if !info.AlwaysOn {
			return info.Name
		}
	}
	return ""
}

// mgrctlCommand is how mgrctl reaches a daemon with these run directory
// and id: only the flags that differ from mgrctl's defaults (the default
// run directory, id x).
func mgrctlCommand(runDir, id string, getenv func(string) string) string {
	cmd := "mgrctl"
	if def, err := privdir.DefaultRunDir(getenv); err != nil || filepath.Clean(def) != filepath.Clean(runDir) {
		cmd += " --run-dir " + runDir
	}
	if id != "x" {
		cmd += " --id " + id
	}
	return cmd
}

func parseMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q is not an octal file mode", s)
	}
	return os.FileMode(v), nil
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gomgr")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "gomgr")
	}
	return "gomgr-data"
}

// defaultRunDir is privdir's default, or "" where there is no safe one
// (the daemon then asks for --run-dir).
func defaultRunDir() string {
	d, _ := privdir.DefaultRunDir(os.Getenv)
	return d
}
