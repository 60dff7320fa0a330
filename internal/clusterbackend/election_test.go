package clusterbackend

import (
	"context"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/daemon"
)

// fastElection returns an election on f with short timings.
func fastElection(t *testing.T, f *fakeCluster, id string) (*Election, *fakeConn) {
	c := f.conn()
	e := NewElection(c, id, ElectionOptions{Duration: 300 * time.Millisecond, RenewInterval: 50 * time.Millisecond,
		RetryInterval: 10 * time.Millisecond, OpTimeout: time.Second, Log: testLog(t)})
	t.Cleanup(func() { _ = e.Resign() })
	return e, c
}

func campaign(e *Election) chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch <- e.Campaign(ctx)
	}()
	return ch
}

func TestElectionCreatesThePoolOnce(t *testing.T) {
	f := newFakeCluster()
	a, _ := fastElection(t, f, "a")
	require.NoError(t, a.EnsurePool(context.Background()))
	require.NoError(t, a.EnsurePool(context.Background()))
	assert.Contains(t, f.pools, ".gomgr")
	assert.Equal(t, 1, f.count("osd pool create"))
	assert.Equal(t, 1, f.count("osd pool application enable"))
	assert.Equal(t, 2, f.count("osd pool set"), "size and min_size fitted to the single OSD")
	b, _ := fastElection(t, f, "b")
	require.NoError(t, b.EnsurePool(context.Background()))
	assert.Equal(t, 1, f.count("osd pool create"), "an existing pool is left alone")
}

func TestElectionResignHandsOver(t *testing.T) {
	f := newFakeCluster()
	a, _ := fastElection(t, f, "a")
	b, _ := fastElection(t, f, "b")

	require.NoError(t, <-campaign(a))
	assert.True(t, a.Held())
	_, err := b.Active()
	assert.ErrorContains(t, err, "mgr.a holds the active lock but has not published")

	info := daemon.ActiveInfo{ID: "a", PID: 42, API: "/run/a.api", Services: map[string]string{"x": "http://a/"}}
	require.NoError(t, a.Publish(info))
	b.invalidateActive() // Active caches its answer for a second
	got, err := b.Active()
	require.NoError(t, err)
	assert.Equal(t, info, got)
	assert.Contains(t, string(f.objects["gomgr.active"]), `"lock_cookie":"a/`)

	bWon := campaign(b)
	select {
	case err := <-bWon:
		t.Fatalf("b won while a holds the lock: %v", err)
	case <-time.After(500 * time.Millisecond): // longer than the lock duration: a renews
	}
	assert.Error(t, b.Publish(daemon.ActiveInfo{ID: "b"}), "a standby cannot publish")

	start := time.Now()
	require.NoError(t, a.Resign())
	require.NoError(t, <-bWon)
	assert.Less(t, time.Since(start), 200*time.Millisecond, "a clean resignation hands over at once")
	b.invalidateActive()
	_, err = b.Active()
	assert.ErrorContains(t, err, "mgr.b holds the active lock")
	select {
	case <-a.Lost():
		t.Fatal("resigning is not losing")
	default:
	}
}

func TestElectionCrashedActiveExpires(t *testing.T) {
	f := newFakeCluster()
	a, ac := fastElection(t, f, "a")
	b, _ := fastElection(t, f, "b")
	require.NoError(t, <-campaign(a))
	require.NoError(t, a.Publish(daemon.ActiveInfo{ID: "a"}))

	// a stops reaching the OSD: its renewals fail, it must step down before
	// its lock expires, and b takes over once it has.
	f.mu.Lock()
	ac.dead = true
	f.mu.Unlock()
	start := time.Now()
	bWon := campaign(b)
	select {
	case <-a.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("a did not notice it could not renew")
	}
	lostAfter := time.Since(start)
	require.NoError(t, <-bWon)
	wonAfter := time.Since(start)
	assert.Less(t, lostAfter, wonAfter, "the old active steps down before the new one takes over")
	assert.Less(t, wonAfter, 2*time.Second)
	assert.False(t, a.Held())
	assert.True(t, b.Held())

	b.invalidateActive()
	_, err := b.Active()
	assert.ErrorContains(t, err, "mgr.b holds the active lock but has not published")
}

func TestElectionLockTakenAwayIsLost(t *testing.T) {
	f := newFakeCluster()
	a, _ := fastElection(t, f, "a")
	require.NoError(t, <-campaign(a))
	lost := a.Lost()
	// Someone breaks the lock (ceph osd blocklist, rados lock break).
	f.mu.Lock()
	f.locks = map[string]*fakeLock{}
	f.mu.Unlock()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("a renewal refused with ENOENT must end the term")
	}
	// Campaigning again starts a new term with a new Lost channel.
	require.NoError(t, <-campaign(a))
	assert.NotEqual(t, lost, a.Lost())
	select {
	case <-a.Lost():
		t.Fatal("the new term is not lost")
	default:
	}
}

func TestElectionActiveWithoutAnyDaemon(t *testing.T) {
	f := newFakeCluster()
	a, _ := fastElection(t, f, "a")
	require.NoError(t, a.EnsurePool(context.Background()))
	_, err := a.Active()
	assert.ErrorContains(t, err, "no gomgr daemon has been active yet")
	assert.Equal(t, -int(syscall.ENOENT), Errno(err))

	require.NoError(t, <-campaign(a))
	require.NoError(t, a.Publish(daemon.ActiveInfo{ID: "a"}))
	require.NoError(t, a.Resign())
	a.invalidateActive()
	_, err = a.Active()
	assert.ErrorContains(t, err, "no gomgr daemon is active (the last one was mgr.a)")
}

func TestElectionCampaignHonoursContext(t *testing.T) {
	f := newFakeCluster()
	a, _ := fastElection(t, f, "a")
	b, _ := fastElection(t, f, "b")
	require.NoError(t, <-campaign(a))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, b.Campaign(ctx), context.DeadlineExceeded)
}

func TestAttacherOpenAndClose(t *testing.T) {
	f := newFakeCluster()
	var conn *fakeConn
	var got DialOptions
	dial := func(_ context.Context, o DialOptions) (Conn, error) {
		got = o
		conn = f.conn()
		return conn, nil
	}
	a := FromFlags(daemon.ClusterFlags{Conf: "/etc/ceph/ceph.conf", Name: "admin", LockPool: ".locks"}, dial)
	assert.Equal(t, "/etc/ceph/ceph.conf as client.admin (lock pool .locks)", a.Describe())
	log := slog.New(slog.DiscardHandler)
	b, e, err := a.Open(context.Background(), "x", log)
	require.NoError(t, err)
	assert.Equal(t, DialOptions{Conf: "/etc/ceph/ceph.conf", Name: "client.admin", OpTimeout: DefaultOpTimeout, MountTimeout: 2 * DefaultOpTimeout}, got)
	assert.Contains(t, f.pools, ".locks", "the lock pool is created when attaching")
	assert.Len(t, f.locks, 1, "the daemon's id is claimed when attaching")
	require.NoError(t, e.Campaign(context.Background()))
	assert.Len(t, f.locks, 2)
	var _ backend.Backend = b
	require.NoError(t, b.Close())
	assert.Empty(t, f.locks, "closing the backend releases the lock")
	assert.True(t, conn.closed)

	_, _, err = NewAttacher(AttachOptions{}, func(context.Context, DialOptions) (Conn, error) {
		return nil, syscall.ETIMEDOUT
	}).Open(context.Background(), "x", log)
	assert.Equal(t, -int(syscall.ETIMEDOUT), Errno(err))
	assert.True(t, strings.HasPrefix(err.Error(), "connect to the cluster ( as client.admin)"), err.Error())
}

func TestAttachedDaemonIDIsUnique(t *testing.T) {
	f := newFakeCluster()
	log := testLog(t)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attacher := NewAttacher(AttachOptions{Election: ElectionOptions{Duration: 300 * time.Millisecond,
		RenewInterval: 50 * time.Millisecond, RetryInterval: 10 * time.Millisecond, OpTimeout: time.Second}},
		func(context.Context, DialOptions) (Conn, error) { return f.conn(), nil })
	first, _, err := attacher.Open(context.Background(), "g1", log)
	require.NoError(t, err)

	// Another daemon with the same id (another data directory, another
	// host): refused once the holder has kept renewing past the lock's
	// lifetime.
	begin := time.Now()
	_, _, err = attacher.Open(context.Background(), "g1", log)
	require.Error(t, err)
	assert.Equal(t, -int(syscall.EEXIST), Errno(err))
	assert.Regexp(t, `^mgr\.g1 is already running attached to this cluster: another daemon holds the id's lock \(object \.gomgr/gomgr\.id\.g1, cookie g1/[0-9a-f]+\) `, err.Error())
	assert.GreaterOrEqual(t, time.Since(begin), 300*time.Millisecond, "a holder gets the lock's lifetime to renew")

	// Other ids are not affected.
	other, _, err := attacher.Open(context.Background(), "g2", log)
	require.NoError(t, err)
	require.NoError(t, other.Close())

	// Once the first stops, its id is free at once.
	require.NoError(t, first.Close())
	again, _, err := attacher.Open(context.Background(), "g1", log)
	require.NoError(t, err)

	// A holder that died (it stops renewing) frees the id within the
	// lock's lifetime: the next start waits for it rather than failing.
	dead := f.conn()
	require.NoError(t, (&fakePool{c: dead}).LockExclusive(idObject("g3"), idLockName, "g3/dead", "", 300*time.Millisecond, 0))
	begin = time.Now()
	later, _, err := attacher.Open(context.Background(), "g3", log)
	require.NoError(t, err, "the dead daemon's claim expired")
	assert.GreaterOrEqual(t, time.Since(begin), 250*time.Millisecond)
	require.NoError(t, later.Close())
	require.NoError(t, again.Close())
}

// TestAttachedDaemonLosingItsID: a daemon whose id lock is lost (broken
// with `rados lock break`, or expired while renewals failed) gives the
// active role up, and takes the id again before it campaigns; if another
// daemon of that id has it now, Campaign fails (the daemon stops) rather
// than running beside it.
func TestAttachedDaemonLosingItsID(t *testing.T) {
	f := newFakeCluster()
	log := slog.New(slog.DiscardHandler)
	attacher := NewAttacher(AttachOptions{Election: ElectionOptions{Duration: 300 * time.Millisecond,
		RenewInterval: 50 * time.Millisecond, RetryInterval: 10 * time.Millisecond, OpTimeout: time.Second}},
		func(context.Context, DialOptions) (Conn, error) { return f.conn(), nil })
	breakLock := func(id string) {
		f.mu.Lock()
		delete(f.locks, idObject(id)+"/"+idLockName)
		f.mu.Unlock()
	}
	ctx := context.Background()

	// Broken, nobody else takes it: the daemon steps down and takes it
	// again.
	b1, e1, err := attacher.Open(ctx, "g1", log)
	require.NoError(t, err)
	defer b1.Close()
	require.NoError(t, e1.Campaign(ctx))
	lost := e1.Lost()
	breakLock("g1")
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("losing the id lock did not end the active term")
	}
	require.NoError(t, e1.Campaign(ctx), "the id is taken again, then the active role")
	f.mu.Lock()
	assert.Contains(t, f.locks, idObject("g1")+"/"+idLockName)
	f.mu.Unlock()

	// Broken, and a second daemon of the same id takes it: the first
	// one's next campaign fails with EEXIST.
	lost = e1.Lost()
	breakLock("g1")
	b2, _, err := attacher.Open(ctx, "g1", log)
	require.NoError(t, err, "the id was free when the second daemon started")
	defer b2.Close()
	<-lost
	err = e1.Campaign(ctx)
	require.Error(t, err)
	assert.Equal(t, -int(syscall.EEXIST), Errno(err), err.Error())
}

// TestAttachedDaemonIDThroughAnOutage: a daemon whose id lock expired
// because the lock pool was out of reach (an OSD down past the lock's
// lifetime) waits for it as a standby and takes it again; only another
// daemon holding the id stops it (an OSD stopped for 45 s made the daemon
// exit).
func TestAttachedDaemonIDThroughAnOutage(t *testing.T) {
	f := newFakeCluster()
	attacher := NewAttacher(AttachOptions{Election: ElectionOptions{Duration: 300 * time.Millisecond,
		RenewInterval: 50 * time.Millisecond, RetryInterval: 10 * time.Millisecond, OpTimeout: time.Second}},
		func(context.Context, DialOptions) (Conn, error) { return f.conn(), nil })
	ctx := context.Background()
	b, e, err := attacher.Open(ctx, "g1", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, e.Campaign(ctx))
	lost := e.Lost()

	f.mu.Lock()
	f.lockErr = fail(syscall.ETIMEDOUT) // the lock pool's OSD stops answering
	f.mu.Unlock()
	<-lost
	won := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		won <- e.Campaign(cctx)
	}()
	select {
	case err := <-won:
		t.Fatalf("the campaign ended during the outage: %v", err)
	case <-time.After(time.Second): // three times the id claim's wait
	}
	f.mu.Lock()
	f.lockErr = nil
	f.mu.Unlock()
	require.NoError(t, <-won, "after the outage the daemon takes its id and the active role again")
}
