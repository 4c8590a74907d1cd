package stepup

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/login-guard/login_guard/internal/expiry"
)

// Bounds on the failed factors a state allows.
const (
	DefaultMaxFailures = 3
	MaxMaxFailures     = 10
	// DefaultFailureSetSize bounds the states with failures remembered
	// (about 75 bytes each).
	DefaultFailureSetSize = 1_000_000
)

// FailureSet counts refused factors per step-up state until the state
// expires. It is bounded and exact but for hash collisions (a handle is
// kept as a 64-bit hash under the set's own seed, as in UsedSet); when
// full it reports every new state as exhausted (fail closed: guesses must
// never become unlimited). What expired is forgotten in O(log n) an
// entry, so a full set costs a refused factor no scan. Share one instance
// across config reloads, like the UsedSet.
type FailureSet struct {
	mu   sync.Mutex
	max  int
	seed maphash.Seed
	m    map[uint64]failureEntry
	// exp orders the entries by expiry. A state forgotten (spent) or
	// counted again leaves its older heap entry behind, skipped when it
	// comes out; when the heap holds twice what the map does it is built
	// again from the map.
	exp expiry.Heap
}

type failureEntry struct {
	n       int
	expires int64 // Unix nanoseconds
}

// NewFailureSet makes a set for at most max states (default
// DefaultFailureSetSize when max <= 0).
func NewFailureSet(max int) *FailureSet {
	if max <= 0 {
		max = DefaultFailureSetSize
	}
	return &FailureSet{max: max, seed: maphash.MakeSeed(), m: map[uint64]failureEntry{}}
}

// Add counts one failure for handle, remembered until expires, and
// returns the count so far; full is true when there was no room.
func (s *FailureSet) Add(handle string, expires, now time.Time) (n int, full bool) {
	k := maphash.String(s.seed, handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now.UnixNano())
	e, ok := s.m[k]
	if !ok && len(s.m) >= s.max {
		return 0, true
	}
	e.n++
	e.expires = expires.UnixNano()
	s.m[k] = e
	s.exp.Push(expiry.Entry{Key: k, At: e.expires})
	if len(s.exp) > 2*len(s.m)+1024 {
		s.rebuild()
	}
	return e.n, false
}

// ErrFailureSetFull is Count's answer for a state the set holds no count
// for while it is full: a refused factor could not be counted, so the
// state is not to be tried.
var ErrFailureSetFull = errors.New("stepup: refused-factor set full")

// Count returns handle's count, zero once it expired, or
// ErrFailureSetFull when the set holds none for it and has no room.
func (s *FailureSet) Count(handle string, now time.Time) (int, error) {
	k := maphash.String(s.seed, handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now.UnixNano())
	if e, ok := s.m[k]; ok {
		return e.n, nil
	}
	if len(s.m) >= s.max {
		return 0, ErrFailureSetFull
	}
	return 0, nil
}

// Forget drops handle's count (the state was spent).
func (s *FailureSet) Forget(handle string) {
	k := maphash.String(s.seed, handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// Len is the number of states with failures held.
func (s *FailureSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Destruct empties the set; it lets a caddy.UsagePool release it.
func (s *FailureSet) Destruct() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[uint64]failureEntry{}
	s.exp = nil
	return nil
}

// purge drops the states expired at now. A heap entry whose time is not
// its state's (forgotten, or counted again since) is skipped.
func (s *FailureSet) purge(now int64) {
	for len(s.exp) > 0 && now >= s.exp[0].At {
		it := s.exp.Pop()
		if e, ok := s.m[it.Key]; ok && e.expires == it.At {
			delete(s.m, it.Key)
		}
	}
}

// rebuild makes the heap the map's entries again, dropping those left
// behind.
func (s *FailureSet) rebuild() {
	h := s.exp[:0]
	for k, e := range s.m {
		h = append(h, expiry.Entry{Key: k, At: e.expires})
	}
	h.Init()
	s.exp = h
}

// FailFactor records that a factor was refused for st. Once the state
// has seen MaxFailures refusals it is spent, so nothing more can be tried
// with it, and FailFactor returns a refusal with ReasonFactorsExhausted;
// before that it returns nil. The count is forgotten only once the state
// is recorded as spent: when the spent set cannot record it (full, or
// down), the count stays and refuses the state instead (see open).
func (is *Issuer) FailFactor(st State) error {
	now := is.cfg.Now()
	n, full := is.cfg.Failures.Add(st.Handle, now.Add(MaxStateTTL+time.Second), now)
	if !full && n < is.cfg.MaxFailures {
		return nil
	}
	if err := is.spend(PurposeState, st.Handle, MaxStateTTL); err != nil && ReasonOf(err) != ReasonReplayed {
		return err
	}
	is.cfg.Failures.Forget(st.Handle)
	return refused(ReasonFactorsExhausted)
}

// exhausted refuses handle's state when it has seen its maximum of
// refused factors (ReasonFactorsExhausted), or when its count cannot be
// read or kept (the shared counter could not be asked:
// ReasonStoreUnavailable; it is full: ReasonReplayFull; both the
// "unavailable" answer), so that guesses are never unlimited.
func (is *Issuer) exhausted(handle string, now time.Time) error {
	n, err := is.cfg.Failures.Count(handle, now)
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		return refused(ReasonStoreUnavailable)
	case err != nil:
		return refused(ReasonReplayFull)
	case n >= is.cfg.MaxFailures:
		return refused(ReasonFactorsExhausted)
	}
	return nil
}
