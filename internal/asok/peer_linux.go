package asok

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// PeerUID returns the user id of the process at the other end of c, as
// the kernel recorded it when that process connected or listened.
func PeerUID(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a unix socket connection")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if cerr != nil {
		return -1, cerr
	}
	return int(cred.Uid), nil
}
