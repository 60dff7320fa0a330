//go:build !linux

package asok

import (
	"errors"
	"net"
)

// PeerUID is only implemented on Linux (SO_PEERCRED); elsewhere clients
// refuse every socket rather than talk to one they cannot check.
func PeerUID(net.Conn) (int, error) {
	return -1, errors.New("peer credentials are not supported on this system")
}
