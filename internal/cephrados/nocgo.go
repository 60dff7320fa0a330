//go:build !cgo

package cephrados

import (
	"context"
	"syscall"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/objstore"
)

// Available reports whether this build can connect to clusters.
func Available() error { return ErrNoCgo }

// Conn is a cluster connection; without cgo there are none.
type Conn struct{}

var _ cephconn.Conn = (*Conn)(nil)

// Connect fails with ErrNoCgo.
func Connect(context.Context, cephconn.DialOptions) (*Conn, error) { return nil, ErrNoCgo }

// MonCommand fails with -ENOTCONN.
func (*Conn) MonCommand(_, _ []byte) ([]byte, string, error) { return nil, "", syscall.ENOTCONN }

// MonTargetCommand fails with -ENOTCONN.
func (*Conn) MonTargetCommand(string, []byte, []byte) ([]byte, string, error) {
	return nil, "", syscall.ENOTCONN
}

// MgrCommand fails with -ENOTCONN.
func (*Conn) MgrCommand(_, _ []byte) ([]byte, string, error) { return nil, "", syscall.ENOTCONN }

// OsdCommand fails with -ENOTCONN.
func (*Conn) OsdCommand(int, []byte, []byte) ([]byte, string, error) {
	return nil, "", syscall.ENOTCONN
}

// PGCommand fails with -ENOTCONN.
func (*Conn) PGCommand(string, []byte, []byte) ([]byte, string, error) {
	return nil, "", syscall.ENOTCONN
}

// MDSCommand fails with -ENOTCONN.
func (*Conn) MDSCommand(string, []byte, []byte) ([]byte, string, error) {
	return nil, "", syscall.ENOTCONN
}

// FSID is empty.
func (*Conn) FSID() string { return "" }

// Pool fails with -ENOTCONN.
func (*Conn) Pool(string) (cephconn.Pool, error) { return nil, syscall.ENOTCONN }

// Close does nothing.
func (*Conn) Close() {}

// ObjectOp fails with -ENOTCONN.
func (*Conn) ObjectOp(objstore.Op) (objstore.Result, error) {
	return objstore.Result{}, syscall.ENOTCONN
}

// Addrs fails with -ENOTCONN.
func (*Conn) Addrs() (string, error) { return "", syscall.ENOTCONN }
