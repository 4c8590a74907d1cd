// Package revoke remembers ended guard sessions until their cookies would
// expire anyway, so a cookie replayed after its logout is no session.
// Set is the interface the guard uses; Memory is the process-local
// implementation (exact and bounded). A store shared by several
// instances implements Set the same way, with each entry's TTL at its
// until time.
package revoke

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/login-guard/login_guard/internal/expiry"
)

// Set records revoked session ids.
type Set interface {
	// Revoke records id as ended until until (the cookie's expiry); now
	// is the caller's clock (the request's), read once per request.
	Revoke(ctx context.Context, id string, until, now time.Time) error
	// Revoked reports whether id was revoked and its entry is still live.
	Revoked(ctx context.Context, id string, now time.Time) (bool, error)
}

// ErrKept wraps the error of a shared Set that could not record a
// revocation but kept it to record later (the instance refuses the
// session meanwhile): nothing is lost unless the process stops first.
var ErrKept = errors.New("revocation kept by this instance and sent again until the store takes it")

// DefaultMax bounds a Memory set when the caller does not.
const DefaultMax = 100_000

// Memory is a bounded in-process Set. When it holds max live entries, a
// new revocation pushes out the entry that expires first (counted in
// Stats.Evicted): the logout's cookie clearing still ends the browser's
// session, only a replay of that one cookie is no longer refused.
//
// Entries are keyed by a 64-bit hash of the id, not by the id: the set
// keeps no string (an id handed in may alias a larger buffer, the session
// cache's text, which a kept string would pin for hours) and holds no
// pointer for the collector to trace. The hash is keyless (XXH64) so that
// every process computes the same one and a saved set (snapshot.go) reads
// the same after a restart. That loses nothing a keyed hash would give:
// the ids are taken only from guard cookies the guard authenticated, and
// it made them itself (random, or with session_cookie an HMAC of the
// portal's cookie under the guard's key), so nobody picks them; and two
// live ids that hash alike (odds of about n/2^64 per lookup with n
// entries) could only make a session read as ended early, never an
// ended one live.
type Memory struct {
	mu      sync.Mutex
	max     int
	byID    map[uint64]int64 // id's hash -> until, Unix nanoseconds
	exp     expiry.Heap
	evicted uint64
	// changes counts the entries added or extended, so a saver can tell
	// whether there is anything new to save.
	changes uint64
}

// NewMemory makes a set of at most max live entries (DefaultMax when
// max <= 0).
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = DefaultMax
	}
	return &Memory{max: max, byID: map[uint64]int64{}}
}

func key(id string) uint64 { return xxhash.Sum64String(id) }

// Revoke implements Set.
func (m *Memory) Revoke(_ context.Context, id string, until, now time.Time) error {
	at, t := until.UnixNano(), now.UnixNano()
	if t >= at {
		return nil // the cookie has expired anyway
	}
	k := key(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purge(t)
	m.add(k, at)
	return nil
}

// add records k until at (Unix nanoseconds, in the future), unless k is
// already recorded as long; at the bound it first drops the entries that
// expire first. m.mu is held.
func (m *Memory) add(k uint64, at int64) {
	old, present := m.byID[k]
	if present && at <= old {
		return
	}
	for dropped := 0; !present && len(m.byID) >= m.max && len(m.exp) > 0; {
		// Over a bound a reload lowered, the set shrinks a few entries a
		// revocation rather than all at once under the lock.
		if dropped >= maxDropsPerAdd && len(m.byID) > m.max {
			break
		}
		if m.evictFirst() {
			dropped++
		}
	}
	m.byID[k] = at
	m.exp.Push(expiry.Entry{Key: k, At: at})
	m.changes++
}

// maxDropsPerAdd bounds the entries one revocation drops while the set is
// over its bound.
const maxDropsPerAdd = 16

// evictFirst drops the entry that expires first, reporting whether it
// was live (the heap also holds the older times of renewed entries).
// m.mu is held; m.exp is not empty.
func (m *Memory) evictFirst() bool {
	it := m.exp.Pop()
	if cur, ok := m.byID[it.Key]; ok && cur == it.At {
		delete(m.byID, it.Key)
		m.evicted++
		return true
	}
	return false
}

// SetMax changes the bound (DefaultMax when max <= 0). A lower bound drops
// nothing at once: the set shrinks to it as entries expire and as each
// new revocation drops a few of those expiring first, so a reload that
// lowers it and then fails (its config never runs) costs the running
// config only what revocations push out while it holds the set.
func (m *Memory) SetMax(max int) {
	if max <= 0 {
		max = DefaultMax
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.max = max
}

// Revoked implements Set.
func (m *Memory) Revoked(_ context.Context, id string, now time.Time) (bool, error) {
	k := key(id)
	m.mu.Lock()
	at, ok := m.byID[k]
	m.mu.Unlock()
	return ok && now.UnixNano() < at, nil
}

// Stats are the set's counters, for metrics.
type Stats struct {
	Entries int
	Evicted uint64
}

// Stats returns the counters.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Entries: len(m.byID), Evicted: m.evicted}
}

// purge drops entries past their time. A re-revoked id leaves its older
// heap entry behind; it is skipped here by comparing times.
func (m *Memory) purge(now int64) {
	for len(m.exp) > 0 && now >= m.exp[0].At {
		it := m.exp.Pop()
		if at, ok := m.byID[it.Key]; ok && at == it.At {
			delete(m.byID, it.Key)
		}
	}
}

var _ Set = (*Memory)(nil)
