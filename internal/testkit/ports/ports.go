// Package ports finds free loopback ports for the servers tests start
// (Caddy, redis-server, framework parsers, the load benchmark's
// processes). It imports no Caddy, so any package's tests can use it
// (internal/pages included, which Caddy's harnesses import).
package ports

import (
	"errors"
	"net"
	"sync"
	"testing"
)

// handedOut are the ports Pick has returned in this process. A port is
// closed again as soon as it is picked, so the kernel may give the same
// one to the next Pick: a Caddy whose admin and HTTP ports came out equal
// then served its admin API on the site's address (404 to every login).
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// Pick returns a loopback TCP port that was free a moment ago and that
// Pick has not returned before in this process.
func Pick() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 100 {
		port, err := pickOnce()
		if err != nil {
			return 0, err
		}
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("ports: no loopback port that was not handed out before")
}

func pickOnce() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Free is Pick for a test: it fails t when no port can be had.
func Free(t testing.TB) int {
	t.Helper()
	p, err := Pick()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
