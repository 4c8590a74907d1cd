package counter

import (
	"context"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

type fakeClock = clock.Fake

func newFakeClock() *fakeClock { return clock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) }

func newStore(t testing.TB, maxKeys int, c *fakeClock) *Memory {
	t.Helper()
	m, err := NewMemory(MemoryConfig{MaxKeys: maxKeys, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var bg = context.Background()
