package stepup

import (
	"sync"
	"time"
)

// Bounds on the failed factors a state allows.
const (
	DefaultMaxFailures = 3
	MaxMaxFailures     = 10
	// DefaultFailureSetSize bounds the states with failures remembered.
	DefaultFailureSetSize = 100_000
)

// FailureSet counts refused factors per step-up state until the state
// expires. It is exact and bounded; when full it reports every new state
// as exhausted (fail closed: guesses must never become unlimited). Share
// one instance across config reloads, like the UsedSet.
type FailureSet struct {
	mu  sync.Mutex
	max int
	m   map[string]failureEntry
}

type failureEntry struct {
	n       int
	expires time.Time
}

// NewFailureSet makes a set for at most max states (default
// DefaultFailureSetSize when max <= 0).
func NewFailureSet(max int) *FailureSet {
	if max <= 0 {
		max = DefaultFailureSetSize
	}
	return &FailureSet{max: max, m: map[string]failureEntry{}}
}

// Add counts one failure for handle, remembered until expires, and
// returns the count so far; full is true when there was no room.
func (s *FailureSet) Add(handle string, expires, now time.Time) (n int, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[handle]
	if ok && !now.Before(e.expires) {
		ok, e = false, failureEntry{}
	}
	if !ok && len(s.m) >= s.max {
		for h, old := range s.m {
			if !now.Before(old.expires) {
				delete(s.m, h)
			}
		}
		if len(s.m) >= s.max {
			return 0, true
		}
	}
	e.n++
	e.expires = expires
	s.m[handle] = e
	return e.n, false
}

// Forget drops handle's count (the state was spent).
func (s *FailureSet) Forget(handle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, handle)
}

// Destruct empties the set; it lets a caddy.UsagePool release it.
func (s *FailureSet) Destruct() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]failureEntry{}
	return nil
}

// FailFactor records that a factor was refused for st. Once the state
// has seen MaxFailures refusals it is spent, so nothing more can be tried
// with it, and FailFactor returns a refusal with ReasonFactorsExhausted;
// before that it returns nil.
func (is *Issuer) FailFactor(st State) error {
	now := is.cfg.Now()
	n, full := is.cfg.Failures.Add(st.Handle, now.Add(MaxStateTTL+time.Second), now)
	if !full && n < is.cfg.MaxFailures {
		return nil
	}
	is.cfg.Failures.Forget(st.Handle)
	if err := is.spend(PurposeState, st.Handle, MaxStateTTL); err != nil && ReasonOf(err) != ReasonReplayed {
		return err
	}
	return refused(ReasonFactorsExhausted)
}
