package smartid

import "syscall"

// setRcvLowat sets the socket's SO_RCVLOWAT: how many bytes must be
// waiting before the kernel reports it readable (to Go's poller), not how
// many a read returns, which is all that is there. See wireConn.muteAnswers.
func setRcvLowat(raw syscall.RawConn, n int) error {
	var err error
	if cerr := raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); cerr != nil {
		return cerr
	}
	return err
}
