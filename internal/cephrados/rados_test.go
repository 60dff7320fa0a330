package cephrados

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/testutil"
)

func needLibrados(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		assert.ErrorIs(t, err, ErrNoCgo)
		_, err := Connect(context.Background(), cephconn.DialOptions{})
		assert.ErrorIs(t, err, ErrNoCgo)
		if testutil.CI() {
			t.Fatalf("CI=true but this build has no librados: %v", err)
		}
		t.Skip(err)
	}
}

// deadConf is a ceph.conf whose monitor does not exist.
func deadConf(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ceph.conf")
	require.NoError(t, os.WriteFile(p, []byte("[global]\nmon host = 127.0.0.1:1\nauth client required = none\n"), 0o600))
	return p
}

func TestConnectMissingConf(t *testing.T) {
	needLibrados(t)
	_, err := Connect(context.Background(), cephconn.DialOptions{Conf: "/nonexistent/ceph.conf"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/ceph.conf")
}

func TestConnectGivesUpAfterTheMountTimeout(t *testing.T) {
	needLibrados(t)
	start := time.Now()
	_, err := Connect(context.Background(), cephconn.DialOptions{Conf: deadConf(t), MountTimeout: time.Second, OpTimeout: time.Second})
	require.Error(t, err)
	assert.Equal(t, -int(syscall.ETIMEDOUT), cephconn.Errno(err), err.Error())
	assert.Less(t, time.Since(start), 10*time.Second, "not librados' default of 300 s")
}

func TestConnectHonoursContext(t *testing.T) {
	needLibrados(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Connect(ctx, cephconn.DialOptions{Conf: deadConf(t), MountTimeout: 5 * time.Second})
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Less(t, time.Since(start), 2*time.Second)
}
