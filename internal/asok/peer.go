package asok

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/rawsock"
)

// PeerError is the refusal to talk to a socket served by a process of an
// untrusted user: whoever can replace a socket in a directory the caller
// does not control could otherwise collect what the caller sends.
type PeerError struct {
	// Socket is the socket's path.
	Socket string
	// UID is the peer's user id, -1 if it could not be read.
	UID int
	// Trusted are the user ids accepted.
	Trusted []int
	// Err is why the peer could not be checked (UID is -1).
	Err error
}

func (e *PeerError) Error() string {
	want := make([]string, len(e.Trusted))
	for i, u := range e.Trusted {
		want[i] = fmt.Sprint(u)
		if u == 0 {
			want[i] += " (root)"
		}
	}
	if e.UID < 0 {
		return fmt.Sprintf("refusing to talk to %s: cannot check who serves it: %v", e.Socket, e.Err)
	}
	return fmt.Sprintf("refusing to talk to %s: it is served by uid %d, expected uid %s", e.Socket, e.UID, strings.Join(want, " or "))
}

// ErrorCode makes objectformat.ErrnoOf report -EACCES.
func (e *PeerError) ErrorCode() int { return -int(syscall.EACCES) }

func (e *PeerError) Unwrap() error { return e.Err }

// DefaultTrusted is who may serve a socket a client talks to: root and
// the caller's own user.
func DefaultTrusted() []int {
	if u := os.Getuid(); u != 0 {
		return []int{0, u}
	}
	return []int{0}
}

// Dial connects to the unix socket at path and, before anything is sent,
// checks with SO_PEERCRED that the process serving it runs as one of the
// trusted users (nil: DefaultTrusted). A socket served by anyone else is
// closed unused and reported as a *PeerError.
func Dial(ctx context.Context, path string, trusted []int) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if err := CheckPeer(c, path, trusted); err != nil {
		c.Close()
		return nil, err
	}
	return rawsock.Wrap(c), nil
}

// CheckPeer checks that the process at the other end of a unix socket
// connection runs as one of the trusted users (nil: DefaultTrusted).
func CheckPeer(c net.Conn, path string, trusted []int) error {
	if trusted == nil {
		trusted = DefaultTrusted()
	}
	uid, err := PeerUID(c)
	if err != nil {
		return &PeerError{Socket: path, UID: -1, Trusted: trusted, Err: err}
	}
	for _, t := range trusted {
		if t == uid {
			return nil
		}
	}
	return &PeerError{Socket: path, UID: uid, Trusted: trusted}
}
