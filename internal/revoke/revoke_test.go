package revoke

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"
	"weak"
)

func TestMemoryRevokesUntilExpiry(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(0)
	now := time.Now()
	if err := m.Revoke(ctx, "s1", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Revoked(ctx, "s1", now); !ok {
		t.Fatal("a revoked session must be reported")
	}
	if ok, _ := m.Revoked(ctx, "s2", now); ok {
		t.Fatal("another session is not revoked")
	}
	if ok, _ := m.Revoked(ctx, "s1", now.Add(2*time.Hour)); ok {
		t.Fatal("past the cookie's expiry the entry is dead")
	}
	// An already expired cookie is not recorded.
	_ = m.Revoke(ctx, "old", now.Add(-time.Second), now)
	if m.Stats().Entries != 1 {
		t.Fatalf("stats %+v", m.Stats())
	}
}

// TestMemoryBounded: at its bound the set drops the entry that expires
// first, never more than it must, and counts it.
func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(2)
	now := time.Now()
	_ = m.Revoke(ctx, "soon", now.Add(time.Minute), now)
	_ = m.Revoke(ctx, "late", now.Add(time.Hour), now)
	_ = m.Revoke(ctx, "new", now.Add(30*time.Minute), now)
	if s := m.Stats(); s.Entries != 2 || s.Evicted != 1 {
		t.Fatalf("stats %+v", s)
	}
	for id, want := range map[string]bool{"soon": false, "late": true, "new": true} {
		if ok, _ := m.Revoked(ctx, id, now); ok != want {
			t.Errorf("%s: revoked=%v, want %v", id, ok, want)
		}
	}
	// Re-revoking an id keeps one entry.
	_ = m.Revoke(ctx, "late", now.Add(2*time.Hour), now)
	if s := m.Stats(); s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestMemoryPurgesByCallersClock: the set runs on the caller's clock (the
// request's), not its own: an entry past its time at the caller's now is
// dropped by the next revocation.
func TestMemoryPurgesByCallersClock(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(0)
	now := time.Now()
	_ = m.Revoke(ctx, "a", now.Add(time.Minute), now)
	later := now.Add(2 * time.Minute)
	_ = m.Revoke(ctx, "b", later.Add(time.Hour), later)
	if s := m.Stats(); s.Entries != 1 {
		t.Fatalf("stats %+v: the expired entry was kept", s)
	}
	// Expired at the caller's now: not recorded, whatever the wall clock.
	_ = m.Revoke(ctx, "c", later.Add(-time.Second), later)
	if ok, _ := m.Revoked(ctx, "c", now); ok {
		t.Fatal("an entry expired at the caller's now was recorded")
	}
}

// BenchmarkMemoryRevoke is one logout's revocation in a set at its bound
// (the steady state of a busy site: each revocation evicts the entry that
// expires first), the check the logout made first included.
func BenchmarkMemoryRevoke(b *testing.B) {
	ctx := context.Background()
	const max = DefaultMax
	m := NewMemory(max)
	now := time.Now()
	ids := make([]string, max+b.N)
	for i := range ids {
		ids[i] = "s" + strconv.Itoa(i)
	}
	for i := range max {
		_ = m.Revoke(ctx, ids[i], now.Add(time.Hour+time.Duration(i)*time.Millisecond), now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[max+i]
		if revoked, _ := m.Revoked(ctx, id, now); revoked {
			b.Fatal("revoked before its logout")
		}
		_ = m.Revoke(ctx, id, now.Add(2*time.Hour+time.Duration(i)*time.Millisecond), now)
	}
}

// TestMemoryKeepsNoIDText: the set does not keep the text of an id it was
// given. The guard hands it ids that alias the session cache's text (a
// buffer of hundreds of sessions), which a kept string would pin until
// the revocation expires, hours later.
func TestMemoryKeepsNoIDText(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(0)
	now := time.Now()
	// The id's buffer is only reachable from inside revokeFromBuffer.
	gone := revokeFromBuffer(t, m, "session-id-0123456789", now)
	for range 3 {
		runtime.GC()
	}
	if gone.Value() != nil {
		t.Fatal("the set still holds the buffer its id came from")
	}
	if ok, _ := m.Revoked(ctx, "session-id-0123456789", now); !ok {
		t.Fatal("the id is no longer revoked")
	}
}

// revokeFromBuffer revokes id as text inside a larger buffer, and returns
// a weak pointer to that buffer.
func revokeFromBuffer(t *testing.T, m *Memory, id string, now time.Time) weak.Pointer[byte] {
	text := make([]byte, 64<<10)
	copy(text, id)
	if err := m.Revoke(context.Background(), unsafe.String(&text[0], len(id)), now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	return weak.Make(&text[0])
}
