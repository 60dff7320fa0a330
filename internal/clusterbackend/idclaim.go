package clusterbackend

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Long enough for a dead holder's lock to expire (Duration) and the
	// next attempt to take it, and bounded: a live holder renews it.
	wait := o.Duration + 2*o.RetryInterval
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := claim.EnsurePool(cctx); err == nil {
		if h := claim.holder(cctx); h != "" {
			o.Log.Warn("the daemon id is held by another daemon (running, or dead and its lock not yet expired); waiting for it", "id", "mgr."+id,
				"cookie", h, "up_to", wait.Round(time.Second))
		}
	}
	err := claim.Campaign(cctx)
	if err == nil {
		return claim, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	holder := claim.holder(ctx)
	if errors.Is(err, context.DeadlineExceeded) && holder != "" {
		return nil, objectformat.WrapCode(fmt.Errorf("mgr.%s is already running attached to this cluster: another daemon holds the id's lock (object %s/%s, cookie %s) and kept renewing it for %s; stop that daemon, or start this one with another id (-i)",
			id, o.Pool, o.Object, holder, wait.Round(time.Second)), -int(syscall.EEXIST))
	}
	return nil, fmt.Errorf("claim the id mgr.%s in pool %s: %w", id, o.Pool, err)
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
