package passkeys

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
)

// memStore is an in-memory Store with certmagic's semantics: Load of a
// missing key returns fs.ErrNotExist, Lock blocks until free or ctx ends.
type memStore struct {
	mu     sync.Mutex
	data   map[string][]byte
	locks  map[string]chan struct{}
	writes int
}

func newMemStore() *memStore {
	return &memStore{data: map[string][]byte{}, locks: map[string]chan struct{}{}}
}

func (m *memStore) Load(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return append([]byte(nil), b...), nil
}

func (m *memStore) Store(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = append([]byte(nil), value...)
	m.writes++
	return nil
}

func (m *memStore) Lock(ctx context.Context, name string) error {
	for {
		m.mu.Lock()
		ch, held := m.locks[name]
		if !held {
			m.locks[name] = make(chan struct{})
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (m *memStore) Unlock(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch, held := m.locks[name]
	if !held {
		return fmt.Errorf("unlock of %s: not locked", name)
	}
	delete(m.locks, name)
	close(ch)
	return nil
}

func (m *memStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.data {
		out = append(out, k)
	}
	return out
}

func (m *memStore) heldLocks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.locks)
}
