package daemon

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
)

// runInProcess runs a daemon in this process under ctx and returns once
// its sockets listen (it may still be starting or standing by). Unset
// options get test defaults: ID "x", a fresh data and run directory, an
// empty registry and a discarded log; o.Ready, if set, is still called.
// cancel stops the daemon and done delivers Run's result; at the end of
// the test the daemon is stopped if it still runs.
func runInProcess(t *testing.T, ctx context.Context, o Options) (d *Daemon, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	if o.ID == "" {
		o.ID = "x"
	}
	if o.DataDir == "" || o.RunDir == "" {
		dir := testutil.ShortTempDir(t)
		if o.DataDir == "" {
			o.DataDir = filepath.Join(dir, "data")
		}
		if o.RunDir == "" {
			o.RunDir = dir
		}
	}
	if o.Registry == nil {
		o.Registry = modhost.NewRegistry()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	ready := make(chan *Daemon, 1)
	user := o.Ready
	o.Ready = func(d *Daemon) {
		if user != nil {
			user(d)
		}
		ready <- d
	}
	ctx, cancel = context.WithCancel(ctx)
	result := make(chan error, 1)
	go func() { result <- Run(ctx, o) }()
	// done gets Run's result once, for the test and for the clean-up.
	out := make(chan error, 1)
	finished := make(chan struct{})
	go func() { out <- <-result; close(finished) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Errorf("mgr.%s did not stop", o.ID)
		}
	})
	select {
	case d = <-ready:
	case err := <-out:
		t.Fatalf("mgr.%s: %v", o.ID, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("mgr.%s did not start", o.ID)
	}
	return d, cancel, out
}

// waitActive waits until d is the active daemon.
func waitActive(t *testing.T, d *Daemon) {
	t.Helper()
	require.Eventually(t, func() bool { return d.Role() == RoleActive }, 10*time.Second, 5*time.Millisecond)
}

// startDaemon runs an in-process daemon with opts (see runInProcess) and
// waits until it is active; it is stopped at the end of the test, which
// then requires a clean exit.
func startDaemon(t *testing.T, opts Options) *Daemon {
	t.Helper()
	d, cancel, done := runInProcess(t, context.Background(), opts)
	waitActive(t, d)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mgr.%s: %v", opts.ID, err)
		}
	})
	return d
}
