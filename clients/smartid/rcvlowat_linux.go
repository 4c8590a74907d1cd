package smartid

import (
	"errors"
	"net"
	"syscall"
)

// lowWater sets the SO_RCVLOWAT of a connection's TCP socket (under TLS,
// if any): how many bytes must be waiting before the kernel reports the
// socket readable to Go's poller. A read still returns whatever is there.
// See wireConn.muteAnswers.
type lowWater struct {
	raw syscall.RawConn // nil without a TCP socket
	n   int
	err error
	fn  func(fd uintptr) // made once: a closure made per call would be allocated per call
}

var errNoSocket = errors.New("no TCP socket")

// use makes conn (nil: none) the connection whose socket set acts on.
func (l *lowWater) use(conn net.Conn) {
	l.raw = nil
	if tc, ok := conn.(*net.TCPConn); ok {
		l.raw, _ = tc.SyscallConn()
	}
}

func (l *lowWater) set(n int) error {
	if l.raw == nil {
		return errNoSocket
	}
	if l.fn == nil {
		l.fn = func(fd uintptr) {
			l.err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, l.n)
		}
	}
	l.n = n
	if err := l.raw.Control(l.fn); err != nil {
		return err
	}
	return l.err
}
