package rules

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// TestPolicyFlood: a million distinct addresses hit a route whose store
// holds 10,000 keys. The bound holds (keys, estimated bytes and the real
// heap), no goroutine is left behind, the flood meets no on_full while
// idle keys can be evicted, and a locked user and a limited address stay
// so.
func TestPolicyFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test")
	}
	const maxKeys, flood = 10_000, 1_000_000
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	p, c, m := newTestPolicy(t, maxKeys, PolicyConfig{Rules: mustRules(t,
		[]string{"rate", "ip", "3/1h"},
		[]string{"lockout", "user", "2/1h", "for", "1h"})})
	login(t, p, "victim", "192.0.2.1", OutcomeFailure)
	login(t, p, "victim", "192.0.2.2", OutcomeFailure)
	for i := 0; i < 3; i++ {
		login(t, p, "x", "198.51.100.7", OutcomeUnknown)
	}
	a := &Attempt{Route: "login", Event: "none"}
	for i := 0; i < flood; i++ {
		a.IP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		v, tk := p.Evaluate(bg, a, nil)
		if v.Action != Allow {
			t.Fatalf("flood attempt %d: %v %q", i, v.Action, v.Reasons)
		}
		p.Observe(bg, tk, OutcomeUnknown)
		if i%100_000 == 0 {
			c.Advance(time.Second)
		}
	}
	st := m.Stats()
	if st.Keys > maxKeys || st.Bytes > maxKeys*400 {
		t.Fatalf("store %+v over its bound", st)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// What the flood left on the heap is the store's keys: allow 2 KB a
	// key, a bound a million unbounded keys would break fifty times over.
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("after %d distinct addresses: %d keys, %d bytes estimated, heap grew %d bytes", flood, st.Keys, st.Bytes, grown)
	if grown > maxKeys*2048 {
		t.Fatalf("heap grew %d bytes for %d keys", grown, maxKeys)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Fatalf("%d goroutines after the flood, %d before", n, goroutines)
	}
	if v := login(t, p, "Victim", "203.0.113.1", OutcomeSuccess); !v.HasReason("lockout_user") {
		t.Fatalf("locked user lost in the flood: %v %q", v.Action, v.Reasons)
	}
	if v := login(t, p, "y", "198.51.100.7", OutcomeSuccess); !v.HasReason("rate_ip") {
		t.Fatalf("limited address lost in the flood: %v %q", v.Action, v.Reasons)
	}
}
