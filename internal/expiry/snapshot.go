package expiry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A snapshot is how a set built on this package is saved (so it can
// outlive its process): the set's magic, eight bytes naming the set and
// how its keys were hashed, then its entries, 16 bytes each: the key's
// hash and its expiry (Unix nanoseconds), both little-endian. A set saved
// under another hash would match nothing, so a snapshot whose magic is
// not the reader's is refused rather than read.

// Mark is what a snapshot reflects: its set's counts of changes (entries
// added or extended) and of evictions (live entries its bound pushed out)
// when it was taken.
type Mark struct{ Changes, Evicted uint64 }

// MagicLen is the length of a snapshot's magic.
const MagicLen = 8

const entryLen = 16

// ErrNotSnapshot: the bytes read are not a snapshot of the set (another
// magic, or not a whole number of entries).
var ErrNotSnapshot = errors.New("not a saved set")

// AppendSnapshot appends magic and the entries that expire after now to
// b. A set passes a copy of its heap, taken under its lock and encoded
// outside it: the heap may also hold a renewed key's older time, which a
// reader taking the later of a key's times ignores.
func AppendSnapshot(b []byte, magic string, entries []Entry, now int64) []byte {
	if len(magic) != MagicLen {
		panic("expiry: a snapshot's magic is 8 bytes")
	}
	b = slices.Grow(b, MagicLen+len(entries)*entryLen)
	b = append(b, magic...)
	for _, e := range entries {
		if e.At > now {
			b = binary.LittleEndian.AppendUint64(b, e.Key)
			b = binary.LittleEndian.AppendUint64(b, uint64(e.At))
		}
	}
	return b
}

// Snapshot is a snapshot's entries.
type Snapshot []byte

// OpenSnapshot checks that b starts with magic and holds a whole number
// of entries, and returns them. It cannot tell a snapshot cut at an
// entry's end from a whole one: the saved files are written atomically
// (certmagic's file storage writes a temporary file and renames it).
func OpenSnapshot(b []byte, magic string) (Snapshot, error) {
	if len(b) < MagicLen || string(b[:MagicLen]) != magic {
		return nil, ErrNotSnapshot
	}
	body := b[MagicLen:]
	if len(body)%entryLen != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the magic is not a whole number of entries", ErrNotSnapshot, len(body))
	}
	return Snapshot(body), nil
}

// Len is the number of entries.
func (s Snapshot) Len() int { return len(s) / entryLen }

// Entry returns entry i.
func (s Snapshot) Entry(i int) Entry {
	e := s[i*entryLen : (i+1)*entryLen]
	return Entry{Key: binary.LittleEndian.Uint64(e), At: int64(binary.LittleEndian.Uint64(e[8:]))}
}
