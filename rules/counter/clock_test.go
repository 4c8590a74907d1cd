package counter

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock; safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t testing.TB, maxKeys int, c *fakeClock) *Memory {
	t.Helper()
	m, err := NewMemory(MemoryConfig{MaxKeys: maxKeys, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var bg = context.Background()
