// Package enginetest holds test helpers shared by the engine packages: a
// fake clock and a goroutine-leak check. It is imported only by tests.
package enginetest

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// Clock is a fake clock that moves only when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// settleLimit bounds how long CheckGoroutines waits for goroutines that
// are exiting to be gone. It is a limit for a poll, not a timing
// assertion: a healthy run settles in microseconds.
const settleLimit = 10 * time.Second

// CheckGoroutines fails t when the number of goroutines does not come back
// down to baseline (taken with runtime.NumGoroutine before the code under
// test started any). Goroutines that already returned may take a moment to
// be reaped, so it polls; on failure it prints every goroutine's stack.
func CheckGoroutines(t testing.TB, baseline int) {
	t.Helper()
	limit := time.Now().Add(settleLimit)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(limit) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines leaked: %d running, baseline %d\n%s",
				runtime.NumGoroutine(), baseline, buf[:n])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
