package revoke

import (
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
)

// snapshotMagic names a saved set of revocations and its hash (XXH64 of
// the session id); see expiry.AppendSnapshot for the format.
const snapshotMagic = "LGREVOK1"

// mergeChunk bounds how many saved entries are merged under one hold of
// the set's lock, so a large snapshot does not hold up logouts and
// lookups while it is read in.
const mergeChunk = 1024

// Changes returns how many entries have been added or extended since the
// set was made: a saver compares it with the count it last saved.
func (m *Memory) Changes() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changes
}

// AppendSnapshot appends to b the entries live at now, and returns what
// they reflect. The lock is held only to copy the heap into a slice
// allocated beforehand: lookups wait for a copy, not for an allocation
// or the encoding.
func (m *Memory) AppendSnapshot(b []byte, now time.Time) ([]byte, expiry.Mark) {
	t := now.UnixNano()
	m.mu.Lock()
	n := len(m.exp)
	m.mu.Unlock()
	for {
		entries := make([]expiry.Entry, 0, n+n/8+64)
		m.mu.Lock()
		m.purge(t)
		if len(m.exp) <= cap(entries) {
			entries = append(entries, m.exp...)
			mark := expiry.Mark{Changes: m.changes, Evicted: m.evicted}
			m.mu.Unlock()
			return expiry.AppendSnapshot(b, snapshotMagic, entries, t), mark
		}
		n = len(m.exp)
		m.mu.Unlock()
	}
}

// Evicted is how many live entries the bound has pushed out so far.
func (m *Memory) Evicted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// Merge adds the entries of a snapshot still live at now, as Revoke
// would (an entry already recorded as long is left; at the bound the one
// expiring first goes), and returns how many it added or extended and
// when the last of the snapshot's entries expires (zero when none was
// live). A snapshot of another magic, or not a whole number of entries,
// is refused (expiry.ErrNotSnapshot) before anything is added.
func (m *Memory) Merge(b []byte, now time.Time) (added int, until time.Time, err error) {
	snap, err := expiry.OpenSnapshot(b, snapshotMagic)
	if err != nil {
		return 0, time.Time{}, err
	}
	t := now.UnixNano()
	var last int64
	for i := 0; i < snap.Len(); {
		end := min(i+mergeChunk, snap.Len())
		m.mu.Lock()
		m.purge(t)
		before := m.changes
		for ; i < end; i++ {
			if e := snap.Entry(i); e.At > t {
				m.add(e.Key, e.At)
				last = max(last, e.At)
			}
		}
		added += int(m.changes - before)
		m.mu.Unlock()
	}
	if last > 0 {
		until = time.Unix(0, last)
	}
	return added, until, nil
}
