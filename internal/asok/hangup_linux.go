package asok

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WatchHangup calls gone, from another goroutine, if the peer of c closes
// its end of the connection while nobody reads c (a client that gave up
// on its command). A peer that only shuts down its writing side, still
// waiting for the reply, is not gone. It clears c's read deadline; the
// returned stop ends the watch and waits for it, leaving the read deadline
// in the past, so the caller sets a new one before reading again.
//
// It costs one goroutine parked in the runtime's poller (edge-triggered:
// it wakes only when the socket's state changes) and no read, so no byte
// of c is consumed.
func WatchHangup(c net.Conn, gone func()) (stop func()) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	_ = c.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		hung := false
		_ = raw.Read(func(fd uintptr) bool {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
			n, err := unix.Poll(fds, 0)
			if err != nil {
				return err != unix.EINTR // give up watching on a real error
			}
			// POLLHUP: both directions are shut, the peer closed its
			// socket. POLLRDHUP alone is a half-close.
			if n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				hung = true
				return true
			}
			return false // wait for the next change of state
		})
		if hung {
			gone()
		}
	}()
	return func() {
		_ = c.SetReadDeadline(time.Now().Add(-time.Second))
		<-done
	}
}
