//go:build !linux

package smartid

import (
	"errors"
	"net"
)

// lowWater does nothing here: deferred answers wake the poller as they
// arrive (see wireConn.muteAnswers).
type lowWater struct{}

var errNoLowWater = errors.New("SO_RCVLOWAT is not used on this system")

func (*lowWater) use(net.Conn)  {}
func (*lowWater) set(int) error { return errNoLowWater }
