// Package enginetest holds test helpers shared by the engine packages: a
// fake clock and a goroutine-leak check. It is imported only by tests.
package enginetest

import (
	"runtime"
	"testing"
	"time"

	"github.com/login-guard/login_guard/internal/testkit/clock"
)

// Clock is the shared fake clock (internal/testkit/clock).
type Clock = clock.Fake

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return clock.New(t) }

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
