// Package ports finds free loopback ports for the servers tests start
// (Caddy, redis-server, framework parsers, the load benchmark's
// processes). It imports no Caddy, so any package's tests can use it
// (internal/pages included, which Caddy's harnesses import).
package ports

import (
	"net"
	"testing"
)

// Pick returns a loopback TCP port that was free a moment ago.
func Pick() (int, error) {
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
