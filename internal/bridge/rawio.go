package bridge

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawConn is a unix socket connection whose reads and writes are raw
// system calls on its non-blocking socket, waiting for it in the Go
// runtime's poller as net.Conn does. A call through the syscall package
// tells the runtime it may block (entersyscall), which wakes the
// runtime's monitor thread from its sleep when the process was idle: a
// context switch or more a message on a connection that idles between
// short exchanges, as the bridge's does between the real mgr's commands.
// These calls never block (the socket is non-blocking), so they need not
// say so. (net.Buffers still writes through net.UnixConn's writev.)
type rawConn struct {
	*net.UnixConn
	rc syscall.RawConn
}

// newRawConn is c as a rawConn, or c itself if it is not a unix socket.
func newRawConn(c net.Conn) net.Conn {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return c
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return c
	}
	return rawConn{uc, rc}
}

func (c rawConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "unix", Err: err}
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "unix", Err: os.NewSyscallError("read", errno)}
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

func (c rawConn) Write(b []byte) (int, error) {
	done := 0
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for done < len(b) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[done])), uintptr(len(b)-done))
			switch e {
			case 0:
				done += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, &net.OpError{Op: "write", Net: "unix", Err: err}
	case errno != 0:
		return done, &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", errno)}
	}
	return done, nil
}
