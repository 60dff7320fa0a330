// Package rawsock gives unix and TCP socket connections whose reads and
// writes do not wake the Go runtime's monitor thread.
//
// A read or write through net.Conn is a system call through the syscall
// package, which tells the runtime it may block (entersyscall); when the
// process was idle, that wakes the runtime's monitor thread (sysmon) from
// its sleep: a context switch or more a message, on a connection that
// idles between short exchanges (a command and its reply). Wrap's
// connection makes the same calls raw, inside syscall.RawConn's callbacks:
// on a non-blocking socket they never block, so they need not say so, and
// they wait in the runtime's poller as net.Conn does, deadlines included.
// Everything else (Close, deadlines, SyscallConn, net.Buffers' writev,
// a TCP connection's CloseWrite and ReadFrom) is the *net.UnixConn's or
// *net.TCPConn's own. Listener wraps every connection a listener accepts
// (an HTTP server's).
package rawsock

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// unixConn and tcpConn are the connections whose Read and Write are raw
// system calls (rawRead, rawWrite).
type unixConn struct {
	*net.UnixConn
	rc syscall.RawConn
}

type tcpConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c unixConn) Read(b []byte) (int, error)  { return rawRead(c.rc, c, b) }
func (c unixConn) Write(b []byte) (int, error) { return rawWrite(c.rc, c, b) }
func (c tcpConn) Read(b []byte) (int, error)   { return rawRead(c.rc, c, b) }
func (c tcpConn) Write(b []byte) (int, error)  { return rawWrite(c.rc, c, b) }

// Wrap is c with raw reads and writes if it is a *net.UnixConn or a
// *net.TCPConn, else c.
func Wrap(c net.Conn) net.Conn {
	switch t := c.(type) {
	case *net.UnixConn:
		if rc, err := t.SyscallConn(); err == nil {
			return unixConn{t, rc}
		}
	case *net.TCPConn:
		if rc, err := t.SyscallConn(); err == nil {
			return tcpConn{t, rc}
		}
	}
	return c
}

// Listener is l whose accepted connections are Wrap's.
func Listener(l net.Listener) net.Listener { return listener{l} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// rawRead is c's Read through rc.
func rawRead(rc syscall.RawConn, c net.Conn, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, opError("read", c, inner(err))
	case errno != 0:
		return 0, opError("read", c, os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

func opError(op string, c net.Conn, err error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
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

// rawWrite is c's Write through rc: all of b, waiting in the poller
// while the socket takes nothing.
func rawWrite(rc syscall.RawConn, c net.Conn, b []byte) (int, error) {
	done := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
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
		return done, opError("write", c, inner(err))
	case werr != nil:
		return done, opError("write", c, os.NewSyscallError("write", werr))
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
