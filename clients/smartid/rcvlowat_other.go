//go:build !linux

package smartid

import "syscall"

// setRcvLowat does nothing here: deferred answers wake the poller as they
// arrive (see wireConn.muteAnswers).
func setRcvLowat(syscall.RawConn, int) error { return nil }
