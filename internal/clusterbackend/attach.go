package clusterbackend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/daemon"
)

// AttachOptions configure an Attacher. Zero values take the defaults.
type AttachOptions struct {
	DialOptions
	// Backend and Election tune the two halves (their ID and Log are set
	// by Open).
	Backend  Options
	Election ElectionOptions
}

// Attacher is the daemon's -c: it connects to the cluster and returns the
// backend and the election (a daemon.ClusterAttacher).
type Attacher struct {
	o    AttachOptions
	dial DialFunc
}

var _ daemon.ClusterAttacher = (*Attacher)(nil)

// DefaultOpTimeout is the default librados operation timeout: short, so a
// lost monitor is noticed in seconds and nothing hangs (librados' own
// default is to wait forever, and client_mount_timeout is 300 s).
const DefaultOpTimeout = 5 * time.Second

// NewAttacher returns an Attacher that connects with dial.
func NewAttacher(o AttachOptions, dial DialFunc) *Attacher {
	o.Name = EntityName(o.Name)
	if o.OpTimeout <= 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.MountTimeout <= 0 {
		o.MountTimeout = 2 * o.OpTimeout
	}
	if o.Backend.OpTimeout <= 0 {
		o.Backend.OpTimeout = o.OpTimeout
	}
	if o.Election.OpTimeout <= 0 {
		o.Election.OpTimeout = o.OpTimeout
	}
	if o.Election.Pool == "" {
		o.Election.Pool = ".gomgr"
	}
	return &Attacher{o: o, dial: dial}
}

// FromFlags returns the Attacher for ceph-mgr's -c/--name/--keyring and
// --lock-pool flags.
func FromFlags(f daemon.ClusterFlags, dial DialFunc) *Attacher {
	return NewAttacher(AttachOptions{
		DialOptions: DialOptions{Conf: f.Conf, Name: f.Name, Keyring: f.Keyring},
		Election:    ElectionOptions{Pool: f.LockPool},
	}, dial)
}

// Describe names the cluster for status output.
func (a *Attacher) Describe() string {
	return fmt.Sprintf("%s as %s (lock pool %s)", a.o.Conf, a.o.Name, a.o.Election.Pool)
}

// Open connects, loads the cluster state and prepares the election (the
// lock pool is created here if missing, so the first campaign is quick).
func (a *Attacher) Open(ctx context.Context, id string, log *slog.Logger) (backend.Backend, daemon.Election, error) {
	conn, err := a.dial(ctx, a.o.DialOptions)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the cluster (%s as %s): %w", a.o.Conf, a.o.Name, err)
	}
	bo := a.o.Backend
	bo.ID, bo.Log = id, log.With("backend", "cluster")
	if bo.Conf == nil {
		bo.Conf = readCephConf(a.o.Conf, bo.Log)
	}
	b, err := New(ctx, conn, bo)
	if err != nil {
		return nil, nil, err
	}
	eo := a.o.Election
	eo.Log = log.With("election", eo.Pool)
	claim, err := claimID(ctx, conn, id, eo)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	e := newClaimedElection(NewElection(conn, id, eo), claim)
	b.onClose = func() {
		if err := e.Resign(); err != nil {
			eo.Log.Warn("resign", "err", err)
		}
		if err := claim.Resign(); err != nil {
			eo.Log.Warn("release the id", "err", err)
		}
	}
	if err := e.EnsurePool(ctx); err != nil {
		eo.Log.Warn("the lock pool is not ready; will retry while campaigning", "err", err)
	}
	return b, e, nil
}

// readCephConf parses the ceph.conf librados reads: path, else $CEPH_CONF,
// else /etc/ceph/ceph.conf. A file that cannot be read or parsed is logged
// and gives nil (the options' values then come from the monitors and the
// defaults).
func readCephConf(path string, log *slog.Logger) cephopts.Conf {
	for _, p := range []string{path, os.Getenv("CEPH_CONF"), "/etc/ceph/ceph.conf"} {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) || p == path {
				log.Warn("cannot read ceph.conf for Ceph option values", "path", p, "err", err)
			}
			continue
		}
		defer f.Close()
		conf, err := cephopts.ParseConf(f)
		if err != nil {
			log.Warn("cannot parse ceph.conf for Ceph option values", "path", p, "err", err)
			return nil
		}
		return conf
	}
	return nil
}
