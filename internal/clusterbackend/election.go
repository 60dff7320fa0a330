package clusterbackend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// ElectionOptions tune an Election. Zero values take the defaults.
type ElectionOptions struct {
	// Pool holds the lock object (".gomgr"); it is created if missing.
	Pool string
	// Object is the lock object ("gomgr.active"); the active daemon's
	// details are its data.
	Object string
	// LockName is the cls_lock name on Object ("gomgr-active").
	LockName string
	// Duration is the lock's lifetime on the OSD (10 s): how long a
	// crashed active daemon keeps the role before a standby can take it.
	Duration time.Duration
	// RenewInterval is how often the active daemon renews the lock (3 s).
	RenewInterval time.Duration
	// RetryInterval is how often a standby tries to take the lock (1 s).
	RetryInterval time.Duration
	// OpTimeout bounds one RADOS or monitor call (5 s).
	OpTimeout time.Duration
	// Log receives the election's messages (discarded if nil).
	Log *slog.Logger
}

func (o *ElectionOptions) defaults() {
	if o.Pool == "" {
		o.Pool = ".gomgr"
	}
	if o.Object == "" {
		o.Object = "gomgr.active"
	}
	if o.LockName == "" {
		o.LockName = "gomgr-active"
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.RenewInterval <= 0 {
		o.RenewInterval = 3 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Election elects the active gomgr daemon among those attached to one
// cluster (on any hosts) with an exclusive RADOS lock (cls_lock) on
// Pool/Object:
//
//   - Campaign takes the lock with a lifetime of Duration, retrying every
//     RetryInterval while another daemon holds it;
//   - the winner renews it every RenewInterval with LockMustRenew, which
//     fails if the lock is no longer ours. If a renewal is refused, or
//     none succeeds before the lock would expire (minus a safety margin),
//     Lost is closed and the daemon steps down;
//   - a daemon that dies stops renewing, so its lock expires after at
//     most Duration and a standby takes over; one that exits cleanly
//     unlocks at once (Resign);
//   - Publish writes the active daemon's ActiveInfo (plus its lock cookie)
//     as the object's data; Active reads it back and checks that the
//     publisher still holds the lock.
//
// Lock holders are identified by their RADOS client (client.<global id>,
// unique per connection) and a cookie "<daemon id>/<random>", so two
// daemons sharing a cephx user and a daemon id are still told apart.
type Election struct {
	conn   Conn
	id     string
	cookie string
	what   string // the lock's purpose in messages: "active", "id"
	o      ElectionOptions
	log    *slog.Logger

	pmu       sync.Mutex
	poolReady bool

	mu         sync.Mutex
	held       bool
	lost       chan struct{}
	cancelTerm context.CancelFunc
	renewDone  chan struct{}

	amu        sync.Mutex
	activeAt   time.Time
	activeInfo daemon.ActiveInfo
	activeErr  error
}

var _ daemon.Election = (*Election)(nil)

// NewElection returns the election of daemon id on conn.
func NewElection(conn Conn, id string, o ElectionOptions) *Election {
	o.defaults()
	var r [8]byte
	_, _ = rand.Read(r[:])
	return &Election{conn: conn, id: id, cookie: id + "/" + hex.EncodeToString(r[:]), what: "active", o: o,
		log: o.Log, lost: make(chan struct{})}
}

// Cookie is this daemon's lock cookie.
func (e *Election) Cookie() string { return e.cookie }

// call runs f off the caller's goroutine, bounded by ctx and OpTimeout.
func (e *Election) call(ctx context.Context, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, e.o.OpTimeout)
	defer cancel()
	err, cerr := run(ctx, f)
	if cerr != nil {
		return cerr
	}
	return err
}

func (e *Election) pool(ctx context.Context) (Pool, error) {
	var p Pool
	err := e.call(ctx, func() error {
		var err error
		p, err = e.conn.Pool(e.o.Pool)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open pool %s: %w", e.o.Pool, err)
	}
	return p, nil
}

// EnsurePool creates the lock pool if it is missing: one PG, a size the
// cluster can satisfy, and the application "gomgr" enabled so the cluster
// does not warn about it. It is idempotent and safe to race with other
// daemons.
func (e *Election) EnsurePool(ctx context.Context) error {
	e.pmu.Lock()
	defer e.pmu.Unlock()
	if e.poolReady {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 4*e.o.OpTimeout)
	defer cancel()
	names, err := monValue(ctx, e.conn, "osd pool ls", nil)
	if err != nil {
		return fmt.Errorf("lock pool %s: %w", e.o.Pool, err)
	}
	list, _ := names.([]any)
	if !slices.Contains(list, any(e.o.Pool)) {
		res := command(ctx, e.conn.MonCommand, map[string]any{"prefix": "osd pool create", "pool": e.o.Pool,
			"pg_num": 1, "pgp_num": 1, "pg_num_min": 1}, nil)
		if err := resultError("osd pool create "+e.o.Pool, res); err != nil {
			return fmt.Errorf("create the lock pool: %w", err)
		}
		e.log.Info("created the lock pool", "pool", e.o.Pool, "status", res.Stderr)
		e.fitSize(ctx)
		res = command(ctx, e.conn.MonCommand, map[string]any{"prefix": "osd pool application enable", "pool": e.o.Pool, "app": "gomgr"}, nil)
		if err := resultError("osd pool application enable "+e.o.Pool, res); err != nil {
			e.log.Warn("cannot enable an application on the lock pool; the cluster may warn about it", "err", err)
		}
	}
	e.poolReady = true
	return nil
}

// fitSize lowers the new pool's replica count to the number of OSDs when
// the cluster has fewer OSDs than the default size.
func (e *Election) fitSize(ctx context.Context) {
	stat, err := monValue(ctx, e.conn, "osd stat", nil)
	if err != nil {
		e.log.Warn("cannot check the lock pool's size", "err", err)
		return
	}
	m, _ := stat.(map[string]any)
	n, _ := jsonval.Float(m["num_in_osds"])
	detail, err := monValue(ctx, e.conn, "osd pool ls", map[string]any{"detail": "detail"})
	if err != nil || n < 1 {
		return
	}
	list, _ := detail.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		if pm["pool_name"] != e.o.Pool {
			continue
		}
		size, _ := jsonval.Float(pm["size"])
		if size <= n {
			return
		}
		for _, kv := range [][2]any{{"size", int(n)}, {"min_size", int(n) - int(n)/2}} {
			res := command(ctx, e.conn.MonCommand, map[string]any{"prefix": "osd pool set", "pool": e.o.Pool,
				"var": kv[0], "val": fmt.Sprint(kv[1]), "yes_i_really_mean_it": true}, nil)
			if err := resultError(fmt.Sprintf("osd pool set %s %s %v", e.o.Pool, kv[0], kv[1]), res); err != nil {
				e.log.Warn("cannot fit the lock pool to the cluster", "err", err)
				return
			}
		}
	}
}

func (e *Election) lock(ctx context.Context, flags LockFlags) error {
	p, err := e.pool(ctx)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	desc := fmt.Sprintf("gomgr mgr.%s on %s (pid %d)", e.id, host, os.Getpid())
	return e.call(ctx, func() error {
		return p.LockExclusive(e.o.Object, e.o.LockName, e.cookie, desc, e.o.Duration, flags)
	})
}

// Campaign blocks until this daemon holds the lock or ctx ends.
func (e *Election) Campaign(ctx context.Context) error {
	lastErr := ""
	for {
		start := time.Now()
		err := e.EnsurePool(ctx)
		if err == nil {
			err = e.lock(ctx, 0)
			if Errno(err) == -int(syscall.EEXIST) {
				err = nil // still ours (from before a lost renewal)
			}
		}
		if err == nil {
			e.win(start)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if Errno(err) != -int(syscall.EBUSY) && err.Error() != lastErr {
			lastErr = err.Error()
			e.log.Warn("campaign: cannot take the "+e.what+" lock; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(e.o.RetryInterval):
		}
	}
}

// win starts a term: the lock was taken by an attempt sent at start.
func (e *Election) win(start time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancelTerm != nil {
		e.cancelTerm() // the previous term's renewal has already stopped
	}
	e.held = true
	e.lost = make(chan struct{})
	e.cancelTerm = cancel
	e.renewDone = make(chan struct{})
	e.invalidateActive()
	e.log.Info("took the "+e.what+" lock", "pool", e.o.Pool, "object", e.o.Object, "cookie", e.cookie)
	go e.renew(ctx, start, e.lost, e.renewDone)
}

// margin is how long before the lock's expiry a daemon that could not
// renew it gives the role up.
func (e *Election) margin() time.Duration { return min(time.Second, e.o.Duration/5) }

// renew keeps the lock until the term is cancelled or the lock is lost.
func (e *Election) renew(ctx context.Context, lastOK time.Time, lost, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(e.o.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		deadline := lastOK.Add(e.o.Duration - e.margin())
		if !time.Now().Before(deadline) {
			e.lose(lost, "the lock could not be renewed before it expires")
			return
		}
		attempt := time.Now()
		actx, cancel := context.WithDeadline(ctx, deadline)
		err := e.lock(actx, LockMustRenew)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch errno := Errno(err); {
		case err == nil:
			lastOK = attempt
			t.Reset(e.o.RenewInterval)
		case errno == -int(syscall.ENOENT) || errno == -int(syscall.EBUSY):
			e.lose(lost, fmt.Sprintf("the lock is no longer ours: %v", err))
			return
		default:
			e.log.Warn("cannot renew the "+e.what+" lock; retrying", "err", err, "expires_in", time.Until(lastOK.Add(e.o.Duration)).Round(time.Millisecond))
			t.Reset(min(e.o.RetryInterval, max(time.Until(deadline), 0)))
		}
	}
}

// lose ends the term whose lost channel is lost.
func (e *Election) lose(lost chan struct{}, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lost != lost || !e.held {
		return
	}
	e.held = false
	close(lost)
	e.invalidateActive()
	e.log.Error("lost the "+e.what+" lock", "why", why)
}

// Lost is closed when the current term ends because the lock was lost.
func (e *Election) Lost() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lost
}

// Held reports whether this daemon holds the lock.
func (e *Election) Held() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.held
}

// Resign stops renewing and releases the lock so a standby takes over at
// once. It is a no-op outside a term.
func (e *Election) Resign() error {
	e.mu.Lock()
	cancel, done := e.cancelTerm, e.renewDone
	e.cancelTerm, e.held = nil, false
	e.invalidateActive()
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	p, err := e.pool(context.Background())
	if err == nil {
		err = e.call(context.Background(), func() error { return p.Unlock(e.o.Object, e.o.LockName, e.cookie) })
	}
	if err != nil {
		return fmt.Errorf("release the %s lock: %w", e.what, err)
	}
	e.log.Info("released the " + e.what + " lock")
	return nil
}

// published is the lock object's data: the active daemon's details and the
// cookie of its lock.
type published struct {
	daemon.ActiveInfo
	Cookie string `json:"lock_cookie"`
}

// Publish records the active daemon's details in the lock object.
func (e *Election) Publish(info daemon.ActiveInfo) error {
	if !e.Held() {
		return objectformat.NewErrorResponseCode("not the active daemon", -int(syscall.EAGAIN))
	}
	data, err := json.Marshal(published{ActiveInfo: info, Cookie: e.cookie})
	if err != nil {
		return err
	}
	p, err := e.pool(context.Background())
	if err == nil {
		err = e.call(context.Background(), func() error { return p.WriteFull(e.o.Object, data) })
	}
	if err != nil {
		return fmt.Errorf("publish the active daemon's details: %w", err)
	}
	e.invalidateActive()
	return nil
}

// activeTTL is how long Active answers from its last read.
const activeTTL = time.Second

func (e *Election) invalidateActive() {
	e.amu.Lock()
	e.activeAt = time.Time{}
	e.amu.Unlock()
}

// Active returns the details the active daemon published, checking that
// it still holds the lock.
func (e *Election) Active() (daemon.ActiveInfo, error) {
	e.amu.Lock()
	defer e.amu.Unlock()
	if time.Since(e.activeAt) < activeTTL {
		return e.activeInfo, e.activeErr
	}
	e.activeInfo, e.activeErr = e.readActive(context.Background())
	e.activeAt = time.Now()
	return e.activeInfo, e.activeErr
}

func (e *Election) readActive(ctx context.Context) (daemon.ActiveInfo, error) {
	p, err := e.pool(ctx)
	if err != nil {
		return daemon.ActiveInfo{}, err
	}
	var data []byte
	var cookies []string
	err = e.call(ctx, func() error {
		var err error
		if cookies, err = p.LockerCookies(e.o.Object, e.o.LockName); err != nil {
			return err
		}
		data, err = p.Read(e.o.Object)
		return err
	})
	if err != nil {
		if Errno(err) == -int(syscall.ENOENT) {
			return daemon.ActiveInfo{}, fmt.Errorf("no gomgr daemon has been active yet (pool %s has no %s): %w", e.o.Pool, e.o.Object, err)
		}
		return daemon.ActiveInfo{}, fmt.Errorf("read the active daemon's details: %w", err)
	}
	var pub published
	if len(data) > 0 {
		if err := json.Unmarshal(data, &pub); err != nil {
			return daemon.ActiveInfo{}, fmt.Errorf("decode the active daemon's details: %w", err)
		}
	}
	switch {
	case len(cookies) == 0 && pub.ID != "":
		return daemon.ActiveInfo{}, fmt.Errorf("no gomgr daemon is active (the last one was mgr.%s)", pub.ID)
	case len(cookies) == 0:
		return daemon.ActiveInfo{}, errors.New("no gomgr daemon is active")
	case cookies[0] != pub.Cookie:
		id, _, _ := strings.Cut(cookies[0], "/")
		return daemon.ActiveInfo{ID: id}, fmt.Errorf("mgr.%s holds the active lock but has not published its details yet", id)
	}
	return pub.ActiveInfo, nil
}
