// Package newest keeps, for an object several Caddy configs share (a
// pooled value that survives reloads), the value each config gave it, and
// says which is the newest config's. Caddy loads the next config while
// the one before still runs, and a config can let go after it took its
// share without ever running (a reload refused after the guard's app had
// started); when one lets go, the object is to serve the newest config
// still holding it, not keep the storage, keys, settings or logger of a
// config that is gone.
package newest

import (
	"slices"
	"sync"
)

// Values is the value each holder gave, in the order they took hold. The
// zero value is ready; it is safe for concurrent use.
type Values[T any] struct {
	mu   sync.Mutex
	held []held[T]
}

type held[T any] struct {
	owner any
	v     T
}

// Hold records owner's value as the newest (an owner holding already
// moves to the end with its new value) and applies it. apply runs under
// the same lock as every Hold and Let, so what was applied last is always
// the newest value, whatever order holders come and go in.
func (s *Values[T]) Hold(owner any, v T, apply func(T)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(owner)
	s.held = append(s.held, held[T]{owner, v})
	apply(v)
}

// Let drops owner's value and applies the newest value still held, if
// any; it returns that value and whether there is one.
func (s *Values[T]) Let(owner any, apply func(T)) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(owner)
	if len(s.held) == 0 {
		var zero T
		return zero, false
	}
	v := s.held[len(s.held)-1].v
	apply(v)
	return v, true
}

func (s *Values[T]) dropLocked(owner any) {
	for i, h := range s.held {
		if h.owner == owner {
			// Delete zeroes the vacated slot: nothing of a config
			// that let go stays reachable from here.
			s.held = slices.Delete(s.held, i, i+1)
			return
		}
	}
}
