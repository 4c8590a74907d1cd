package counter

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestFloodStaysWithinBound sends a million distinct keys at a store
// bounded to 10,000 and checks the bound, the byte estimate, the real heap
// growth, and that a locked key and a key at its limit survive.
func TestFloodStaysWithinBound(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test")
	}
	const maxKeys, flood = 10_000, 1_000_000
	c := newFakeClock()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	m := newStore(t, maxKeys, c)
	locked := Key{Rule: "lockout", Subject: "user=victim"}
	for i := 0; i < lk.Limit; i++ {
		settle(t, m, locked, 0, Failure)
	}
	limited := Key{Rule: "rate", Subject: "ip=203.0.113.66/32"}
	for i := 0; i < 5; i++ {
		m.Take(bg, limited, 5, time.Hour)
	}

	full := 0
	buf := make([]byte, 0, 32)
	for i := 0; i < flood; i++ {
		buf = strconv.AppendInt(append(buf[:0], "ip=10."...), int64(i), 10)
		r, err := m.Take(bg, Key{Rule: "rate", Subject: string(buf)}, 5, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r.Full {
			full++
		}
		if i%100_000 == 0 {
			c.Advance(time.Second)
		}
	}
	st := m.Stats()
	if st.Keys > maxKeys {
		t.Fatalf("%d keys held, bound %d", st.Keys, maxKeys)
	}
	// Each flood key holds one 4-slot ring and a subject under 20 bytes.
	if bound := int64(maxKeys * (entryOverhead + 20 + 4*8 + 16)); st.Bytes > bound {
		t.Fatalf("estimated %d bytes, bound %d", st.Bytes, bound)
	}
	if full != 0 {
		t.Fatalf("%d flood keys refused although idle keys could be evicted", full)
	}
	if st.Evictions < flood-maxKeys {
		t.Fatalf("only %d evictions", st.Evictions)
	}
	if r := reserve(t, m, locked); !r.Locked {
		t.Fatalf("locked key lost in the flood: %+v", r)
	}
	if r, _ := m.Take(bg, limited, 5, time.Hour); r.Allowed {
		t.Fatal("limited key lost in the flood")
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Real heap growth stays near the estimate: allow 2 KB a key.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > maxKeys*2048 {
		t.Fatalf("heap grew %d bytes for %d keys", grown, maxKeys)
	}
	runtime.KeepAlive(m)
}

func TestFullStoreRefusesNewKeysAndRecovers(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 4, c)
	for i := 0; i < 4; i++ {
		k := Key{Rule: "rate", Subject: strconv.Itoa(i)}
		if r, _ := m.Take(bg, k, 1, time.Minute); !r.Allowed {
			t.Fatalf("key %d refused", i)
		}
	}
	// Every held key is at its limit: none may be evicted.
	r, _ := m.Take(bg, Key{Rule: "rate", Subject: "new"}, 1, time.Minute)
	if !r.Full || r.Allowed {
		t.Fatalf("new key in a full store: %+v", r)
	}
	if st := m.Stats(); st.Refusals != 1 || st.Pinned != 4 || st.Keys != 4 {
		t.Fatalf("stats %+v", st)
	}
	for i := 0; i < 4; i++ {
		k := Key{Rule: "rate", Subject: strconv.Itoa(i)}
		if r, _ := m.Take(bg, k, 1, time.Minute); r.Allowed || r.Full {
			t.Fatalf("held key %d: %+v, want still limited", i, r)
		}
	}
	c.Advance(time.Minute)
	if r, _ := m.Take(bg, Key{Rule: "rate", Subject: "new"}, 1, time.Minute); !r.Allowed {
		t.Fatalf("after the window the store should make room: %+v", r)
	}
	if st := m.Stats(); st.Evictions != 0 {
		t.Fatalf("an expired key was counted as an eviction: %+v", st)
	}
}

func TestEvictionPrefersExpiredThenLeastRecentlyUsed(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 3, c)
	take := func(s string, w time.Duration) Result {
		r, _ := m.Take(bg, Key{Rule: "rate", Subject: s}, 10, w)
		return r
	}
	take("short", time.Second) // will expire
	take("b", time.Hour)
	take("c", time.Hour)
	c.Advance(2 * time.Second)
	take("b", time.Hour) // b is now more recent than c
	take("d", time.Hour) // short expired: dropped, no eviction
	if st := m.Stats(); st.Evictions != 0 || st.Keys != 3 {
		t.Fatalf("after d: %+v", st)
	}
	take("e", time.Hour) // nothing expired: the LRU (c) goes
	got, _ := m.List(bg, Filter{}, 0)
	var subjects []string
	for _, e := range got {
		subjects = append(subjects, e.Key.Subject)
	}
	if want := "b d e"; join(subjects) != want {
		t.Fatalf("held %q, want %q", join(subjects), want)
	}
	if st := m.Stats(); st.Evictions != 1 {
		t.Fatalf("evictions %d, want 1", st.Evictions)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestNewMemoryRejectsNegativeSizes(t *testing.T) {
	if _, err := NewMemory(MemoryConfig{MaxKeys: -1}); err == nil {
		t.Fatal("negative MaxKeys accepted")
	}
	m, err := NewMemory(MemoryConfig{})
	if err != nil || m.Stats().MaxKeys != DefaultMaxKeys {
		t.Fatalf("default store: %v %+v", err, m.Stats())
	}
	if len(m.shards) < 2 {
		t.Fatalf("a default store should be sharded, has %d shard", len(m.shards))
	}
}
