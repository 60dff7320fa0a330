package daemon

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/stretchr/testify/require"
)

// startDaemon runs an in-process daemon over a fresh data and run
// directory with opts (ID "x" and a discarded log unless set), waits until
// it is active, and at the end of the test stops it and requires a clean
// exit. (hardDaemon and TestModulePanicsDoNotHurtOthers start theirs the
// same way and could use it.)
func startDaemon(t *testing.T, opts Options) *Daemon {
	t.Helper()
	dir := testutil.ShortTempDir(t)
	opts.DataDir, opts.RunDir = filepath.Join(dir, "data"), dir
	if opts.ID == "" {
		opts.ID = "x"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	ready := make(chan *Daemon, 1)
	opts.Ready = func(d *Daemon) { ready <- d }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	var d *Daemon
	select {
	case d = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start")
	}
	require.Eventually(t, func() bool { return d.Role() == "active" }, 5*time.Second, 10*time.Millisecond)
	return d
}
