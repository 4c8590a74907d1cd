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
	"time"

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
// Entries are keyed by a 64-bit hash of the id, not by the id (see
// expiry.Set): the set keeps no string (an id handed in may alias a
// larger buffer, the session cache's text, which a kept string would pin
// for hours), and its snapshots (AppendSnapshot, Merge) read the same in
// every process, so the set can be saved and read back after a restart.
// Two live ids that hash alike could only make a session read as ended
// early, never an ended one live.
type Memory struct{ *expiry.Set }

// snapshotMagic names a saved set of revocations and its hash (XXH64 of
// the session id); see expiry.AppendSnapshot for the format.
const snapshotMagic = "LGREVOK1"

// NewMemory makes a set of at most max live entries (DefaultMax when
// max <= 0).
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = DefaultMax
	}
	return &Memory{expiry.NewSet(max, expiry.EvictFirst, snapshotMagic)}
}

// Revoke implements Set.
func (m *Memory) Revoke(_ context.Context, id string, until, now time.Time) error {
	_, err := m.Add(expiry.Key(id), until.UnixNano(), now.UnixNano())
	return err
}

// SetMax changes the bound (DefaultMax when max <= 0). A lower bound drops
// nothing at once (see expiry.Set.SetMax).
func (m *Memory) SetMax(max int) {
	if max <= 0 {
		max = DefaultMax
	}
	m.Set.SetMax(max)
}

// Revoked implements Set.
func (m *Memory) Revoked(_ context.Context, id string, now time.Time) (bool, error) {
	return m.Has(expiry.Key(id), now.UnixNano()), nil
}

// Stats are the set's counters, for metrics.
type Stats struct {
	Entries int
	Evicted uint64
}

// Stats returns the counters.
func (m *Memory) Stats() Stats {
	return Stats{Entries: m.Len(), Evicted: m.Evicted()}
}

var _ Set = (*Memory)(nil)
