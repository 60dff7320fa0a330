// Package rawsock gives unix socket connections whose reads and writes do
// not wake the Go runtime's monitor thread.
//
// A read or write through net.Conn is a system call through the syscall
// package, which tells the runtime it may block (entersyscall); when the
// process was idle, that wakes the runtime's monitor thread (sysmon) from
// its sleep: a context switch or more a message, on a connection that
// idles between short exchanges (a command and its reply). Wrap's
// connection makes the same calls raw, inside syscall.RawConn's callbacks:
// on a non-blocking socket they never block, so they need not say so, and
// they wait in the runtime's poller as net.Conn does, deadlines included.
// Everything else (Close, deadlines, SyscallConn, net.Buffers' writev) is
// the *net.UnixConn's own.
package rawsock

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// conn is a *net.UnixConn whose Read and Write are raw system calls.
type conn struct {
	*net.UnixConn
	rc syscall.RawConn
}

// Wrap is c with raw reads and writes if it is a *net.UnixConn, else c.
func Wrap(c net.Conn) net.Conn {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return c
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return c
	}
	return conn{uc, rc}
}

func (c conn) Read(b []byte) (int, error) {
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
		return 0, &net.OpError{Op: "read", Net: "unix", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: inner(err)}
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "unix", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

// WriteFD writes b to the non-blocking socket fd once, raw (no wake of
// the runtime's monitor): what the socket took, and the call's error
// (syscall.EAGAIN if it took nothing now). For a syscall.RawConn's Write
// callback.
func WriteFD(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

func (c conn) Write(b []byte) (int, error) {
	done := 0
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for done < len(b) {
			n, err := WriteFD(fd, b[done:])
			done += n
			if err == syscall.EAGAIN {
				return false // wait in the poller
			}
			if err != nil {
				werr = err
				break
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, &net.OpError{Op: "write", Net: "unix", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: inner(err)}
	case werr != nil:
		return done, &net.OpError{Op: "write", Net: "unix", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", werr)}
	}
	return done, nil
}

// inner is the cause of a RawConn's error (its own *net.OpError says
// "raw-read"), for an OpError of the operation itself.
func inner(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		return oe.Err
	}
	return err
}
