package bridge

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/module"
)

// Regression tests of a review of the standby variants.

// TestStandbyAttachAsksNoMonMap: a standby shim's hello must not be
// answered with a get("mon_map") round trip. Pacific's standby _ceph_get
// knows "mgr_ips" only: anything else returns None and logs
// "Python module requested unknown data 'mon_map'" (derr) in the real
// mgr's log, on every standby (re)connect, and the fsid is never learned.
func TestStandbyAttachAsksNoMonMap(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	w := &watcher{seen: make(chan string, 1), down: make(chan struct{})}
	reg := standbyRegistry(t, w)
	ctx := runBridged(t, dir, "y", reg)
	standby := dialShim(t, ctx, dir)
	require.NoError(t, standby.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y", Role: "standby"}, nil))
	select {
	case <-w.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("the standby variant did not run")
	}
	standby.mu.Lock()
	calls := append([]string(nil), standby.calls...)
	standby.mu.Unlock()
	assert.NotContains(t, calls, "get", "ops sent to a standby shim: %v", calls)
}

// shutdownReader is a standby variant whose Shutdown reads what a standby
// reads through its own shim: the active URI and a store key.
type shutdownReader struct {
	h   *module.StandbyHandle
	got chan string
}

func (s *shutdownReader) InitStandby(h *module.StandbyHandle) error { s.h = h; return nil }
func (s *shutdownReader) Shutdown(context.Context) error {
	k, _ := s.h.Store("k")
	s.got <- fmt.Sprintf("uri=%s k=%s", s.h.ActiveURI(), k)
	return nil
}

// TestRoleSwitchStopsTheStandbyOnItsOwnShim: when an active hello
// arrives while the standby shim is still attached, attach points the
// module's peer at the active shim (and flips b.standby) before it stops
// the standby variant. The standby variant's Shutdown then reads the active
// URI from the active shim (whose real Python answers get_active_uri with
// EOPNOTSUPP) and its store from the active side's cache instead of
// get_store through its own, still open, shim.
func TestRoleSwitchStopsTheStandbyOnItsOwnShim(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	sr := &shutdownReader{got: make(chan string, 1)}
	reg := standbyRegistry(t, sr)
	ctx := runBridged(t, dir, "y", reg)

	standby := dialShim(t, ctx, dir)
	standby.store["active_uri"] = "http://x:9283/"
	standby.store["kv:k"] = "v"
	require.NoError(t, standby.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y", Role: "standby"}, nil))

	active := dialShim(t, ctx, dir)
	active.store["active_uri"] = "WRONG SHIM"
	require.NoError(t, active.p.call(ctx, "hello", hello{Module: "gopinger", GoName: "pinger", MgrID: "y",
		Store: map[string]string{}}, nil))
	select {
	case got := <-sr.got:
		assert.Equal(t, "uri=http://x:9283/ k=v", got, "what the stopping standby variant read")
	case <-time.After(5 * time.Second):
		t.Fatal("the standby variant was not shut down")
	}
}
