package passkeys

import (
	"context"
	"errors"
	"sync/atomic"
)

// CurrentStore is a Store that forwards to the one last Set: the relying
// party outlives reloads, and each config brings its own storage (Caddy's
// certmagic.Storage has the methods Store needs). Before the first Set
// every call fails.
type CurrentStore struct {
	p atomic.Pointer[Store]
}

// Set makes st the store calls go to.
func (s *CurrentStore) Set(st Store) { s.p.Store(&st) }

// Current is the store calls go to.
func (s *CurrentStore) Current() (Store, error) {
	p := s.p.Load()
	if p == nil {
		return nil, errors.New("login_guard: no storage yet")
	}
	return *p, nil
}

func (s *CurrentStore) Load(ctx context.Context, key string) ([]byte, error) {
	st, err := s.Current()
	if err != nil {
		return nil, err
	}
	return st.Load(ctx, key)
}

func (s *CurrentStore) Store(ctx context.Context, key string, value []byte) error {
	st, err := s.Current()
	if err != nil {
		return err
	}
	return st.Store(ctx, key, value)
}

func (s *CurrentStore) Lock(ctx context.Context, name string) error {
	st, err := s.Current()
	if err != nil {
		return err
	}
	return st.Lock(ctx, name)
}

func (s *CurrentStore) Unlock(ctx context.Context, name string) error {
	st, err := s.Current()
	if err != nil {
		return err
	}
	return st.Unlock(ctx, name)
}
