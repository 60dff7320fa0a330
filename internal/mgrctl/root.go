package mgrctl

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// formats are the -f values the ceph CLI accepts.
var formats = []string{"json", "json-pretty", "xml", "xml-pretty", "plain", "yaml"}

// globals are the flags every mgrctl command shares.
type globals struct {
	format   string
	inFile   string
	outFile  string
	id       string
	runDir   string
	socket   string
	conf     string
	name     string
	keyring  string
	readOnly bool
	period   float64
	watch    bool
	// timeout bounds a command (0: none), connectTimeout reaching the
	// daemon or cluster (0: none); seconds.
	timeout, connectTimeout float64
}

// defaultConnectTimeout is --connect-timeout's default in seconds: the
// time a daemon or cluster has to answer the first request (the command
// descriptions). ceph's own default is librados' client_mount_timeout
// (300 s); a stopped daemon should be reported sooner.
const defaultConnectTimeout = 10

// clusterFlags are the global flags that only mean something with -c
// (the cephx user and keyring): without -c they are command words, so a
// command's own --name or -k reaches it.
var clusterFlags = []string{"name", "keyring"}

const rootLong = `mgrctl talks to a gomgr manager daemon (ceph-mgr) the way the ceph CLI talks
to Ceph: the words of a command are matched against the daemon's command
descriptions, sent as a JSON command, and the reply is printed as ceph does
(stdout as is; on failure "Error <ERRNAME>: <message>" on stderr and the errno
as exit status).

Built-in subcommands win over the daemon's command words; "mgrctl call
<words...>" reaches a daemon command whose first word is a built-in (for
example "mgrctl call help" or "mgrctl call version"). "mgrctl help <words>"
lists the daemon commands starting with those words.

The daemon is found through its API socket: --socket, else $GOMGR_SOCKET,
else RUN-DIR/ceph-mgr.ID.api with --run-dir ($GOMGR_RUN_DIR, else ceph-mgr's
default $XDG_RUNTIME_DIR/gomgr, or /run/gomgr for root) and --id ($GOMGR_ID,
else x). With -c ceph.conf the same commands go to a real Ceph cluster instead.

Global flags may appear anywhere among the command words, as with ceph;
words after "--" are passed to the daemon's command unchanged. -n/--name and
-k/--keyring are global flags only with -c; without it they belong to the
command (as a command argument named name or keyring).

--connect-timeout bounds reaching the daemon (connecting to its socket, or
with -c to the cluster, and its first answer): default 10 s, 0 for no
limit. --timeout bounds a whole command, connecting included (with
--watch, each repetition; in the repl, each submission): default 0, no limit
other than the daemon's own command timeout. Either one expiring prints
"Error ETIMEDOUT: ..." and exits 110.

With -o FILE the command's output goes to FILE (created or truncated; "-"
is stdout) instead of stdout. As the ceph CLI does, the output of -f json and
-f json-pretty on stdout is preceded by an empty line (not with -o).`

const rootExample = `  mgrctl mgr module enable hello
  mgrctl hello Bob
  mgrctl -f json-pretty mgr module ls
  mgrctl config-key set greeting -i greeting.txt
  echo hi | mgrctl config-key set greeting -i -
  mgrctl --read-only config-key ls
  mgrctl repl --prefix "mgr self-test eval"`

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:                "mgrctl [flags] <command words...>",
		Short:              "Drive a gomgr manager daemon like the ceph CLI drives ceph-mgr",
		Long:               rootLong,
		Example:            rootExample,
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		SilenceErrors:      true,
		ValidArgsFunction:  a.completeWords,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runWords(cmd, args)
		},
	}
	a.root = root
	pf := root.PersistentFlags()
	g := &a.g
	pf.StringVarP(&g.format, "format", "f", "", "output format: "+strings.Join(formats, ", ")+" (default: the command's own)")
	pf.StringVarP(&g.inFile, "in-file", "i", "", "input file of the command (- reads stdin), at most the daemon's request limit")
	pf.StringVarP(&g.outFile, "out-file", "o", "", "write the command's output to this file (- is stdout)")
	pf.StringVar(&g.id, "id", "", "daemon id (default $GOMGR_ID, else x)")
	pf.StringVar(&g.runDir, "run-dir", "", "directory of the daemon's sockets (default $GOMGR_RUN_DIR, else ceph-mgr's default)")
	pf.StringVar(&g.socket, "socket", "", "the daemon's API socket (default $GOMGR_SOCKET, else RUN-DIR/ceph-mgr.ID.api); overrides --run-dir and --id")
	pf.StringVarP(&g.conf, "conf", "c", "", "send commands to the Ceph cluster of this ceph.conf instead of a gomgr daemon")
	pf.StringVarP(&g.name, "name", "n", "client.admin", "cephx user for -c (without -c, a command word)")
	pf.StringVarP(&g.keyring, "keyring", "k", "", "keyring for -c (default: the one ceph.conf names; without -c, a command word)")
	pf.Float64Var(&g.connectTimeout, "connect-timeout", defaultConnectTimeout, "give up reaching the daemon or cluster after `SECS` seconds (0: no limit)")
	pf.Float64Var(&g.timeout, "timeout", 0, "give up on a command after `SECS` seconds, connecting included (0: no limit)")
	pf.BoolVar(&g.readOnly, "read-only", false, "ask the daemon for read-only permission (perm r)")
	pf.Float64Var(&g.period, "period", 0, "repeat a poll command every `SECS` seconds until interrupted")
	pf.BoolVar(&g.watch, "watch", false, "repeat a poll command until interrupted (every --period seconds, default 1)")
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, "%v", err)
	})
	root.AddCommand(a.newCallCmd(), a.newReplCmd(), a.newNewModuleCmd(), a.newVersionCmd())
	root.SetHelpCommand(a.newHelpCmd())
	// Every way to ask for help (mgrctl, mgrctl --help, mgrctl help)
	// shows the same flag list.
	root.InitDefaultHelpFlag()
	return root
}

// parseGlobals takes the global flags out of args (they may appear
// anywhere, as the ceph CLI's parse_known_args allows) and returns the
// command words. help reports -h/--help. The cluster-only flags
// (clusterFlags) are taken only when -c is given; otherwise they stay
// among the words, where they are the command's.
func (a *app) parseGlobals(cmd *cobra.Command, args []string) (words []string, help bool, err error) {
	fs := a.root.PersistentFlags()
	set := func(f *pflag.Flag, spelled, val string) error {
		if err := fs.Set(f.Name, val); err != nil {
			return usageError(cmd, "invalid argument %q for %s: %v", val, spelled, err)
		}
		return nil
	}
	// clusterOnly are the cluster-only flags seen: words[at:at+n] is one
	// as written, applied (and taken out of the words) if -c is given.
	type clusterOnly struct {
		f            *pflag.Flag
		spelled, val string
		at, n        int
		missing      bool // no value followed
	}
	var seen []clusterOnly
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var f *pflag.Flag
		var val string
		hasVal := false
		switch {
		case arg == "--":
			rest = args[i+1:]
			i = len(args)
			continue
		case arg == "-h" || arg == "--help":
			help = true
			continue
		case strings.HasPrefix(arg, "--") && len(arg) > 2:
			name, v, ok := strings.Cut(arg[2:], "=")
			f, val, hasVal = fs.Lookup(name), v, ok
		case strings.HasPrefix(arg, "-") && len(arg) >= 2:
			f = fs.ShorthandLookup(arg[1:2])
			if len(arg) > 2 {
				if f == nil || f.Value.Type() == "bool" {
					f = nil
				} else {
					val, hasVal = strings.TrimPrefix(arg[2:], "="), true
				}
			}
		}
		if f == nil {
			words = append(words, arg)
			continue
		}
		start, missing := i, false
		switch {
		case f.Value.Type() == "bool" && !hasVal:
			val = "true"
		case !hasVal && i+1 < len(args):
			i++
			val = args[i]
		case !hasVal:
			missing = true
		}
		if slices.Contains(clusterFlags, f.Name) {
			seen = append(seen, clusterOnly{f: f, spelled: arg, val: val, at: len(words), n: i - start + 1, missing: missing})
			words = append(words, args[start:i+1]...)
			continue
		}
		if missing {
			return nil, help, usageError(cmd, "flag needs an argument: %s", arg)
		}
		if err := set(f, arg, val); err != nil {
			return nil, help, err
		}
	}
	if a.g.conf != "" && len(seen) > 0 {
		var kept []string
		last := 0
		for _, c := range seen {
			if c.missing {
				return nil, help, usageError(cmd, "flag needs an argument: %s", c.spelled)
			}
			if err := set(c.f, c.spelled, c.val); err != nil {
				return nil, help, err
			}
			kept = append(kept, words[last:c.at]...)
			last = c.at + c.n
		}
		words = append(kept, words[last:]...)
	}
	return append(words, rest...), help, a.checkGlobals(cmd)
}

// checkGlobals validates flag values cobra cannot.
func (a *app) checkGlobals(cmd *cobra.Command) error {
	if a.g.format != "" && !slices.Contains(formats, a.g.format) {
		return usageError(cmd, "invalid format %q (choose from %s)", a.g.format, strings.Join(formats, ", "))
	}
	if a.g.period < 0 {
		return usageError(cmd, "--period must not be negative")
	}
	if a.g.timeout < 0 || a.g.connectTimeout < 0 {
		return usageError(cmd, "--timeout and --connect-timeout must not be negative")
	}
	return nil
}

// daemonID is --id, $GOMGR_ID or "x".
func (a *app) daemonID() string {
	if a.g.id != "" {
		return a.g.id
	}
	if v := a.getenv("GOMGR_ID"); v != "" {
		return v
	}
	return "x"
}

// runDir is --run-dir, $GOMGR_RUN_DIR or ceph-mgr's default.
func (a *app) runDir() string {
	if a.g.runDir != "" {
		return a.g.runDir
	}
	if v := a.getenv("GOMGR_RUN_DIR"); v != "" {
		return v
	}
	return DefaultRunDir(a.getenv)
}

// socketPath is the daemon's API socket: --socket, else $GOMGR_SOCKET
// unless --run-dir or --id was given, else RUN-DIR/ceph-mgr.ID.api.
func (a *app) socketPath() string {
	p, _ := a.socket()
	return p
}

// socket is socketPath; given reports that the path was given as such
// (--socket or $GOMGR_SOCKET) rather than made of the run directory and
// id.
func (a *app) socket() (path string, given bool) {
	if a.g.socket != "" {
		return a.g.socket, true
	}
	fs := a.root.PersistentFlags()
	if v := a.getenv("GOMGR_SOCKET"); v != "" && !fs.Changed("run-dir") && !fs.Changed("id") {
		return v, true
	}
	dir := a.runDir()
	if dir == "" {
		return "", false // no safe default: connect asks for --run-dir
	}
	return filepath.Join(dir, "ceph-mgr."+a.daemonID()+".api"), false
}

// asokPath is the daemon's admin socket next to the API socket.
func (a *app) asokPath() string {
	api := a.socketPath()
	return strings.TrimSuffix(strings.TrimSuffix(api, ".api"), ".ro") + ".asok"
}

// startHint tells how to start the daemon the socket belongs to. A socket
// given as such (--socket, $GOMGR_SOCKET) names its daemon: ceph-mgr -i
// ID --run-dir DIR serves DIR/ceph-mgr.ID.api (and, with
// --ro-socket-mode, DIR/ceph-mgr.ID.ro.api).
func (a *app) startHint() string {
	sock, given := a.socket()
	if !given {
		return fmt.Sprintf("start it with: ceph-mgr -i %s --run-dir %s", a.daemonID(), a.runDir())
	}
	dir, base := filepath.Dir(sock), filepath.Base(sock)
	id, ok := strings.CutPrefix(base, "ceph-mgr.")
	ro := false
	if ok {
		if id, ro = strings.CutSuffix(id, ".ro.api"); !ro {
			id, ok = strings.CutSuffix(id, ".api")
		}
	}
	switch {
	case !ok || id == "":
		return fmt.Sprintf("no ceph-mgr serves %s: a daemon started with -i ID --run-dir DIR serves DIR/ceph-mgr.ID.api", sock)
	case ro:
		return fmt.Sprintf("start it with: ceph-mgr -i %s --run-dir %s --ro-socket-mode MODE", id, dir)
	}
	return fmt.Sprintf("start it with: ceph-mgr -i %s --run-dir %s", id, dir)
}
