package stepup

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// ErrUsedSetFull is returned when the used-token set holds its maximum of
// unexpired entries. Forgetting one early would let that token be replayed,
// so the set refuses instead (fail closed).
var ErrUsedSetFull = errors.New("stepup: used-token set full")

// UsedSet remembers which one-use tokens were spent until they expire. It is
// exact (no probabilistic cache: a forgotten id is a replay) and bounded.
// Share one instance across config reloads (a caddy.UsagePool) so a reload
// does not reopen spent tokens.
type UsedSet struct {
	mu   sync.Mutex
	max  int
	byID map[string]time.Time
	exp  expiryHeap
}

// DefaultUsedSetSize bounds the set when the caller does not.
const DefaultUsedSetSize = 100_000

// NewUsedSet makes a set holding at most max unexpired ids (default
// DefaultUsedSetSize when max <= 0).
func NewUsedSet(max int) *UsedSet {
	if max <= 0 {
		max = DefaultUsedSetSize
	}
	return &UsedSet{max: max, byID: map[string]time.Time{}}
}

// Mark records id as spent until expires. It returns false when id was
// already spent (a replay), and ErrUsedSetFull when there is no room.
func (s *UsedSet) Mark(id string, expires, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now)
	if _, ok := s.byID[id]; ok {
		return false, nil
	}
	if len(s.byID) >= s.max {
		return false, ErrUsedSetFull
	}
	s.byID[id] = expires
	heap.Push(&s.exp, expiryItem{id: id, at: expires})
	return true, nil
}

// Seen reports whether id is spent and not yet expired.
func (s *UsedSet) Seen(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.byID[id]
	return ok && now.Before(at)
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
	s.byID = map[string]time.Time{}
	s.exp = nil
	return nil
}

func (s *UsedSet) purge(now time.Time) {
	for len(s.exp) > 0 && !now.Before(s.exp[0].at) {
		it := heap.Pop(&s.exp).(expiryItem)
		delete(s.byID, it.id)
	}
}

type expiryItem struct {
	id string
	at time.Time
}

// expiryHeap orders ids by expiry so purging costs O(log n) per expired id
// even when tokens of different lifetimes share the set.
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
