// Package cephrados is gomgr's only use of go-ceph (cgo, librados): a
// connection to a Ceph cluster that implements cephconn.Conn, and
// the monitor and mgr command calls mgrctl -c needs.
//
// Build with the Ceph release tag of the installed librados (-tags pacific
// on Debian bookworm). Only the gomgr-rados helper binary (which ceph-mgr
// and mgrctl start for -c, see internal/radosproc), the benchmark program
// and integration tests import this package; everything else stays pure
// Go and does not link librados.
// Built without cgo (CGO_ENABLED=0) the package still compiles, and
// Connect fails with ErrNoCgo.
//
// Connections use short librados timeouts (rados_mon_op_timeout,
// rados_osd_op_timeout, client_mount_timeout from DialOptions), so no call
// blocks for long when the monitors are gone: librados' defaults wait
// forever, or 300 s to connect. Close waits for the calls in flight (which
// those timeouts bound) before freeing the librados handle, so a call a
// caller gave up on can never touch freed memory.
package cephrados

import (
	"context"
	"errors"

	"github.com/gomgr/gomgr/internal/cephconn"
)

// ErrNoCgo is returned by Connect in a binary built without cgo.
var ErrNoCgo = errors.New("built without cgo: no librados, so no Ceph cluster support (build with CGO_ENABLED=1 -tags pacific)")

// Dial is Connect as a cephconn.DialFunc.
func Dial(ctx context.Context, o cephconn.DialOptions) (cephconn.Conn, error) {
	c, err := Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

var _ cephconn.DialFunc = Dial
