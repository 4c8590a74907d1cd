package ports

import (
	"net"
	"strconv"
	"testing"
)

// TestFreeIsListenable: the port is a real one and nothing holds it.
func TestFreeIsListenable(t *testing.T) {
	p := Free(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("port %d", p)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	ln.Close()
}

// TestPickNeverRepeats: ports handed out in one process are all distinct,
// even though each is closed again before the next is picked.
func TestPickNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 2000 {
		p := Free(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
