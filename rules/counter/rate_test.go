package counter

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTakeSlidingWindow(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	k := Key{Rule: "r", Subject: "ip=192.0.2.1/32"}
	// steps: advance, then expect allowed/refused with count and retry.
	steps := []struct {
		advance time.Duration
		allowed bool
		count   int
		retry   time.Duration
	}{
		{0, true, 1, 0},                           // t=0
		{10 * time.Second, true, 2, 0},            // t=10
		{10 * time.Second, true, 3, 0},            // t=20
		{0, false, 3, 40 * time.Second},           // 4th inside the window: refused
		{39 * time.Second, false, 3, time.Second}, // t=59: hit at 0 still inside
		{time.Second, true, 3, 0},                 // t=60: hit at 0 left exactly now
		{0, false, 3, 10 * time.Second},           // oldest is t=10
		{30 * time.Second, true, 2, 0},            // t=90: 10 and 20 left, 60 remains
	}
	for i, s := range steps {
		c.Advance(s.advance)
		r, err := m.Take(bg, k, 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed != s.allowed || r.Count != s.count || r.RetryAfter != s.retry || r.Full {
			t.Fatalf("step %d: got %+v, want allowed=%v count=%d retry=%v", i, r, s.allowed, s.count, s.retry)
		}
	}
}

func TestTakeKeysAreIndependent(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 100, c)
	a := Key{Rule: "r1", Subject: "x"}
	b := Key{Rule: "r2", Subject: "x"} // same subject, other rule
	for i := 0; i < 2; i++ {
		if r, _ := m.Take(bg, a, 2, time.Minute); !r.Allowed {
			t.Fatalf("a hit %d refused", i)
		}
	}
	if r, _ := m.Take(bg, a, 2, time.Minute); r.Allowed {
		t.Fatal("a: third hit allowed")
	}
	if r, _ := m.Take(bg, b, 2, time.Minute); !r.Allowed {
		t.Fatal("b shares a's counter")
	}
}

func TestTakeRejectsBadLimits(t *testing.T) {
	m := newStore(t, 10, newFakeClock())
	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {1, 0}, {-1, time.Second}} {
		if _, err := m.Take(bg, Key{Rule: "r"}, tc.limit, tc.window); err == nil {
			t.Errorf("limit %d window %v: no error", tc.limit, tc.window)
		}
	}
}

// TestTakeExactUnderConcurrency: M goroutines race for one key with limit
// N; exactly N win, whatever the schedule.
func TestTakeExactUnderConcurrency(t *testing.T) {
	const n, workers, each = 37, 64, 20
	m := newStore(t, 1000, newFakeClock())
	k := Key{Rule: "r", Subject: "hot"}
	var allowed atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				if r, _ := m.Take(bg, k, n, time.Hour); r.Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != n {
		t.Fatalf("allowed %d of %d, want exactly %d", got, workers*each, n)
	}
}

func TestClockSteppingBackKeepsOrder(t *testing.T) {
	c := newFakeClock()
	m := newStore(t, 10, c)
	k := Key{Rule: "r", Subject: "s"}
	m.Take(bg, k, 2, time.Minute)
	c.Advance(-30 * time.Second) // wall clock adjusted backwards
	if r, _ := m.Take(bg, k, 2, time.Minute); !r.Allowed {
		t.Fatal("second hit refused")
	}
	if r, _ := m.Take(bg, k, 2, time.Minute); r.Allowed {
		t.Fatal("third hit allowed after the clock stepped back")
	}
	c.Advance(90 * time.Second) // one minute after the first hit
	if r, _ := m.Take(bg, k, 2, time.Minute); !r.Allowed {
		t.Fatal("window did not slide after the clock recovered")
	}
}

// TestRealClock: the default clock (read through the monotonic clock
// alone) gives hits within the window and a RetryAfter no longer than it.
func TestRealClock(t *testing.T) {
	m, err := NewMemory(MemoryConfig{MaxKeys: 10})
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Rule: "login/rate_ip", Subject: "ip=203.0.113.7/32"}
	for i := 1; i <= 2; i++ {
		if r, _ := m.Take(bg, k, 2, time.Hour); !r.Allowed || r.Count != i {
			t.Fatalf("hit %d: %+v", i, r)
		}
	}
	r, _ := m.Take(bg, k, 2, time.Hour)
	if r.Allowed || r.RetryAfter <= time.Hour-time.Minute || r.RetryAfter > time.Hour {
		t.Fatalf("third hit: %+v", r)
	}
	time.Sleep(2 * time.Millisecond)
	r, _ = m.Take(bg, k, 2, time.Millisecond)
	if !r.Allowed || r.Count != 1 {
		t.Fatalf("with a window of 1ms, 2ms later: %+v", r)
	}
}
