package expiry

import (
	"errors"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Set is a bounded set of keys, each remembered until its expiry, safe
// for concurrent use: the sessions ended by a logout (package revoke) and
// the spent one-use step-up tokens (package stepup) are both one.
//
// It keeps each key as a 64-bit hash (Key) with its expiry in a map, and
// this package's heap beside it, so forgetting what expired costs
// O(log n) an entry and the set holds no string or pointer for the
// collector to trace. The hash is keyless, so every process computes the
// same one and a snapshot reads the same after a restart; the callers'
// keys are ids the guard made itself (random, or an HMAC under its key)
// and took only from tokens it authenticated, so nobody picks them. Two
// live keys that hash alike (odds of about n/2^64 a lookup with n
// entries) make a fresh key read as recorded: an id counted as spent or
// ended early, never the reverse.
type Set struct {
	mu      sync.Mutex
	max     int
	full    AtBound
	magic   string
	byID    map[uint64]int64 // key's hash -> expiry, Unix nanoseconds
	exp     Heap
	evicted uint64
	// changes counts the entries added or extended, so a saver can tell
	// whether there is anything new to save.
	changes uint64
}

// AtBound is what a set does with a new key when it holds its maximum of
// live entries.
type AtBound int

const (
	// EvictFirst drops the entries that expire first to make room (counted
	// in Evicted): right where forgetting an entry early costs less than
	// refusing the new one (a logged-out cookie replayed, against a logout
	// not recorded at all).
	EvictFirst AtBound = iota
	// Refuse refuses the new key (ErrFull): right where forgetting an
	// entry early would reopen it (a spent one-use token), so the caller
	// fails closed instead.
	Refuse
)

// ErrFull is Add's answer in a Refuse set that holds its maximum of live
// entries.
var ErrFull = errors.New("expiry: set full")

// Key is the hash a Set keeps for id: XXH64, the same in every process.
func Key(id string) uint64 { return xxhash.Sum64String(id) }

// NewSet makes a set of at most max live entries (max must be > 0), whose
// snapshots carry magic (MagicLen bytes naming what the set holds).
func NewSet(max int, full AtBound, magic string) *Set {
	if len(magic) != MagicLen {
		panic("expiry: a set's magic is 8 bytes")
	}
	return &Set{max: max, full: full, magic: magic, byID: map[uint64]int64{}}
}

// Add records k until at (Unix nanoseconds) at the caller's clock now,
// and reports whether k was new: false when it was already recorded and
// live (its expiry then extended to at if later). A key whose at is not
// after now is not recorded (and reported as new). At the bound a Refuse
// set returns ErrFull and records nothing; an EvictFirst set drops what
// expires first.
func (s *Set) Add(k uint64, at, now int64) (fresh bool, err error) {
	if now >= at {
		return true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now)
	if _, present := s.byID[k]; !present && s.full == Refuse && len(s.byID) >= s.max {
		return false, ErrFull
	}
	return s.add(k, at), nil
}

// Has reports whether k is recorded and live at now.
func (s *Set) Has(k uint64, now int64) bool {
	s.mu.Lock()
	at, ok := s.byID[k]
	s.mu.Unlock()
	return ok && now < at
}

// add records k until at (in the future), unless k is already recorded
// as long, and reports whether k was new. Over the bound an EvictFirst
// set first drops the entries that expire first; in a Refuse set Add has
// checked the bound, and Merge takes every saved entry (dropping one
// would reopen it). s.mu is held.
func (s *Set) add(k uint64, at int64) bool {
	old, present := s.byID[k]
	if present && at <= old {
		return false
	}
	for dropped := 0; s.full == EvictFirst && !present && len(s.byID) >= s.max && len(s.exp) > 0; {
		// Over a bound a reload lowered, the set shrinks a few entries an
		// addition rather than all at once under the lock.
		if dropped >= maxDropsPerAdd && len(s.byID) > s.max {
			break
		}
		if s.evictFirst() {
			dropped++
		}
	}
	s.byID[k] = at
	s.exp.Push(Entry{Key: k, At: at})
	s.changes++
	return !present
}

// maxDropsPerAdd bounds the entries one addition drops while an
// EvictFirst set is over its bound.
const maxDropsPerAdd = 16

// evictFirst drops the entry that expires first, reporting whether it
// was live (the heap also holds the older times of extended entries).
// s.mu is held; s.exp is not empty.
func (s *Set) evictFirst() bool {
	it := s.exp.Pop()
	if cur, ok := s.byID[it.Key]; ok && cur == it.At {
		delete(s.byID, it.Key)
		s.evicted++
		return true
	}
	return false
}

// purge drops the entries past their time. An extended key leaves its
// older heap entry behind; it is skipped here by comparing times.
func (s *Set) purge(now int64) {
	for len(s.exp) > 0 && now >= s.exp[0].At {
		it := s.exp.Pop()
		if at, ok := s.byID[it.Key]; ok && at == it.At {
			delete(s.byID, it.Key)
		}
	}
}

// SetMax changes the bound (max must be > 0). A lower bound drops nothing
// at once: an EvictFirst set shrinks to it as entries expire and as each
// new key drops a few of those expiring first, so a reload that lowers it
// and then fails (its config never runs) costs the running config only
// what new keys push out while it holds the set; a Refuse set refuses new
// keys until it is under the bound.
func (s *Set) SetMax(max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = max
}

// Len is the number of entries held (some may have expired since the last
// addition).
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Evicted is how many live entries the bound has pushed out so far
// (always zero in a Refuse set).
func (s *Set) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// Changes returns how many entries have been added or extended since the
// set was made: a saver compares it with the count it last saved.
func (s *Set) Changes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes
}

// mergeChunk bounds how many saved entries are merged under one hold of
// the set's lock, so a large snapshot does not hold up the requests that
// use the set while it is read in.
const mergeChunk = 1024

// AppendSnapshot appends to b the entries live at now, and returns what
// they reflect. The lock is held only to copy the heap into a slice
// allocated beforehand: the requests using the set wait for a copy, not
// for an allocation or the encoding.
func (s *Set) AppendSnapshot(b []byte, now time.Time) ([]byte, Mark) {
	t := now.UnixNano()
	s.mu.Lock()
	n := len(s.exp)
	s.mu.Unlock()
	for {
		entries := make([]Entry, 0, n+n/8+64)
		s.mu.Lock()
		s.purge(t)
		if len(s.exp) <= cap(entries) {
			entries = append(entries, s.exp...)
			mark := Mark{Changes: s.changes, Evicted: s.evicted}
			s.mu.Unlock()
			return AppendSnapshot(b, s.magic, entries, t), mark
		}
		n = len(s.exp)
		s.mu.Unlock()
	}
}

// Merge adds the entries of a snapshot still live at now, as Add would,
// except that a Refuse set takes them all even over its bound (refusing
// one would reopen it; new keys are refused until the set is under its
// bound again). It returns how many it added or extended and when the
// last of the snapshot's entries expires (zero when none was live). A
// snapshot of another magic, or not a whole number of entries, is refused
// (ErrNotSnapshot) before anything is added.
func (s *Set) Merge(b []byte, now time.Time) (added int, until time.Time, err error) {
	snap, err := OpenSnapshot(b, s.magic)
	if err != nil {
		return 0, time.Time{}, err
	}
	t := now.UnixNano()
	var last int64
	for i := 0; i < snap.Len(); {
		end := min(i+mergeChunk, snap.Len())
		s.mu.Lock()
		s.purge(t)
		before := s.changes
		for ; i < end; i++ {
			if e := snap.Entry(i); e.At > t {
				s.add(e.Key, e.At)
				last = max(last, e.At)
			}
		}
		added += int(s.changes - before)
		s.mu.Unlock()
	}
	if last > 0 {
		until = time.Unix(0, last)
	}
	return added, until, nil
}
