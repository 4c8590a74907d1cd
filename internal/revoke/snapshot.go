package revoke

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A saved set (a snapshot) is snapshotMagic followed by the live entries,
// 16 bytes each: the id's hash and the time the entry lives until (Unix
// nanoseconds), both little-endian. The magic names the format and the
// hash (XXH64 of the id): a set saved under another hash would match
// nothing, so it is refused rather than read.
const snapshotMagic = "LGREVOK1"

const snapshotEntry = 16

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

// AppendSnapshot appends to b the entries live at now, and returns the
// change count they reflect.
func (m *Memory) AppendSnapshot(b []byte, now time.Time) ([]byte, uint64) {
	t := now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purge(t)
	b = append(b, snapshotMagic...)
	for k, at := range m.byID {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = binary.LittleEndian.AppendUint64(b, uint64(at))
	}
	return b, m.changes
}

// ErrNotSnapshot: the bytes given to Merge are not a saved set.
var ErrNotSnapshot = errors.New("not a saved set of revocations")

// Merge adds the entries of a snapshot still live at now, as Revoke
// would (an entry already recorded as long is left; at the bound the one
// expiring first goes), and returns how many it added or extended and
// how many of the snapshot's were live. A snapshot that is not whole is
// refused before anything is added.
func (m *Memory) Merge(snap []byte, now time.Time) (added, live int, err error) {
	if len(snap) < len(snapshotMagic) || string(snap[:len(snapshotMagic)]) != snapshotMagic {
		return 0, 0, ErrNotSnapshot
	}
	body := snap[len(snapshotMagic):]
	if len(body)%snapshotEntry != 0 {
		return 0, 0, fmt.Errorf("%w: %d bytes after the header is not a whole number of entries", ErrNotSnapshot, len(body))
	}
	t := now.UnixNano()
	for len(body) > 0 {
		n := min(len(body)/snapshotEntry, mergeChunk)
		m.mu.Lock()
		m.purge(t)
		before := m.changes
		for i := 0; i < n; i++ {
			e := body[i*snapshotEntry:]
			k, at := binary.LittleEndian.Uint64(e), int64(binary.LittleEndian.Uint64(e[8:]))
			if at > t {
				m.add(k, at)
				live++
			}
		}
		added += int(m.changes - before)
		m.mu.Unlock()
		body = body[n*snapshotEntry:]
	}
	return added, live, nil
}
