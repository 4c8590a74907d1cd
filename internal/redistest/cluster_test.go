//go:build redis

package redistest

import (
	"strings"
	"testing"

	"github.com/login-guard/login_guard/internal/testkit/redisproc"
)

// TestTwoInstancesOneCluster runs the exactness test against a local
// three-master Redis Cluster: the addresses' counters land on different
// masters, each counter's keys on one slot.
func TestTwoInstancesOneCluster(t *testing.T) {
	c := redisproc.StartCluster(t, 3)
	f := startFleet(t, 2, "\t\t\tmode cluster\n\t\t\taddress "+strings.Join(c.Addrs(), " ")+"\n\t\t\ttimeout 500ms")
	for _, ip := range []string{"203.0.113.30", "203.0.113.31", "203.0.113.32", "2001:db8::1"} {
		exactRate(t, f, ip)
	}
	f.spread(t, 20, "/lock", "198.51.100.1", "mkhumalo", "guess")
	if n := f.portal.Count("/lock", "mkhumalo"); n != 3 {
		t.Fatalf("portal saw %d guesses, want exactly 3", n)
	}
	list := f.admin(t, 1, "GET", "/login_guard/limits?route=lock&user=mkhumalo")
	if !strings.Contains(list, "mkhumalo") {
		t.Fatalf("the cluster's lock is not listed: %s", list)
	}
}
