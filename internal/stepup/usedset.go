package stepup

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
)

// ErrUsedSetFull is returned when the used-token set holds its maximum of
// unexpired entries. Forgetting one early would let that token be replayed,
// so the set refuses instead (fail closed).
var ErrUsedSetFull = errors.New("stepup: used-token set full")

// UsedSet remembers which one-use tokens were spent until they expire. It
// is bounded and exact but for hash collisions: an id is kept as a 64-bit
// hash under a seed of the set's own (about 55 bytes an entry, no string,
// nothing for the collector to trace), so two ids that hash alike would
// make a fresh token read as spent (odds of about n/2^64 per token with n
// entries; ids are random handles sealed in tokens, so nobody picks
// them). Share one instance across config reloads (a caddy.UsagePool) so
// a reload does not reopen spent tokens.
type UsedSet struct {
	mu   sync.Mutex
	max  int
	seed maphash.Seed
	byID map[uint64]int64 // id's hash -> expiry, Unix nanoseconds
	exp  expiry.Heap
}

// DefaultUsedSetSize bounds the set when the caller does not: a botnet
// would have to spend over a thousand step-up states a second for the
// fifteen minutes an entry lasts to fill it (each a challenged login and
// its refused factors), and a full set costs about 55 MB.
const DefaultUsedSetSize = 1_000_000

// NewUsedSet makes a set holding at most max unexpired ids (default
// DefaultUsedSetSize when max <= 0).
func NewUsedSet(max int) *UsedSet {
	if max <= 0 {
		max = DefaultUsedSetSize
	}
	return &UsedSet{max: max, seed: maphash.MakeSeed(), byID: map[uint64]int64{}}
}

// Mark records id as spent until expires. It returns false when id was
// already spent (a replay), and ErrUsedSetFull when there is no room.
func (s *UsedSet) Mark(id string, expires, now time.Time) (bool, error) {
	k := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now.UnixNano())
	if _, ok := s.byID[k]; ok {
		return false, nil
	}
	if len(s.byID) >= s.max {
		return false, ErrUsedSetFull
	}
	at := expires.UnixNano()
	s.byID[k] = at
	s.exp.Push(expiry.Entry{Key: k, At: at})
	return true, nil
}

// Seen reports whether id is spent and not yet expired.
func (s *UsedSet) Seen(id string, now time.Time) bool {
	k := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.byID[k]
	return ok && now.UnixNano() < at
}

// Len is the number of ids held, for metrics.
func (s *UsedSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Destruct empties the set; it lets a caddy.UsagePool release it.
func (s *UsedSet) Destruct() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID = map[uint64]int64{}
	s.exp = nil
	return nil
}

// purge drops the ids expired at now. An id is marked once and never
// renewed, so every heap entry is its map entry's.
func (s *UsedSet) purge(now int64) {
	for len(s.exp) > 0 && now >= s.exp[0].At {
		delete(s.byID, s.exp.Pop().Key)
	}
}
