// Package mgr hosts gomgr modules: the whole ceph-mgr daemon as a library,
// for a program that compiles in the modules it wants, in its own Go
// module. A module registers itself at init time (module.Register); a
// host is a main package that imports the modules and calls Main:
//
//	package main
//
//	import (
//		"github.com/gomgr/gomgr/pkg/mgr"
//		_ "example.com/my-module"
//	)
//
//	func main() { mgr.Main() }
//
// Main runs the ceph-mgr command line: the embedded store by default,
// `-c ceph.conf` to attach to a cluster (through the gomgr-rados helper,
// which must be installed next to the binary or on $PATH), standby when
// another daemon holds the data directory or the cluster's active lock,
// and every flag of `ceph-mgr --help`. Run starts the same daemon from
// Options, for programs that embed it. gomgr's own cmd/ceph-mgr is such a
// host, with the built-in modules (modules/all).
package mgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gomgr/gomgr/internal/buildinfo"
	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/pkg/module"
)

// Main runs the ceph-mgr command line on os.Args with the modules
// registered with module.Register, and exits with its status (0, or 1 with
// the error on stderr).
func Main() {
	os.Exit(MainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

// MainArgs runs the ceph-mgr command line on args and returns its exit
// status.
func MainArgs(args []string, stdout, stderr io.Writer) int {
	return daemon.Main(args, attachCluster, stdout, stderr)
}

// Options configure Run. ID and DataDir are required; the zero value of
// any other field takes the default of the ceph-mgr flag named with it.
type Options struct {
	// ID is the daemon's id: it serves as mgr.<ID> (-i).
	ID string
	// DataDir holds the embedded store and the daemon's locks (--data).
	DataDir string
	// RunDir holds the sockets (--run-dir; default DataDir).
	RunDir string
	// Cluster, when set, attaches the daemon to a Ceph cluster instead of
	// the embedded store (-c and the flags with it).
	Cluster *Cluster
	// Modules are the modules to host; nil means those registered with
	// module.Register (by the init functions of the packages imported).
	Modules []module.Info
	// Log receives the daemon's log (default stderr); DebugLevel is
	// --debug-mgr (default 2).
	Log        io.Writer
	DebugLevel int
	// ROSocketMode, when set, also serves the read-only API socket
	// ceph-mgr.<ID>.ro.api with this file mode (--ro-socket-mode).
	ROSocketMode os.FileMode
	// Ready, when set, is called once the sockets are listening.
	Ready func(Sockets)
}

// Cluster says how to attach to a Ceph cluster (ceph-mgr's -c, --name,
// --keyring, --lock-pool).
type Cluster struct {
	// Conf is the ceph.conf path; Name the cephx user (default
	// client.admin); Keyring overrides ceph.conf's keyring.
	Conf, Name, Keyring string
	// LockPool holds the active daemon's lock and the daemon ids (default
	// .gomgr).
	LockPool string
}

// Sockets are the paths a running daemon serves.
type Sockets struct {
	// Admin is the Ceph admin socket (`ceph --admin-daemon Admin ...`).
	Admin string
	// API is the socket mgrctl talks to (mgrctl --socket API ...).
	API string
}

// Run runs the daemon until ctx ends, then stops it cleanly.
func Run(ctx context.Context, o Options) error {
	var reg *modhost.Registry
	if o.Modules != nil {
		reg = modhost.NewRegistry()
		for _, info := range o.Modules {
			if err := reg.Register(info); err != nil {
				return fmt.Errorf("mgr: %w", err)
			}
		}
	}
	do := daemon.Options{ID: o.ID, DataDir: o.DataDir, RunDir: o.RunDir, Registry: reg,
		Log: o.Log, DebugLevel: o.DebugLevel, ROSocketMode: o.ROSocketMode,
		Version: buildinfo.Full(), Release: buildinfo.Release}
	if o.Cluster != nil {
		if o.Cluster.Conf == "" {
			return errors.New("mgr: Cluster.Conf (the ceph.conf path) is required to attach to a cluster")
		}
		a, err := attachCluster(daemon.ClusterFlags{Conf: o.Cluster.Conf, Name: o.Cluster.Name,
			Keyring: o.Cluster.Keyring, LockPool: o.Cluster.LockPool})
		if err != nil {
			return err
		}
		do.Cluster = a
	}
	if o.Ready != nil {
		do.Ready = func(d *daemon.Daemon) { o.Ready(Sockets{Admin: d.AsokPath(), API: d.APIPath()}) }
	}
	return daemon.Run(ctx, do)
}

// attachCluster builds the Ceph cluster backend for -c: the monitors'
// configuration database, config-key store and maps, and active/standby
// through a RADOS lock in --lock-pool (see internal/clusterbackend), over
// librados in the gomgr-rados helper process (internal/radosproc).
func attachCluster(f daemon.ClusterFlags) (daemon.ClusterAttacher, error) {
	if _, err := radosproc.HelperPath(); err != nil {
		return nil, err
	}
	return clusterbackend.FromFlags(f, radosproc.Dial), nil
}
