package clusterbackend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The daemon id is unique on a cluster, as a Ceph daemon's name is: two
// daemons both calling themselves mgr.x would answer for each other in
// `mgr stat`, in health and in the election's messages. The data
// directory's lock (mgr.ID.pid) catches a second daemon on the same
// directory only; attached daemons on other directories or hosts meet in
// the lock pool instead. Each holds an exclusive cls_lock on the object
// gomgr.id.<ID> (lock name gomgr-id) for as long as it runs, renewed like
// the active lock (an Election on that object): a daemon that finds the
// id held refuses to start once the holder has had the lock's lifetime to
// renew it, so one that died (kill -9) frees its id after at most
// Duration, and a restart waits that long rather than failing.

// idObject is the lock object that claims daemon id.
func idObject(id string) string { return "gomgr.id." + id }

// idLockName is the cls_lock name on idObject.
const idLockName = "gomgr-id"

// claimID takes the claim on id for this daemon's life (Resign the
// returned Election to give it up), or refuses with -EEXIST when another
// daemon holds it past the lock's lifetime.
func claimID(ctx context.Context, conn Conn, id string, o ElectionOptions) (*Election, error) {
	o.Object, o.LockName = idObject(id), idLockName
	o.defaults()
	claim := NewElection(conn, id, o)
	claim.what = "id"
	if err := claim.takeClaim(ctx); err != nil {
		return nil, err
	}
	return claim, nil
}

// takeClaim campaigns for the id lock, bounded: long enough for a dead
// holder's lock to expire (Duration) and the next attempt to take it; a
// live holder renews it, and this daemon then refuses (-EEXIST).
func (e *Election) takeClaim(ctx context.Context) error {
	o := e.o
	wait := o.Duration + 2*o.RetryInterval
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := e.EnsurePool(cctx); err == nil {
		if h := e.holder(cctx); h != "" {
			o.Log.Warn("the daemon id is held by another daemon (running, or dead and its lock not yet expired); waiting for it", "id", "mgr."+e.id,
				"cookie", h, "up_to", wait.Round(time.Second))
		}
	}
	err := e.Campaign(cctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	holder := e.holder(ctx)
	if errors.Is(err, context.DeadlineExceeded) && holder != "" {
		return objectformat.WrapCode(fmt.Errorf("mgr.%s is already running attached to this cluster: another daemon holds the id's lock (object %s/%s, cookie %s) and kept renewing it for %s; stop that daemon, or start this one with another id (-i)",
			e.id, o.Pool, o.Object, holder, wait.Round(time.Second)), -int(syscall.EEXIST))
	}
	return fmt.Errorf("claim the id mgr.%s in pool %s: %w", e.id, o.Pool, err)
}

// claimedElection is the daemon's election while it holds its id: a term
// ends when either lock is lost, and a daemon that lost its id takes it
// again before it campaigns, or stops (Campaign's error) if another daemon
// has it now. Without that, a daemon whose id lock was broken or expired
// (renewals failing past its lifetime) would run on beside a second
// daemon of the same id.
type claimedElection struct {
	*Election
	claim *Election

	mu     sync.Mutex
	lost   chan struct{} // the current term's: closed when either lock is lost
	resign chan struct{} // closed by Resign, ends the term's watcher
}

func newClaimedElection(e, claim *Election) *claimedElection {
	return &claimedElection{Election: e, claim: claim, lost: make(chan struct{}), resign: make(chan struct{})}
}

// ensureClaim takes the id again if its lock was lost.
func (c *claimedElection) ensureClaim(ctx context.Context) error {
	if c.claim.Held() {
		return nil
	}
	c.log.Warn("this daemon's id lock was lost; taking it again", "id", "mgr."+c.id)
	return c.claim.takeClaim(ctx)
}

// Campaign campaigns for the active role while holding the id: if the id
// lock is lost meanwhile, it is taken again first.
func (c *claimedElection) Campaign(ctx context.Context) error {
	for {
		if err := c.ensureClaim(ctx); err != nil {
			// Only another daemon holding the id stops this one; the
			// lock pool being out of reach (an OSD down, peering) is
			// waited out as a standby, as for the active lock.
			if ctx.Err() != nil || Errno(err) == -int(syscall.EEXIST) {
				return err
			}
			c.log.Warn("cannot take this daemon's id lock again; retrying", "id", "mgr."+c.id, "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(c.o.RetryInterval):
			}
			continue
		}
		idLost := c.claim.Lost()
		cctx, cancel := context.WithCancel(ctx)
		stop := make(chan struct{})
		go func() {
			select {
			case <-idLost:
				cancel()
			case <-stop:
			}
		}()
		err := c.Election.Campaign(cctx)
		close(stop)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && c.claim.Held() {
			c.startTerm(c.Election.Lost(), c.claim.Lost())
			return nil
		}
		if err == nil {
			_ = c.Election.Resign() // won just as the id was lost: not ours to hold
		}
	}
}

// startTerm makes Lost close when either lock of this term is lost.
func (c *claimedElection) startTerm(active, id <-chan struct{}) {
	lost, resign := make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	c.lost, c.resign = lost, resign
	c.mu.Unlock()
	go func() {
		select {
		case <-active:
		case <-id:
			c.log.Error("lost this daemon's id lock: giving the active role up until it is taken again", "id", "mgr."+c.id)
			_ = c.Election.Resign()
		case <-resign:
			return
		}
		close(lost)
	}()
}

// Lost is closed when the current term ends because a lock was lost.
func (c *claimedElection) Lost() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

// Resign gives the active role up (the id stays claimed).
func (c *claimedElection) Resign() error {
	c.mu.Lock()
	select {
	case <-c.resign:
	default:
		close(c.resign)
	}
	c.mu.Unlock()
	return c.Election.Resign()
}

// holder is the cookie of the lock's current holder ("" if none or
// unknown).
func (e *Election) holder(ctx context.Context) string {
	p, err := e.pool(ctx)
	if err != nil {
		return ""
	}
	var cookies []string
	if e.call(ctx, func() error {
		var err error
		cookies, err = p.LockerCookies(e.o.Object, e.o.LockName)
		return err
	}) != nil || len(cookies) == 0 {
		return ""
	}
	return strings.Join(cookies, ",")
}
