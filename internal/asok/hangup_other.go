//go:build !linux

package asok

import "net"

// WatchHangup is only implemented on Linux; elsewhere a command whose
// client went away runs until it finishes or times out.
func WatchHangup(net.Conn, func()) (stop func()) { return func() {} }
